"""The fake server itself: lifecycle, recording, scripting, process mode."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from vtai.testing import FakeOpenAIServer, Fault, Text, ToolCalls, ToolCallSpec, flaky, reply_from_dict


def _chat(client: httpx.Client, model: str = "m", text: str = "hi") -> httpx.Response:
    return client.post("/chat/completions", json={"model": model, "messages": [{"role": "user", "content": text}]})


def _content(response: httpx.Response) -> str:
    return response.json()["choices"][0]["message"]["content"]


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _fake_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("fake-openai-")]


def test_start_stop_leaves_no_thread_socket_or_listener():
    fds_before = _open_fds()
    server = FakeOpenAIServer().start()
    assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
    assert server.url == f"http://127.0.0.1:{server.port}"
    with httpx.Client(base_url=server.base_url) as client:
        assert _content(_chat(client, text="ping")) == "Echo: ping"
    server.stop()
    assert _fake_threads() == []
    assert _open_fds() == fds_before
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
    server.stop()  # idempotent


def test_stop_is_prompt_while_requests_hang_and_stall():
    server = FakeOpenAIServer().start()
    server.enqueue(Fault("hang_before_first_byte"))  # forever, until stopped
    server.enqueue(Fault("stall_mid_stream", after_tokens=1))
    errors: list[BaseException] = []

    def call(stream: bool) -> None:
        body = {"model": "m", "stream": stream, "messages": [{"role": "user", "content": "a b c"}]}
        try:
            with httpx.Client(timeout=30) as client:
                with client.stream("POST", f"{server.base_url}/chat/completions", json=body) as r:
                    r.read()
        except httpx.HTTPError as exc:
            errors.append(exc)

    callers = [threading.Thread(target=call, args=(s,)) for s in (False, True)]
    for t in callers:
        t.start()
    while len(server.requests) < 2:
        time.sleep(0.01)
    time.sleep(0.1)
    started = time.monotonic()
    server.stop()
    for t in callers:
        t.join(5)
    assert time.monotonic() - started < 3
    assert len(errors) == 2  # both clients saw their connection end, neither got a complete answer
    assert _fake_threads() == []


def test_records_path_method_headers_and_json(server):
    with httpx.Client(base_url=server.base_url, headers={"Authorization": "Bearer sk-test"}) as client:
        _chat(client, model="gpt-x", text="hello")
    [req] = server.requests
    assert (req.method, req.path, req.endpoint, req.model) == ("POST", "/v1/chat/completions", "chat", "gpt-x")
    assert req.headers["authorization"] == "Bearer sk-test"
    assert req.json["messages"] == [{"role": "user", "content": "hello"}]
    assert req.last_user_text == "hello"
    server.reset()
    assert server.requests == []


def test_queue_is_fifo_and_default_answers_when_empty(server):
    server.enqueue(Text("first"))
    server.enqueue(Text("second"))
    with httpx.Client(base_url=server.base_url) as client:
        assert [_content(_chat(client, text="x")) for _ in range(3)] == ["first", "second", "Echo: x"]


def test_queue_per_model_and_per_endpoint(server):
    server.enqueue(Text("for b"), model="b")
    server.enqueue(Fault("status", status=503), endpoint="embeddings")
    with httpx.Client(base_url=server.base_url) as client:
        assert _content(_chat(client, model="a", text="x")) == "Echo: x"  # neither queued reply matches
        assert _content(_chat(client, model="b")) == "for b"
        assert client.post("/embeddings", json={"model": "e", "input": "x"}).status_code == 503


def test_status_fault_has_openai_error_body_and_retry_after(server):
    server.enqueue(Fault("status", status=429, retry_after=2))
    with httpx.Client(base_url=server.base_url) as client:
        r = _chat(client)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "2"
    assert r.headers["retry-after-ms"] == "2000"
    assert r.json()["error"]["type"] == "rate_limit_error"
    assert r.json()["error"]["code"] == "rate_limit_exceeded"


def test_behaviour_by_model_and_seeded_flaky_rate(server):
    server.set_behaviour("fixed", Text("always this"))
    server.set_behaviour("flaky", flaky(Fault("status", status=503), rate=0.1, seed=7))
    with httpx.Client(base_url=server.base_url) as client:
        assert _content(_chat(client, model="fixed")) == "always this"
        assert _content(_chat(client, model="fixed")) == "always this"
        codes = [_chat(client, model="flaky").status_code for _ in range(200)]
        assert _chat(client, model="other").status_code == 200
    failures = codes.count(503)
    assert 8 <= failures <= 35 and codes.count(200) == 200 - failures
    # the same seed fails the same requests
    behave = flaky(Fault("status", status=503), rate=0.1, seed=7)
    assert [503 if behave(None) else 200 for _ in range(200)] == codes
    server.set_behaviour("fixed", None)
    with httpx.Client(base_url=server.base_url) as client:
        assert _content(_chat(client, model="fixed", text="y")) == "Echo: y"


def test_routes_answer_without_v1_prefix_and_unknown_paths_404(server):
    with httpx.Client(base_url=server.url) as client:
        assert _content(_chat(client, text="z")) == "Echo: z"
        r = client.post("/v1/nope", json={})
    assert r.status_code == 404 and "Unknown endpoint" in r.json()["error"]["message"]
    assert [q.endpoint for q in server.requests] == ["chat", None]


def test_missing_messages_is_a_400(server):
    with httpx.Client(base_url=server.base_url) as client:
        r = client.post("/chat/completions", json={"model": "m"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


def test_reply_from_dict_builds_every_type():
    assert reply_from_dict({"type": "text", "text": "a"}) == Text("a")
    assert reply_from_dict({"kind": "status", "status": 429}) == Fault("status", status=429)
    calls = reply_from_dict({"type": "tool_calls", "calls": [{"name": "f", "arguments": {"x": 1}}]})
    assert calls == ToolCalls([ToolCallSpec("f", {"x": 1})])
    behave = reply_from_dict({"type": "flaky", "rate": 1.0, "fault": {"kind": "status", "status": 500}})
    assert behave(None) == Fault("status", status=500)
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault("explode")


def test_enqueue_rejects_non_replies(server):
    with pytest.raises(TypeError):
        server.enqueue("hello")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown endpoint"):
        server.enqueue(Text("x"), endpoint="chats")


def test_runs_as_its_own_process_with_a_script(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"queue": [{"type": "text", "text": "scripted"}]}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "vtai.testing.fake_openai", "--port", "0", "--script", str(script)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("READY http://127.0.0.1:")
        base_url = line.split()[1]
        with httpx.Client(base_url=base_url, timeout=5) as client:
            assert _content(_chat(client)) == "scripted"
            client.post(base_url.removesuffix("/v1") + "/_fake/enqueue", json={"kind": "status", "status": 401})
            assert _chat(client).status_code == 401
            recorded = client.get(base_url.removesuffix("/v1") + "/_fake/requests").json()
        assert [r["endpoint"] for r in recorded] == ["chat", "chat"]
    finally:
        proc.terminate()
        assert proc.wait(5) == 0
        proc.stdout.close()


def test_finite_hang_then_answers_normally(server):
    server.enqueue(Fault("hang_before_first_byte", delay_s=0.2))
    started = time.monotonic()
    with httpx.Client(base_url=server.base_url) as client:
        assert _content(_chat(client, text="late")) == "Echo: late"
    assert time.monotonic() - started >= 0.2


def test_yaml_script_and_control_endpoint_behaviours(tmp_path):
    from vtai.testing.fake_openai import load_script

    script = tmp_path / "script.yaml"
    script.write_text(
        "queue:\n  - {type: text, text: from yaml, model: a}\nbehaviours:\n  down: {kind: status, status: 503}\n"
    )
    with FakeOpenAIServer() as server, httpx.Client(base_url=server.base_url) as client:
        load_script(server, script)
        assert _content(_chat(client, model="a")) == "from yaml"
        assert _chat(client, model="down").status_code == 503
        client.post(server.url + "/_fake/behaviour", json={"model": "down"})  # only the model: remove it
        client.post(server.url + "/_fake/behaviour", json={"model": "b", "type": "text", "text": "bee"})
        assert _chat(client, model="down").status_code == 200
        assert _content(_chat(client, model="b")) == "bee"
        client.post(server.url + "/_fake/reset")
        assert server.requests == []


def test_max_recorded_keeps_the_newest_requests():
    with FakeOpenAIServer(max_recorded=2) as server, httpx.Client(base_url=server.base_url) as client:
        for text in ("a", "b", "c"):
            _chat(client, text=text)
        assert [r.last_user_text for r in server.requests] == ["b", "c"]
