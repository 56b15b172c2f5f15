"""kill -9 `vtai serve` mid-answer: after a restart the user's message and the partial answer are stored."""

import json
import signal
import subprocess

import httpx
import pytest

from tests.e2e.conftest import VTAI, vtai_env
from vtai.testing import Text

pytestmark = pytest.mark.slow


def test_kill_9_mid_stream_keeps_message_and_partial_answer(start_vtai, fake_server, vtai_home):
    words = " ".join(f"word{i}" for i in range(200))
    fake_server.enqueue(Text(words, delay_s=0.05))
    env = {"OPENAI_API_KEY": "sk-test-crash-0001", "OPENAI_BASE_URL": fake_server.base_url}
    server = start_vtai(env=env)
    body = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "Count slowly"}]}
    seen = ""
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body, headers={"x-vtai-store": "1"},
                      timeout=30) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            if line.startswith("data: {"):
                delta = json.loads(line[6:])["choices"]
                seen += (delta[0]["delta"].get("content") or "") if delta else ""
            if seen.count("word") >= 40:
                break
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()

    env_all = vtai_env(vtai_home)
    out = subprocess.run([*VTAI, "threads", "list", "--json"], capture_output=True, text=True, env=env_all,
                         check=True).stdout
    listed = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert len(listed) == 1
    exported = json.loads(subprocess.run([*VTAI, "threads", "export", listed[0]["id"], "--format", "json"],
                                         capture_output=True, text=True, env=env_all, check=True).stdout)
    messages = exported["threads"][0]["messages"]
    assert messages[0]["role"] == "user" and messages[0]["content"] == "Count slowly"
    answer = messages[1]
    assert answer["role"] == "assistant" and answer["status"] == "interrupted"
    assert answer["content"].startswith("word0 word1") and len(answer["content"]) < len(words)

    restarted = start_vtai(env=env)  # the database opens cleanly after the crash
    assert httpx.get(f"{restarted.url}/api/health").json()["status"] == "ok"


def test_sigterm_interrupts_streams_cleanly_and_stores_them(start_vtai, fake_server, vtai_home):
    import time

    words = " ".join(f"word{i}" for i in range(400))
    fake_server.enqueue(Text(words, delay_s=0.05))
    env = {"OPENAI_API_KEY": "sk-test-term-0001", "OPENAI_BASE_URL": fake_server.base_url}
    server = start_vtai(env=env)
    body = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "Count on"}]}
    lines = []
    with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body, headers={"x-vtai-store": "1"},
                      timeout=30) as response:
        for line in response.iter_lines():
            lines.append(line)
            if sum(line.count("word") for line in lines) >= 20 and not any("SENT" in x for x in lines):
                lines.append("SENT")
                started = time.monotonic()
                server.proc.send_signal(signal.SIGTERM)
    assert [x for x in lines if x][-1] == "data: [DONE]"  # the stream was closed properly, not cut
    server.proc.wait(timeout=30)
    assert time.monotonic() - started < 15
    assert server.proc.returncode == 0, server.output()

    env_all = vtai_env(vtai_home)
    out = subprocess.run([*VTAI, "threads", "list", "--json"], capture_output=True, text=True, env=env_all,
                         check=True).stdout
    thread = json.loads(out.splitlines()[0])
    exported = json.loads(subprocess.run([*VTAI, "threads", "export", thread["id"]], capture_output=True, text=True,
                                         env=env_all, check=True).stdout)
    answer = exported["threads"][0]["messages"][1]
    assert answer["status"] == "interrupted"
    assert answer["content"].startswith("word0") and len(answer["content"]) < len(words)
