"""The real offline encoder on labelled messages written independently of the route utterances."""

from __future__ import annotations

import pytest

from vtai.routing import evaluate, format_report
from vtai.routing.router import instruction_head


# wild_set: 300 messy real-world-style messages (typos, terse, pasted text), utterances were tuned on it;
# wild_fresh_set: 100 more, written after tuning and never tuned on (see docs/routing.md).
@pytest.mark.parametrize("name", ["dev_set.jsonl", "heldout_set.jsonl", "probe_set.jsonl", "wild_set.jsonl",
                                  "wild_fresh_set.jsonl"])
def test_accuracy_with_real_encoder(real_router, read_jsonl, name):
    rows = read_jsonl(name)
    report = evaluate(real_router, rows)
    assert report.accuracy >= 0.90, format_report(report)
    assert min(m.f1 for m in report.per_route.values()) >= 0.75, format_report(report)


def test_dev_set_is_large_balanced_and_disjoint_from_utterances(real_router, read_jsonl):
    rows = read_jsonl("dev_set.jsonl")
    assert len(rows) >= 300
    counts = {name: sum(r["route"] == name for r in rows) for name in real_router.routes.names}
    assert min(counts.values()) >= 25
    utterances = {u.lower() for route in real_router.routes.routes for u in route.utterances}
    held = {r["text"].lower() for name in ("heldout_set.jsonl", "probe_set.jsonl", "wild_set.jsonl",
                                           "wild_fresh_set.jsonl") for r in read_jsonl(name)}
    assert not utterances & {r["text"].lower() for r in rows}
    assert not utterances & held


def test_bad_input_with_real_encoder(real_router):
    assert real_router.route("x" * 100_000).route in real_router.routes.names
    assert real_router.route("please read this out loud " * 5000).route == "text-to-speech"
    emoji = real_router.route("😂😂😂")
    assert emoji.route == "casual-conversation" and emoji.fallback
    assert real_router.route("Bonjour ! Comment ça va ?").route in real_router.routes.names
    assert real_router.route("what is in this picture", ["image"]).route == "vision-image-processing"


def test_long_messages_are_scored_on_their_instruction_too(real_router):
    pasted = ("The committee met on Tuesday to review the budget. Several members raised concerns about "
              "travel costs, and the chair proposed a freeze until the next quarter. ") * 8
    assert instruction_head("Summarize this for my boss: " + pasted) == "Summarize this for my boss:"
    assert instruction_head("short message: hi") is None
    assert real_router.route("Summarize this for my boss: " + pasted).route == "text-processing"
    assert real_router.route("Translate into Spanish: " + pasted).route == "text-processing"
