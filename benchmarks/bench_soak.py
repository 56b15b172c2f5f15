"""Soak: many concurrent conversations through the engine + ReliableLLM + LiteLLM against the fake provider
(a separate process on loopback) with ~10 % injected faults, for a bounded time.

    python benchmarks/bench_soak.py [--concurrency 200] [--duration 60] [--fault-rate 0.1] [--no-store]
    python benchmarks/bench_soak.py --duration 300          # the 5-minute run

Every turn's answer must equal the provider's full answer (so a mid-stream fault that was continued by the
fallback model lost and repeated nothing); with the store on (default), every user message and a complete
answer must be in SQLite at the end. RSS and open fds are sampled every 2 s; RSS is "flat" when its maximum after
the warm-up (first 25 % of the run) is within 10 % of the value at the end of the warm-up; fds when the count
after the drain is within 10 of the start (while running it follows the number of open connections).
Exit status 0 only when all criteria hold. The fake provider runs in its own process so its memory, fds and CPU
are not counted as ours.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# Many distinct words: with a small vocabulary a continuation that legitimately repeats the last three words
# of the partial answer gets likely, and the splicer (by design) would cut it as an echo.
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec "
         "romeo sierra tango uniform victor whiskey xray yankee zulu amber basalt cobalt dune ember fjord glacier "
         "harbor island jungle kelp lagoon meadow nectar orchard prairie quartz ridge savanna tundra upland valley "
         "willow yarrow zephyr").split()


# ---- the fake provider process -------------------------------------------------------------------
def serve(rate: float, seed: int) -> None:
    """Run the fake provider with a mixed-fault behaviour on every model; print READY <url>."""
    import signal

    from vtai.llm.reliable.splice import CONTINUE_PROMPT
    from vtai.testing import FakeOpenAIServer, Fault, Text

    faults = [Fault("status", status=503), Fault("status", status=429, retry_after=0.05),
              Fault("status", status=529), Fault("status", status=500), Fault("status", status=502),
              Fault("cut_mid_stream", after_tokens=3), Fault("cut_mid_stream", after_tokens=2, rst=True),
              Fault("stall_mid_stream", after_tokens=3, delay_s=8), Fault("hang_before_first_byte", delay_s=12),
              Fault("malformed_sse", after_tokens=2), Fault("error_event_mid_stream", after_tokens=3),
              Fault("empty_completion"), Fault("malformed_json")]
    rng = random.Random(seed)

    def behave(request):
        messages = (request.json or {}).get("messages") or []
        text = None
        if len(messages) >= 3 and messages[-1].get("content") == CONTINUE_PROMPT:
            # a model continuing a broken answer: it writes the rest of what it would have said
            expected = "Echo: " + messages[-3]["content"]
            partial = messages[-2]["content"]
            text = expected[len(partial):] if expected.startswith(partial) else "<<continuation mismatch>>"
        if rng.random() < rate:
            fault = rng.choice(faults)
            return replace(fault, text=text) if text is not None else fault
        return Text(text) if text is not None else None

    server = FakeOpenAIServer(max_recorded=200)
    for model in ("gpt-4o", "gpt-4o-mini", "gpt-4.1-mini"):
        server.set_behaviour(model, behave)
    server.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"READY {server.base_url}", flush=True)
    try:
        while True:
            time.sleep(1)
    finally:
        server.stop()


def start_provider(rate: float, seed: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, __file__, "--serve", "--fault-rate", str(rate), "--seed", str(seed)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("READY "):
        proc.kill()
        raise SystemExit(f"fake provider did not start: {line!r}")
    return proc, line.split(" ", 1)[1]


# ---- measurements -------------------------------------------------------------------------------------
def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


class Stats:
    def __init__(self) -> None:
        self.turns = 0
        self.failed: list[str] = []
        self.wrong: list[str] = []
        self.fell_back = 0
        self.retried = 0
        self.continued = 0
        self.latencies: list[float] = []
        self.models: Counter[str] = Counter()
        self.samples: list[tuple[float, float, int]] = []
        self.breaker_opens = 0
        self.store_errors: list[str] = []


# ---- the load -----------------------------------------------------------------------------------------
async def conversation_worker(idx: int, engine, stats: Stats, stop_at: float, store, user_id: str | None,
                              sent: Counter, turns_per_thread: int = 8) -> None:
    from vtai.engine import ChatOptions
    from vtai.events import Done, Error, TextDelta
    from vtai.messages import Conversation, Message

    rng = random.Random(idx)
    opts = ChatOptions(model="gpt-4o", dynamic_routing=False, max_tokens=256)
    thread_no = 0
    while time.monotonic() < stop_at:
        thread_no += 1
        thread_id = f"soak-{idx}-{thread_no}"
        conv = Conversation()
        rec = None
        if store is not None:
            from vtai.store import Recorder

            rec = Recorder(store, user_id)
        for turn in range(turns_per_thread):
            if time.monotonic() >= stop_at:
                break
            text = f"c{idx} t{turn} " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14)))
            msg = Message.text("user", text)
            sent[thread_id] += 1
            # A store error loses (at most) this turn's rows; the next turn records again.
            recording = rec is not None and await stored(stats, rec.user_message(thread_id, msg))
            recording = recording and await stored(stats, rec.assistant_started())
            t0 = time.monotonic()
            answer, error, done = [], None, None
            async for event in engine.respond(conv, msg, opts):
                recording = recording and await stored(stats, rec.feed(event))
                if isinstance(event, TextDelta):
                    answer.append(event.text)
                elif isinstance(event, Error):
                    error = event
                elif isinstance(event, Done):
                    done = event
            if recording:
                await stored(stats, rec.finish())
            stats.latencies.append(time.monotonic() - t0)
            stats.turns += 1
            if error is not None:
                stats.failed.append(error.message)
            elif "".join(answer) != f"Echo: {text}":
                stats.wrong.append(f"{text!r} -> {''.join(answer)!r}")
            if done is not None:
                stats.models[done.model or "?"] += 1
                rel = done.extra.get("reliability")
                if rel:
                    stats.fell_back += rel["answered_by"] != rel["primary"]
                    stats.retried += bool(rel["attempts"])
                    stats.continued += bool(rel["continued"])
            await asyncio.sleep(rng.uniform(0.0, 0.5))


async def stored(stats: Stats, write) -> bool:
    """Await a Recorder write; a StoreError is counted (and reported), not fatal to the run."""
    from vtai.errors import StoreError

    try:
        await write
    except StoreError as exc:
        stats.store_errors.append(str(exc))
        return False
    return True


async def sampler(stats: Stats, llm, stop_at: float) -> None:
    opened: set[str] = set()
    start = time.monotonic()
    while time.monotonic() < stop_at:
        stats.samples.append((time.monotonic() - start, rss_mb(), fd_count()))
        now_open = {m for m, s in llm.breaker_states().items() if s["state"] == "open"}
        stats.breaker_opens += len(now_open - opened)
        opened = now_open
        await asyncio.sleep(2.0)


async def warm_up(engine) -> None:
    """Import LiteLLM and make its first calls before the clock starts (it loads ~200 MB of modules lazily)."""
    from vtai.engine import ChatOptions
    from vtai.messages import Conversation, Message

    opts = ChatOptions(model="gpt-4o", dynamic_routing=False)
    for _ in range(3):
        async for _event in engine.respond(Conversation(), Message.text("user", "warm up"), opts):
            pass


async def run(args: argparse.Namespace) -> dict:
    from vtai.engine import Engine
    from vtai.llm.catalogue import load_catalogue
    from vtai.llm.litellm_adapter import LiteLLMClient
    from vtai.llm.reliable import ReliableLLM
    from vtai.settings import load_settings

    proc, url = start_provider(args.fault_rate, args.seed)
    home = Path(tempfile.mkdtemp(prefix="vtai-soak-"))
    (home / "fallbacks.yaml").write_text("models: {gpt-4o: [gpt-4o-mini, gpt-4.1-mini]}\ndefault: []\nlocal: ''\n")
    os.environ.update(VTAI_HOME=str(home), OPENAI_API_KEY="sk-soak-000000", OPENAI_BASE_URL=url)
    settings = load_settings(max_retries=2, retry_base_delay=0.05, retry_max_delay=0.5, first_token_timeout=10.0,
                             stall_timeout=5.0, request_deadline=60.0, breaker_threshold=3, breaker_cooldown=10.0,
                             fallback_to_local=False)
    catalogue = load_catalogue(home)
    llm = ReliableLLM(LiteLLMClient(settings), catalogue, settings)
    engine = Engine(settings, catalogue, llm)
    store = user_id = None
    if args.store:
        from vtai.store import Store

        store = await Store.open(f"sqlite+aiosqlite:///{home / 'soak.db'}", files_dir=home / "files")
        user_id = (await store.create_user("soak", "soak-password-1")).id
    await warm_up(engine)
    stats, sent = Stats(), Counter()
    start = time.monotonic()
    stop_at = start + args.duration
    try:
        tasks = [asyncio.create_task(conversation_worker(i, engine, stats, stop_at, store, user_id, sent))
                 for i in range(args.concurrency)]
        await asyncio.gather(sampler(stats, llm, stop_at), *tasks)
        elapsed = time.monotonic() - start
        stats.samples.append((elapsed, rss_mb(), fd_count()))
        lost = incomplete = 0
        if store is not None:
            for thread_id, n in sent.items():
                rows = await store.list_messages(user_id, thread_id)
                users = [r for r in rows if r.role == "user"]
                answers = [r for r in rows if r.role == "assistant" and r.status == "complete"]
                lost += n - len(users)
                incomplete += n - len(answers)
        await llm.aclose()
        leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task() and not t.done()]
    finally:
        if store is not None:
            await store.close()
        llm.close()
        proc.terminate()
        proc.wait(10)
    return report(args, stats, elapsed, lost, incomplete, len(leftover), sum(sent.values()))


def report(args, stats: Stats, elapsed: float, lost: int, incomplete: int, leftover: int, sent: int) -> dict:
    warm = [s for s in stats.samples if s[0] <= args.duration * 0.25] or stats.samples[:1]
    after = [s for s in stats.samples if s[0] > args.duration * 0.25] or stats.samples[-1:]
    rss_base = warm[-1][1]
    rss_max = max(s[1] for s in after)
    # Open connections go up and down with the load (a burst of hangs holds one connection each for 10 s while
    # the retries open others), so the pass criterion for fds is the count after the drain against the start:
    # a leak keeps them open. The medians of the middle and last thirds are reported to show the trend.
    middle = [s[2] for s in stats.samples if args.duration * 0.25 < s[0] <= args.duration * 2 / 3] or [0]
    last_third = [s[2] for s in stats.samples if s[0] > args.duration * 2 / 3] or [stats.samples[-1][2]]
    fd_base, fd_max = statistics.median(middle), statistics.median(last_third)
    lat = sorted(stats.latencies) or [0.0]
    result = {
        "concurrency": args.concurrency, "duration_s": round(elapsed, 1), "fault_rate": args.fault_rate,
        "turns": stats.turns, "turns_per_s": round(stats.turns / elapsed, 1), "user_messages_sent": sent,
        "failed_turns": len(stats.failed), "wrong_answers": len(stats.wrong), "lost_user_messages": lost,
        "incomplete_stored_answers": incomplete, "retried_turns": stats.retried, "fell_back_turns": stats.fell_back,
        "continued_mid_answer": stats.continued, "answered_by": dict(stats.models),
        "breaker_opens": stats.breaker_opens,
        "latency_s": {"p50": round(lat[len(lat) // 2], 3), "p95": round(lat[int(len(lat) * 0.95)], 3),
                      "max": round(lat[-1], 3)},
        "rss_mb": {"start": round(stats.samples[0][1], 1), "after_warmup": round(rss_base, 1),
                   "max_after_warmup": round(rss_max, 1), "end": round(stats.samples[-1][1], 1),
                   "growth_pct": round(100 * (rss_max - rss_base) / rss_base, 1)},
        "fds": {"start": stats.samples[0][2], "median_middle_third": fd_base, "median_last_third": fd_max,
                "max": max(s[2] for s in stats.samples), "after_drain": stats.samples[-1][2]},
        "samples": [[round(t), round(r), f] for t, r, f in stats.samples],
        "leftover_tasks": leftover, "store": args.store, "store_errors": len(stats.store_errors),
        "examples": {"failed": stats.failed[:3], "wrong": stats.wrong[:3], "store": stats.store_errors[:2]},
    }
    result["ok"] = bool(
        stats.turns and not stats.failed and not stats.wrong and lost == 0 and incomplete == 0 and leftover == 0
        and result["rss_mb"]["growth_pct"] <= 10 and stats.samples[-1][2] <= stats.samples[0][2] + 10
    )
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (300 for the 5-minute run)")
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-store", dest="store", action="store_false", help="skip the SQLite Recorder")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, help="also write the result here")
    args = parser.parse_args()
    if args.serve:
        serve(args.fault_rate, args.seed)
        return 0
    result = asyncio.run(run(args))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
