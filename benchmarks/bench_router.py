"""Router benchmark: one message (p50/p99) next to the raw encoder on the same text, batch throughput,
cold vs warm start. Run: ``python benchmarks/bench_router.py`` (uses a throwaway cache directory)."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

from vtai.routing import Router, load_routes, make_encoder

MESSAGES = [
    "hey, how are you today?",
    "can you explain how vaccines train the immune system",
    "please summarise the following email in three bullet points for my manager",
    "my python script throws KeyError when I read the config, how do I fix it",
    "plot the monthly revenue from the attached csv as a bar chart",
    "a train leaves at 3pm at 60 mph and another at 4pm at 80 mph, when does the second catch up",
    "what's the weather in lisbon tomorrow",
    "draw a watercolor fox sleeping under a tree",
    "what does the text in this screenshot say",
    "read this paragraph out loud please",
]
DATA = Path(__file__).resolve().parent.parent / "tests" / "routing" / "data" / "dev_set.jsonl"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main(repeats: int = 300) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        start = time.perf_counter()
        encoder = make_encoder("fastembed:minilm", cache_dir=cache / "encoders")
        load_ms = (time.perf_counter() - start) * 1000
        routes = load_routes()
        start = time.perf_counter()
        Router(routes, encoder, cache_dir=cache / "vectors")
        cold_ms = (time.perf_counter() - start) * 1000
        start = time.perf_counter()
        router = Router(routes, encoder, cache_dir=cache / "vectors")
        warm_ms = (time.perf_counter() - start) * 1000

        for text in MESSAGES:  # warm up ONNX sessions and caches
            router.route(text)
            encoder.embed([text])
        # Interleave encoder and router runs on the same texts so both see the same machine state.
        enc_ms: list[float] = []
        route_ms: list[float] = []
        for i in range(repeats):
            text = MESSAGES[i % len(MESSAGES)]
            enc_ms += timed(lambda t=text: encoder.embed([t]), 1)
            route_ms += timed(lambda t=text: router.route(t), 1)

        texts = [json.loads(line)["text"] for line in DATA.read_text().splitlines() if line.strip()]
        start = time.perf_counter()
        router.route_batch(texts)
        batch_s = time.perf_counter() - start

    p50_enc, p50_route = statistics.median(enc_ms), statistics.median(route_ms)
    print(f"encoder load (model files → ONNX session): {load_ms:8.1f} ms")
    print(f"router start-up, cold (embeds {sum(len(r.utterances) for r in routes.routes)} utterances): "
          f"{cold_ms:8.1f} ms")
    print(f"router start-up, warm (vector cache hit):    {warm_ms:8.1f} ms")
    print(f"raw encoder, one message:  p50 {p50_enc:6.2f} ms   p99 {percentile(enc_ms, 99):6.2f} ms")
    print(f"route(),     one message:  p50 {p50_route:6.2f} ms   p99 {percentile(route_ms, 99):6.2f} ms")
    print(f"ratio route/encoder p50:   {p50_route / p50_enc:.2f}x   (goal ≤ 1.3x and ≤ 10 ms)")
    print(f"batch routing:             {len(texts) / batch_s:8.0f} msgs/s ({len(texts)} messages)")


if __name__ == "__main__":
    main()
