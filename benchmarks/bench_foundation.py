"""Foundation benchmark: cold start to first token, and engine tokens/s vs llama.cpp called directly.

    python benchmarks/bench_foundation.py [--runs 3] [--tokens 128]

Prints figures and ratios measured in the same run (goal: engine/direct tokens-per-second ≥ 0.95).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
PROMPT = "Write a short story about a lighthouse keeper and a lost whale."


def cold_chat_first_token(home: Path) -> float:
    env = {**os.environ, "VTAI_HOME": str(home)}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "vtai.cli", "chat", "--no-route", PROMPT], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    proc.stdout.read(1)
    first = time.perf_counter() - start
    proc.kill()
    proc.wait()
    return first


def cold_serve_first_token(home: Path) -> float | None:
    from vtai.llm.local import free_port

    port = free_port()
    env = {**os.environ, "VTAI_HOME": str(home)}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "vtai.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        body = {"model": "local", "stream": True, "messages": [{"role": "user", "content": PROMPT}]}
        with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=120) as r:
            if r.status_code == 404:
                return None
            for line in r.iter_lines():
                if line.startswith("data:") and '"content"' in line and '"content":""' not in line.replace(" ", ""):
                    return time.perf_counter() - start
    finally:
        proc.terminate()
        proc.wait()
    return None


async def direct_tps(base_url: str, tokens: int) -> float:
    body = {"model": "smollm2-135m", "stream": True, "max_tokens": tokens, "temperature": 0, "seed": 1,
            "messages": [{"role": "user", "content": PROMPT}], "stream_options": {"include_usage": True}}
    count = 0
    async with httpx.AsyncClient(timeout=120) as client:
        start = time.perf_counter()
        async with client.stream("POST", f"{base_url}/chat/completions", json=body) as r:
            async for line in r.aiter_lines():
                if line.startswith("data:") and not line.endswith("[DONE]"):
                    chunk = json.loads(line[5:])
                    if chunk.get("choices") and chunk["choices"][0]["delta"].get("content"):
                        count += 1
        return count / (time.perf_counter() - start)


async def engine_tps(engine, tokens: int) -> float:
    """The whole engine path: engine.respond → chat handler → reliability layer → LiteLLM → llama.cpp."""
    from vtai.engine import ChatOptions
    from vtai.events import TextDelta
    from vtai.messages import Conversation, Message

    options = ChatOptions(model="local", dynamic_routing=False, max_tokens=tokens, temperature=0, system_prompt="",
                          extra={"seed": 1})
    count = 0
    start = time.perf_counter()
    async for event in engine.respond(Conversation(), Message.text("user", PROMPT), options):
        if isinstance(event, TextDelta):
            count += 1
    return count / (time.perf_counter() - start)


async def throughput(runs: int, tokens: int, home: Path) -> tuple[list[float], list[float]]:
    from vtai.app import build_runtime
    from vtai.settings import load_settings

    runtime = build_runtime(load_settings(home=home), with_router=False)
    try:
        await engine_tps(runtime.engine, 16)  # warm-up: LiteLLM import, model load
        direct, engine = [], []
        for _ in range(runs):
            direct.append(await direct_tps(runtime.llm.local.base_url, tokens))
            engine.append(await engine_tps(runtime.engine, tokens))
        return direct, engine
    finally:
        await runtime.aclose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=128)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        chat_first = cold_chat_first_token(home)
        print(f"cold `vtai chat` → first token: {chat_first:.2f} s")
        serve_first = cold_serve_first_token(home)
        if serve_first is not None:
            print(f"cold `vtai serve` → first streamed token over /v1/chat/completions: {serve_first:.2f} s")
        direct, engine = asyncio.run(throughput(args.runs, args.tokens, home))
    d, e = statistics.median(direct), statistics.median(engine)
    print(f"llama.cpp direct: {d:.1f} tokens/s (median of {args.runs})")
    print(f"through the engine (respond → handler → reliability → LiteLLM): {e:.1f} tokens/s")
    print(f"ratio engine/direct: {e / d:.3f} (goal ≥ 0.95)")


if __name__ == "__main__":
    main()
