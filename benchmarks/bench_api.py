"""HTTP API benchmark: what VT.ai adds in front of an OpenAI-compatible provider.

    python benchmarks/bench_api.py [--requests 100] [--concurrency 200]

Three processes on loopback: the fake OpenAI-compatible provider (streams a fixed 21-token reply), `vtai api`
in front of it, and this client. Measured in one run:

* time to first token (TTFT), sequential: through VT.ai vs directly against the provider — p50/p99 added
  (goal ≤ 5 ms at p50, ≤ 15 ms at p99);
* ``--concurrency`` simultaneous streaming requests through VT.ai vs directly: all must succeed; p99 added
  latency (goal ≤ 50 ms);

each with routing off (a named model) and on (`vtai/auto`: the real MiniLM router embeds every message).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

MESSAGE = "hello there, how are you doing today? tell me something nice about the weather please friend"


def start(cmd: list[str], env: dict[str, str], ready: str, timeout: float = 120) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if ready in line:
            return proc, line
        if not line and proc.poll() is not None:
            raise SystemExit(f"{cmd} exited early")
    raise SystemExit(f"{cmd} not ready after {timeout} s")


def free_port() -> int:
    from vtai.llm.local import free_port as fp

    return fp()


async def one(client: httpx.AsyncClient, url: str, model: str) -> tuple[float, float]:
    """(time to first content token, total) in seconds for one streamed completion."""
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": MESSAGE}]}
    t0 = time.perf_counter()
    first = None
    async with client.stream("POST", url, json=body) as r:
        r.raise_for_status()
        async for line in r.aiter_lines():
            if line == "data: [DONE]":
                break
            if first is None and line.startswith("data: ") and _has_content(line):
                first = time.perf_counter() - t0
    total = time.perf_counter() - t0
    if first is None:
        raise RuntimeError("no content")
    return first, total


def _has_content(line: str) -> bool:
    choices = json.loads(line[6:]).get("choices") or [{}]
    return bool(choices[0].get("delta", {}).get("content"))


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q / 100 * (len(values) - 1))))]


async def sequential(url: str, model: str, n: int) -> list[float]:
    async with httpx.AsyncClient(timeout=60) as client:
        for _ in range(5):
            await one(client, url, model)  # warm up (LiteLLM import, connection pools, router)
        return [(await one(client, url, model))[0] for _ in range(n)]


async def concurrent(url: str, model: str, n: int) -> tuple[list[float], list[float], int]:
    """(TTFTs, totals, failures) of ``n`` simultaneous streams."""
    limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=n + 10)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        await one(client, url, model)
        results = await asyncio.gather(*[one(client, url, model) for _ in range(n)], return_exceptions=True)
    ok = [r for r in results if not isinstance(r, BaseException)]
    return [r[0] for r in ok], [r[1] for r in ok], n - len(ok)


def measure(url: str, model: str, args: argparse.Namespace, direct: dict | None = None) -> dict:
    ttft = asyncio.run(sequential(url, model, args.requests))
    conc_ttft, conc, failed = asyncio.run(concurrent(url, model, args.concurrency))
    row = {"model": model, "ttft_p50_ms": pct(ttft, 50) * 1e3, "ttft_p99_ms": pct(ttft, 99) * 1e3,
           "concurrent": args.concurrency, "concurrent_failed": failed,
           "concurrent_ttft_p50_ms": pct(conc_ttft, 50) * 1e3, "concurrent_ttft_p99_ms": pct(conc_ttft, 99) * 1e3,
           "concurrent_p50_ms": pct(conc, 50) * 1e3, "concurrent_p99_ms": pct(conc, 99) * 1e3}
    if direct is not None:
        for key in ("ttft_p50_ms", "ttft_p99_ms", "concurrent_ttft_p99_ms", "concurrent_p99_ms"):
            row[f"added_{key}"] = row[key] - direct[key]
    return row


def run_vtai(home: Path, provider: str, routing: bool) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "VTAI_HOME": str(home), "OPENAI_API_KEY": "sk-bench-000000", "OPENAI_BASE_URL": provider,
           "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1",
           "VTAI_DYNAMIC_ROUTING": "true" if routing else "false"}
    proc, _ = start([sys.executable, "-m", "vtai.cli", "api", "--port", str(port)], env, "VT.ai API on")
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    return proc, f"{url}/v1/chat/completions"


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def serve_fake_llm(port: int) -> None:
    """VT.ai's HTTP layer and engine over FakeLLM (no LiteLLM, no provider): its own cost."""
    import uvicorn

    from vtai.api import create_api_app
    from vtai.app import build_runtime
    from vtai.settings import load_settings
    from vtai.testing.fake_llm import FakeLLM

    runtime = build_runtime(load_settings(), with_router=False, llm=FakeLLM())
    print("VT.ai API on", flush=True)
    uvicorn.run(create_api_app(runtime), host="127.0.0.1", port=port, log_level="warning")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100, help="sequential requests per TTFT measurement")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--serve-fake-llm", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake_llm:
        return serve_fake_llm(args.serve_fake_llm)

    fake, line = start([sys.executable, "-m", "vtai.testing.fake_openai", "--port", "0"], dict(os.environ), "READY")
    provider = line.split()[-1]
    results: dict[str, dict] = {}
    try:
        results["direct"] = direct = measure(f"{provider}/chat/completions", "gpt-4o-mini", args)
        with tempfile.TemporaryDirectory() as tmp:
            for routing, model in ((False, "gpt-4o-mini"), (True, "vtai/auto")):
                proc, url = run_vtai(Path(tmp), provider, routing)
                try:
                    results["routing_on" if routing else "routing_off"] = measure(url, model, args, direct)
                finally:
                    stop(proc)
            port = free_port()
            env = {**os.environ, "VTAI_HOME": tmp, "HF_HUB_OFFLINE": "1"}
            proc, _ = start([sys.executable, __file__, "--serve-fake-llm", str(port)], env, "VT.ai API on")
            try:
                time.sleep(1.0)
                results["vtai_over_fake_llm"] = measure(f"http://127.0.0.1:{port}/v1/chat/completions", "local",
                                                        args, direct)
            finally:
                stop(proc)
    finally:
        stop(fake)
    for name, row in results.items():
        print(f"{name:19} " + "  ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                                        for k, v in row.items()))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
