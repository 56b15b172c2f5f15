"""Store benchmark: thread list and full-text search over 10,000 threads / 200,000 messages (one user owns
them all — the worst case for that user's sidebar and search), and what persistence adds to a reply.

    /work/venv/bin/python benchmarks/bench_store.py                 # SQLite, plus Postgres if set:
    VTAI_TEST_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/test python benchmarks/bench_store.py

Goals (issue 6): list and search p99 ≤ 50 ms; persistence ≤ 5 ms p50 per reply. Results are printed and
written to benchmarks/results/bench_store.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import create_async_engine

from vtai import events as ev
from vtai.messages import Message
from vtai.store import Recorder, Store
from vtai.store.schema import messages, threads

RESULTS = Path(__file__).parent / "results"


def vocabulary(rng: random.Random, n: int = 5000) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return list({"".join(rng.choice(letters) for _ in range(rng.randint(4, 9))) for _ in range(n)})


async def seed(store: Store, user_id: str, n_threads: int, n_messages: int, vocab: list[str]) -> float:
    rng = random.Random(1)
    start = time.perf_counter()
    per_thread = n_messages // n_threads
    now = time.time() - n_threads
    batch_t, batch_m = [], []

    async def flush(conn):
        if batch_t:
            await conn.execute(insert(threads), batch_t)
        if batch_m:
            await conn.execute(insert(messages), batch_m)
        batch_t.clear()
        batch_m.clear()

    async with store.tx() as conn:
        for i in range(n_threads):
            tid = str(uuid.uuid4())
            ts = now + i
            batch_t.append({"id": tid, "user_id": user_id, "name": " ".join(rng.sample(vocab, 4)),
                            "created_at": ts, "updated_at": ts, "metadata": {}, "tags": []})
            for j in range(per_thread):
                words = rng.choices(vocab, k=rng.randint(15, 60))
                if rng.random() < 0.1:
                    words.append("frequentterm")  # a word in 10% of all messages: the slow case
                batch_m.append({"id": str(uuid.uuid4()), "thread_id": tid, "parent_id": None,
                                "role": "user" if j % 2 == 0 else "assistant", "content": " ".join(words),
                                "parts": [], "meta": {}, "route": None, "model": None, "prompt_tokens": None,
                                "completion_tokens": None, "cost_usd": None, "status": "complete",
                                "created_at": ts + j * 1e-3, "favorite": False})
            if len(batch_m) >= 10_000:
                await flush(conn)
        await flush(conn)
    # A steady-state database: statistics current, and on PostgreSQL vacuumed (else autovacuum starts on the
    # freshly bulk-loaded table in the middle of the timings).
    async with store.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE" if store.dialect == "postgresql" else "ANALYZE"))
    return time.perf_counter() - start


def summary(samples: list[float]) -> dict[str, float]:
    ms = sorted(s * 1000 for s in samples)
    return {"p50_ms": round(statistics.median(ms), 2), "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * .99))], 2),
            "n": len(ms)}


async def timed(fn, iterations: int) -> dict[str, float]:
    for _ in range(3):
        await fn(0)
    samples = []
    for i in range(iterations):
        t0 = time.perf_counter()
        await fn(i)
        samples.append(time.perf_counter() - t0)
    return summary(samples)


async def queries(store: Store, user_id: str, vocab: list[str], iterations: int) -> dict[str, dict]:
    rng = random.Random(2)
    words = [rng.choice(vocab) for _ in range(iterations + 3)]
    pairs = [" ".join(rng.sample(vocab, 2)) for _ in range(iterations + 3)]
    return {
        "list page 1": await timed(lambda i: store.list_threads(user_id, 1, 20), iterations),
        "list page 25": await timed(lambda i: store.list_threads(user_id, 25, 20), iterations),
        "search 1 word": await timed(lambda i: store.search(user_id, words[i]), iterations),
        "search 2 words": await timed(lambda i: store.search(user_id, pairs[i]), iterations),
        "search prefix (3 letters)": await timed(lambda i: store.search(user_id, words[i][:3]), iterations),
        "search, no hit": await timed(lambda i: store.search(user_id, "zzqqxx"), iterations),
        "search word in 10% of messages": await timed(lambda i: store.search(user_id, "frequentterm"),
                                                      max(20, iterations // 5)),
    }


async def recorder_overhead(store: Store, user_id: str, replies: int) -> dict[str, dict]:
    """Time the adapter waits on the Recorder per reply (every awaited call: the user message commit, starting
    the answer, 200 text deltas with one partial flush due mid-stream, the final write), against the same
    event loop with no store. Background writes overlap the model's stream and are not counted here;
    'store work per reply' is the wall time of all writes done back to back."""
    events = [ev.RouteChosen("chat", 0.9, "m", "r")] + [ev.TextDelta(f"tok{i} ") for i in range(200)] + [
        ev.Usage("m", 50, 200), ev.Done()]
    before, awaited, work, bare = [], [], [], []
    for i in range(replies):
        t0 = time.perf_counter()
        for e in events:
            _ = e.kind
        bare.append(time.perf_counter() - t0)

        rec = Recorder(store, user_id, flush_interval=0.5)
        t0 = time.perf_counter()
        await rec.user_message(f"bench-{i % 20}", Message.text("user", "hello there, a question"))
        await rec.assistant_started()
        t1 = time.perf_counter()
        waited = t1 - t0
        for j, e in enumerate(events):
            if j == 100:
                await asyncio.sleep(0.02)  # the model streaming: background writes land meanwhile
                rec._last_flush -= 1  # one partial flush due mid-stream, as in a ~1 s answer
            t = time.perf_counter()
            await rec.feed(e)
            waited += time.perf_counter() - t
        await asyncio.sleep(0.02)
        t = time.perf_counter()
        await rec.finish()
        waited += time.perf_counter() - t
        before.append(t1 - t0)
        awaited.append(waited)

        rec = Recorder(store, user_id, flush_interval=0.5)
        t0 = time.perf_counter()
        await rec.user_message(f"bench-{i % 20}", Message.text("user", "hello there, a question"))
        await rec.assistant_started()
        await rec.wait_written()
        for e in events:
            await rec.feed(e)
        await rec.flush()
        await rec.finish()
        work.append(time.perf_counter() - t0)
    return {"before model call (user msg commit + start answer)": summary(before),
            "added latency per reply (all awaited calls)": summary(awaited),
            "store work per reply (4 writes, back to back)": summary(work),
            "no store (same events)": summary(bare)}


async def run_backend(name: str, url: str, schema: str | None, args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        if name == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        store = await Store.open(url, files_dir=Path(tmp) / "files", schema=schema)
        try:
            user = await store.create_user("bench")
            seconds = await seed(store, user.id, args.threads, args.messages, vocabulary(random.Random(0)))
            print(f"[{name}] seeded {args.threads} threads / {args.messages} messages in {seconds:.1f} s")
            result = {"seed_seconds": round(seconds, 1),
                      "queries": await queries(store, user.id, vocabulary(random.Random(0)), args.iterations)}
            other = await store.create_user("writer")
            result["recorder"] = await recorder_overhead(store, other.id, args.replies)
        finally:
            await store.close()
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--replies", type=int, default=200)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all")
    args = parser.parse_args()
    pg_url = os.environ.get("VTAI_TEST_POSTGRES_URL", "")
    results = {}
    if args.backend in ("sqlite", "all"):
        results["sqlite"] = await run_backend("sqlite", "", None, args)
    if args.backend in ("postgres", "all") and pg_url:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_async_engine(pg_url)
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            results["postgres"] = await run_backend("postgres", pg_url, schema, args)
        finally:
            async with admin.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            await admin.dispose()
    for backend, res in results.items():
        print(f"\n{backend}  (seed {res['seed_seconds']} s)")
        for section in ("queries", "recorder"):
            for label, s in res[section].items():
                print(f"  {label:<45} p50 {s['p50_ms']:>7.2f} ms   p99 {s['p99_ms']:>7.2f} ms")
    RESULTS.mkdir(exist_ok=True)
    load = [round(x, 2) for x in os.getloadavg()]
    print(f"\nload average at the end (1/5/15 min): {load} on {os.cpu_count()} CPUs")
    (RESULTS / "bench_store.json").write_text(json.dumps(
        {"args": vars(args), "load_average": load, "cpus": os.cpu_count(), "results": results}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
