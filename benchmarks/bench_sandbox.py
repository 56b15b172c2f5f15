"""Sandbox latency: cold start, warm run of ``print(1)``, and per-run overhead vs plain ``python -c``.

    /work/venv/bin/python benchmarks/bench_sandbox.py [--runs 50] [--json]

"Overhead" is what the sandbox adds to running ``print(1)``: a warm run talks to an already started worker,
so it is compared with the cost of starting ``python -c 'print(1)'`` — what a naive one-shot runner pays
every time. Goal: warm run overhead ≤ 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vtai.tools.sandbox import BwrapSandbox

GOAL_MS = 50.0


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median_ms": round(statistics.median(ordered) * 1000, 2),
            "p90_ms": round(ordered[int(0.9 * (len(ordered) - 1))] * 1000, 2)}


def plain_python(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "print(1)"], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


async def sandbox_runs(base: Path, runs: int, colds: int) -> tuple[list[float], list[float]]:
    cold, warm = [], []
    for i in range(colds):
        box = BwrapSandbox(base)
        start = time.perf_counter()
        result = await box.run("print(1)", f"cold{i}")
        cold.append(time.perf_counter() - start)
        assert result.stdout == "1\n", result.stderr
        if i == 0:
            for _ in range(runs):
                start = time.perf_counter()
                result = await box.run("print(1)", "cold0")
                warm.append(time.perf_counter() - start)
                assert result.stdout == "1\n"
        await box.close()
    return cold, warm


async def warm_with_files(base: Path, runs: int, files: int) -> list[float]:
    """Warm runs in a work folder holding ``files`` files (each run snapshots the folder twice)."""
    box = BwrapSandbox(base)
    await box.run(f"import os\nos.makedirs('many')\nfor i in range({files}):\n    open(f'many/{{i}}', 'w')", "full")
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        await box.run("print(1)", "full")
        times.append(time.perf_counter() - start)
    await box.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--cold", type=int, default=10)
    parser.add_argument("--files", type=int, default=1000, help="files in the work folder for the last case")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vtai-bench-") as tmp:
        cold, warm = asyncio.run(sandbox_runs(Path(tmp), args.runs, args.cold))
        full = asyncio.run(warm_with_files(Path(tmp), args.runs, args.files))
    plain = plain_python(args.runs)
    report = {
        "cold_start": _ms(cold),
        "warm_run": _ms(warm),
        "plain_python_c": _ms(plain),
        f"warm_run_{args.files}_files": _ms(full),
        "warm_overhead_ms": round(statistics.median(warm) * 1000, 2),
        "warm_vs_python_c_ratio": round(statistics.median(warm) / statistics.median(plain), 3),
        "cold_vs_python_c_ratio": round(statistics.median(cold) / statistics.median(plain), 3),
        "goal_warm_overhead_ms": GOAL_MS,
    }
    report["goal_met"] = report["warm_overhead_ms"] <= GOAL_MS
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for key in ("cold_start", "warm_run", "plain_python_c", f"warm_run_{args.files}_files"):
        print(f"{key:22} median {report[key]['median_ms']:8.2f} ms   p90 {report[key]['p90_ms']:8.2f} ms")
    print(f"warm run overhead {report['warm_overhead_ms']} ms (goal ≤ {GOAL_MS} ms: "
          f"{'met' if report['goal_met'] else 'NOT met'}); warm/python -c = {report['warm_vs_python_c_ratio']}, "
          f"cold/python -c = {report['cold_vs_python_c_ratio']}")


if __name__ == "__main__":
    main()
