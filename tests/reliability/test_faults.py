"""The fault-injection suite: each fault the fake provider can produce, over real HTTP through LiteLLM, the
engine and ReliableLLM; for each, what the user sees (text, Status lines, ModelChosen, Error) and what went over
the wire (how many requests to which model)."""

from __future__ import annotations

import time

import pytest

from vtai.testing import Fault, Text, flaky

FULL = "Echo: one two three four five six"


def calls(server, model: str) -> int:
    return sum(1 for r in server.requests_to("chat") if r.json.get("model") == model)


# fault aimed at the primary (once) → the primary is retried and answers
RETRIED_ONCE = {
    "500": Fault("status", status=500),
    "502": Fault("status", status=502),
    "503": Fault("status", status=503),
    "529 overloaded": Fault("status", status=529),
    "429 short Retry-After": Fault("status", status=429, retry_after=0.04),
    "hang before first byte": Fault("hang_before_first_byte", delay_s=5),
    "malformed json (empty stream)": Fault("malformed_json"),
    "empty completion": Fault("empty_completion"),
    "malformed sse at start": Fault("malformed_sse", after_tokens=0),
}


@pytest.mark.parametrize("name", list(RETRIED_ONCE))
async def test_fault_once_is_retried_on_the_same_model(rig, name):
    rig.server.enqueue(RETRIED_ONCE[name], model="gpt-4o")
    out = await rig.ask()
    assert out.text == FULL and out.error is None
    assert (calls(rig.server, "gpt-4o"), calls(rig.server, "gpt-4o-mini")) == (2, 0)
    assert len(out.statuses) == 1 and "retrying gpt-4o" in out.statuses[0] and "attempt 2 of 3" in out.statuses[0]
    assert out.done.model == "gpt-4o" and not out.done.interrupted
    assert out.done.extra["reliability"]["answered_by"] == "gpt-4o"
    assert out.models == ["gpt-4o"]  # no change of answering model


async def test_retry_after_is_honoured(rig):
    rig.server.enqueue(Fault("status", status=429, retry_after=0.3), model="gpt-4o")
    engine = rig.build(retry_max_delay=1.0)
    start = time.monotonic()
    out = await rig.ask(engine=engine)
    assert time.monotonic() - start >= 0.3  # the backoff alone would be ≤ 0.01 s
    assert out.text == FULL and calls(rig.server, "gpt-4o") == 2
    assert "retrying gpt-4o in 0.3 s" in out.statuses[0]


async def test_long_retry_after_falls_back_instead_of_waiting(rig):
    rig.server.enqueue(Fault("status", status=429, retry_after=30), model="gpt-4o")
    start = time.monotonic()
    out = await rig.ask()
    assert time.monotonic() - start < 5
    assert out.text == FULL and out.models == ["gpt-4o", "gpt-4o-mini"]
    assert (calls(rig.server, "gpt-4o"), calls(rig.server, "gpt-4o-mini")) == (1, 1)
    assert "gpt-4o returned 429 (rate limit reached) — answering with gpt-4o-mini instead" in out.statuses


@pytest.mark.parametrize("status", [500, 503, 529, 429])
async def test_persistent_failure_falls_back_after_retries(rig, status):
    rig.server.set_behaviour("gpt-4o", Fault("status", status=status))
    out = await rig.ask()
    assert out.text == FULL and out.error is None
    assert (calls(rig.server, "gpt-4o"), calls(rig.server, "gpt-4o-mini")) == (3, 1)
    assert [s for s in out.statuses if "retrying" in s] and out.statuses[-1].endswith(
        "answering with gpt-4o-mini instead")
    assert out.models == ["gpt-4o", "gpt-4o-mini"] and out.done.model == "gpt-4o-mini"
    rel = out.done.extra["reliability"]
    assert rel["answered_by"] == "gpt-4o-mini" and [a["status"] for a in rel["attempts"]] == [status] * 3
    assert out.conversation.messages[-1].content == FULL


MID_STREAM = {  # the partial answer is "Echo: one two three "
    "cut (FIN)": Fault("cut_mid_stream", after_tokens=4),
    "cut (RST)": Fault("cut_mid_stream", after_tokens=4, rst=True),
    "stall": Fault("stall_mid_stream", after_tokens=4, delay_s=5),
    "error event": Fault("error_event_mid_stream", after_tokens=4, status=529),
    "malformed sse": Fault("malformed_sse", after_tokens=4),
}


@pytest.mark.parametrize("name", list(MID_STREAM))
@pytest.mark.parametrize("continuation", ["rest only", "restarts from the beginning", "repeats the tail"])
async def test_mid_stream_failure_continues_with_the_next_model(rig, name, continuation):
    rig.server.enqueue(MID_STREAM[name], model="gpt-4o")
    reply = {"rest only": "four five six", "restarts from the beginning": FULL,
             "repeats the tail": "one two three four five six"}[continuation]
    rig.server.enqueue(Text(reply), model="gpt-4o-mini")
    out = await rig.ask()
    assert out.text == FULL, out.events  # nothing dropped, nothing repeated
    assert out.error is None and out.models == ["gpt-4o", "gpt-4o-mini"]
    assert any(s.startswith("gpt-4o failed mid-answer") and s.endswith("continuing with gpt-4o-mini")
               for s in out.statuses), out.statuses
    body = rig.server.requests_to("chat")[-1].json
    assert body["model"] == "gpt-4o-mini"
    assert body["messages"][-2] == {"role": "assistant", "content": "Echo: one two three "}
    assert "continue" in body["messages"][-1]["content"].lower()
    assert out.done.extra["reliability"]["continued"] is True
    assert out.conversation.messages[-1].content == FULL


async def test_slow_stream_is_not_a_failure(rig):
    rig.server.enqueue(Fault("slow", delay_s=0.1), model="gpt-4o")
    out = await rig.ask()
    assert out.text == FULL and out.statuses == [] and calls(rig.server, "gpt-4o") == 1
    assert "reliability" not in out.done.extra


# (not 422: LiteLLM itself re-sends a 422 once with "unsupported" params dropped)
@pytest.mark.parametrize("fault", [Fault("status", status=400, message="context_length_exceeded"),
                                   Fault("status", status=400, message="Invalid 'messages[0].content'")])
async def test_bad_request_fails_fast_without_retry_or_fallback(rig, fault):
    rig.server.enqueue(fault, model="gpt-4o")
    out = await rig.ask()
    assert (calls(rig.server, "gpt-4o"), calls(rig.server, "gpt-4o-mini")) == (1, 0)
    assert out.error is not None and out.error.status == fault.status and out.text == ""
    assert "did not retry" in out.error.message and "Shorten or rephrase" in out.error.message
    assert out.done.interrupted
    assert out.conversation.messages[0].content == "one two three four five six"


async def test_content_policy_refusal_fails_fast(rig):
    rig.server.enqueue(Fault("status", status=400, message="content_policy_violation: flagged by safety system"),
                       model="gpt-4o")
    out = await rig.ask()
    assert (calls(rig.server, "gpt-4o"), calls(rig.server, "gpt-4o-mini")) == (1, 0)
    assert "content policy" in out.error.message and "Rephrase" in out.error.message


@pytest.mark.parametrize("status", [401, 403, 404])
async def test_auth_and_unknown_model_skip_to_the_next_model_without_retry(rig, status):
    rig.server.enqueue(Fault("status", status=status, message="Incorrect API key provided: sk-test-openai-0000"),
                       model="gpt-4o")
    out = await rig.ask()
    assert (calls(rig.server, "gpt-4o"), calls(rig.server, "gpt-4o-mini")) == (1, 1)
    assert out.text == FULL and out.models == ["gpt-4o", "gpt-4o-mini"]
    assert not any("retrying" in s for s in out.statuses)


async def test_no_fallback_left_gives_one_clear_message_with_key_redacted(rig):
    rig.write_fallbacks("models: {gpt-4o: []}\ndefault: []\nlocal: ''\n")
    rig.server.set_behaviour("gpt-4o", Fault("status", status=503, message="down for sk-test-openai-0000"))
    out = await rig.ask()
    err = out.error
    assert err is not None and err.status == 503 and not err.partial
    assert err.message.startswith("gpt-4o (openai) returned 503 (service unavailable). VT.ai retried 2 times")
    assert "no other model to fall back to" in err.message and "vtai keys set" in err.message
    assert "sk-test-openai-0000" not in str(out.events)
    assert calls(rig.server, "gpt-4o") == 3


async def test_everything_down_says_what_was_tried(rig):
    rig.server.set_behaviour("gpt-4o", Fault("status", status=503))
    rig.server.set_behaviour("gpt-4o-mini", Fault("status", status=500))
    out = await rig.ask()
    msg = out.error.message
    assert msg.startswith("gpt-4o-mini (openai) returned 500 (internal error).")
    assert "retried 4 times" in msg and "fell back to gpt-4o-mini (all failed)" in msg
    assert (calls(rig.server, "gpt-4o"), calls(rig.server, "gpt-4o-mini")) == (3, 3)


async def test_mid_stream_failure_without_fallback_keeps_the_partial_answer(rig):
    rig.write_fallbacks("models: {gpt-4o: []}\ndefault: []\nlocal: ''\n")
    rig.server.set_behaviour("gpt-4o", Fault("cut_mid_stream", after_tokens=3))
    out = await rig.ask(max_retries=1)
    # the retry continues from the partial answer; it breaks too (before sending anything new)
    assert out.text.startswith("Echo: one two ") and out.error.partial
    assert "partial answer above is kept" in out.error.message
    assert calls(rig.server, "gpt-4o") == 2


async def test_deadline_bounds_the_whole_request(rig):
    rig.write_fallbacks("models: {gpt-4o: []}\ndefault: []\nlocal: ''\n")
    rig.server.set_behaviour("gpt-4o", Fault("hang_before_first_byte", delay_s=10))
    start = time.monotonic()
    out = await rig.ask(request_deadline=0.6, first_token_timeout=5.0, max_retries=5)
    assert time.monotonic() - start < 2.0
    assert out.error is not None and "did not start answering" in out.error.message


async def test_stall_timeout_applies_between_tokens(rig):
    rig.server.enqueue(Fault("stall_mid_stream", after_tokens=2, delay_s=0.3, then="continue"), model="gpt-4o")
    out = await rig.ask(stall_timeout=1.0)
    assert out.text == FULL and out.statuses == []


async def test_flaky_provider_always_answers(rig):
    rig.server.set_behaviour("gpt-4o", flaky(Fault("status", status=503), rate=0.5, seed=3))
    engine = rig.build()
    for _ in range(10):
        out = await rig.ask(engine=engine)
        assert out.text == FULL and out.error is None
