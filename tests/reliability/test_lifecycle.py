"""Breaker, chains from data, per-request fallbacks, last-resort model, shutdown, stored conversation, leaks."""

from __future__ import annotations

import asyncio
import os
import time

import pytest

from vtai.events import Done, ModelChosen, Status, TextDelta
from vtai.llm.catalogue import load_catalogue
from vtai.llm.types import ChatRequest
from vtai.messages import Conversation, Message
from vtai.testing import Fault, Text

FULL = "Echo: one two three four five six"


def calls(server, model: str) -> int:
    return sum(1 for r in server.requests_to("chat") if r.json.get("model") == model)


async def test_circuit_breaker_opens_skips_and_recovers(rig):
    engine = rig.build(breaker_threshold=2, breaker_cooldown=0.4, max_retries=0)
    rig.server.set_behaviour("gpt-4o", Fault("status", status=503))
    for _ in range(2):
        assert (await rig.ask(engine=engine)).text == FULL  # answered by the fallback
    assert rig.llm.breaker_states()["gpt-4o"]["state"] == "open"
    assert calls(rig.server, "gpt-4o") == 2
    out = await rig.ask(engine=engine)
    assert calls(rig.server, "gpt-4o") == 2  # skipped: not even tried
    assert out.statuses[0].startswith("Skipping gpt-4o: paused after repeated failures")
    assert out.text == FULL and out.models == ["gpt-4o", "gpt-4o-mini"]
    await asyncio.sleep(0.45)
    assert rig.llm.breaker_states()["gpt-4o"]["state"] == "half_open"
    rig.server.set_behaviour("gpt-4o", None)
    out = await rig.ask(engine=engine)  # the probe succeeds
    assert out.done.model == "gpt-4o" and calls(rig.server, "gpt-4o") == 3
    assert "gpt-4o" not in rig.llm.breaker_states()


async def test_failed_probe_reopens_the_breaker(rig):
    engine = rig.build(breaker_threshold=1, breaker_cooldown=0.2, max_retries=0)
    rig.server.set_behaviour("gpt-4o", Fault("status", status=503))
    await rig.ask(engine=engine)
    await asyncio.sleep(0.25)
    await rig.ask(engine=engine)  # half-open probe fails
    assert calls(rig.server, "gpt-4o") == 2
    assert rig.llm.breaker_states()["gpt-4o"]["state"] == "open"


async def test_bad_requests_do_not_trip_the_breaker(rig):
    engine = rig.build(breaker_threshold=1)
    rig.server.enqueue(Fault("status", status=400), model="gpt-4o")
    await rig.ask(engine=engine)
    assert "gpt-4o" not in rig.llm.breaker_states()


async def test_per_request_fallbacks_replace_the_chain_and_are_not_sent(rig):
    rig.build()
    rig.server.set_behaviour("gpt-4o", Fault("status", status=503))
    model = load_catalogue().get("gpt-4o")
    req = ChatRequest(model, [{"role": "user", "content": "hi there"}],
                      extra={"fallbacks": ["gpt-4.1-mini"], "route": "casual-conversation"})
    assert [m.id for m in rig.llm.chain_for(req)] == ["gpt-4o", "gpt-4.1-mini"]
    events = [e async for e in rig.llm.stream(req)]
    assert [e.model for e in events if isinstance(e, ModelChosen)] == ["gpt-4.1-mini"]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Echo: hi there"
    assert calls(rig.server, "gpt-4o-mini") == 0
    for r in rig.server.requests_to("chat"):
        assert "fallbacks" not in r.json and "route" not in r.json


async def test_provider_down_for_the_whole_run_the_last_resort_answers(rig):
    """The last-resort slot (``local:``) is a second fake-server model here; the slow test uses the real one."""
    rig.write_fallbacks("models: {gpt-4o: []}\ndefault: []\nlocal: gpt-4.1-nano\n")
    rig.server.set_behaviour("gpt-4o", Fault("status", status=503))
    engine = rig.build(fallback_to_local=True, breaker_threshold=3)
    outs = [await rig.ask(engine=engine) for _ in range(3)]
    for out in outs:
        assert out.text == FULL and out.error is None and out.done.model == "gpt-4.1-nano"
        assert out.models == ["gpt-4o", "gpt-4.1-nano"]
        assert any("answering with gpt-4.1-nano instead" in s for s in out.statuses)
    assert outs[1].statuses[0].startswith("Skipping gpt-4o")  # breaker open after the first turn's 3 failures
    assert calls(rig.server, "gpt-4o") == 3


async def test_fallback_to_local_off_means_no_last_resort(rig):
    rig.write_fallbacks("models: {gpt-4o: []}\ndefault: []\nlocal: gpt-4.1-nano\n")
    rig.server.set_behaviour("gpt-4o", Fault("status", status=503))
    out = await rig.ask(fallback_to_local=False, max_retries=0)
    assert out.error is not None and calls(rig.server, "gpt-4.1-nano") == 0
    assert "VTAI_FALLBACK_TO_LOCAL" in out.error.message


async def test_shutdown_interrupts_streams_cleanly_and_refuses_new_ones(rig):
    engine = rig.build()
    rig.server.enqueue(Text(FULL, delay_s=0.2), model="gpt-4o")
    conv = Conversation()
    from vtai.engine import ChatOptions

    agen = engine.respond(conv, Message.text("user", "long one"), ChatOptions(model="gpt-4o", dynamic_routing=False))
    events = []
    async for event in agen:
        events.append(event)
        if isinstance(event, TextDelta):
            break
    closer = asyncio.create_task(rig.llm.aclose(timeout=2))
    async for event in agen:
        events.append(event)
    await closer
    done = events[-1]
    assert isinstance(done, Done) and done.interrupted and done.finish_reason == "interrupted"
    assert any(isinstance(e, Status) and "shutting down" in e.text for e in events)
    assert conv.messages[-1].role == "assistant" and conv.messages[-1].content == "Echo: "
    out = await rig.ask(engine=engine, model="gpt-4o-mini")
    assert out.error is not None and "shutting down" in out.error.message


async def test_stored_conversation_keeps_user_message_and_marks_partial(rig, tmp_path):
    from vtai.engine import ChatOptions
    from vtai.store import Recorder, Store

    rig.write_fallbacks("models: {gpt-4o: []}\ndefault: []\nlocal: ''\n")
    rig.server.set_behaviour("gpt-4o", Fault("cut_mid_stream", after_tokens=3))
    engine = rig.build(max_retries=0)
    store = await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'db.sqlite'}", files_dir=tmp_path / "files")
    try:
        user = await store.create_user("ann", "correct horse")
        rec = Recorder(store, user.id)
        msg = Message.text("user", "tell me more please")
        await rec.user_message("t1", msg)
        await rec.assistant_started()
        async for event in engine.respond(Conversation(), msg, ChatOptions(model="gpt-4o", dynamic_routing=False)):
            await rec.feed(event)
        await rec.finish()
        rows = await store.list_messages(user.id, "t1")
        assert [(r.role, r.content) for r in rows] == [("user", "tell me more please"), ("assistant", "Echo: tell me ")]
        assert rows[1].status == "error" and "partial answer above is kept" in rows[1].parts[-1]["message"]

        # with a fallback the complete answer is stored, attributed to the model that finished it
        rig.write_fallbacks("models: {gpt-4o: [gpt-4o-mini]}\ndefault: []\nlocal: ''\n")
        engine = rig.build(max_retries=0)
        rig.server.enqueue(Text("more please"), model="gpt-4o-mini")
        await rec.user_message("t1", msg)
        await rec.assistant_started()
        async for event in engine.respond(Conversation(), msg, ChatOptions(model="gpt-4o", dynamic_routing=False)):
            await rec.feed(event)
        final = await rec.finish()
        assert (final.content, final.status, final.model) == ("Echo: tell me more please", "complete", "gpt-4o-mini")
    finally:
        await store.close()


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def test_no_leaked_connections_across_many_faults(rig):
    faults = [Fault("status", status=503), Fault("hang_before_first_byte", delay_s=3),
              Fault("stall_mid_stream", after_tokens=2, delay_s=3), Fault("cut_mid_stream", after_tokens=2),
              Fault("cut_mid_stream", after_tokens=2, rst=True), Fault("malformed_sse"), Fault("empty_completion")]
    engine = rig.build(max_retries=0)

    async def round_() -> None:
        for fault in faults:
            rig.server.enqueue(fault, model="gpt-4o")
            rig.server.enqueue(Text("fine"), model="gpt-4o-mini")
            out = await rig.ask(engine=engine)
            assert out.error is None and out.done.model == "gpt-4o-mini"

    await round_()  # warm: connection pools fill up
    await asyncio.sleep(0.1)
    before = _fds()
    start = time.monotonic()
    for _ in range(3):
        await round_()
    await asyncio.sleep(0.1)
    assert _fds() <= before + 2, (before, _fds())
    assert time.monotonic() - start < 30


@pytest.mark.slow
async def test_provider_down_the_real_local_model_answers(rig):
    from vtai.llm.local import installed

    ok, why = installed()
    assert ok, f"the local model must be installed for this test (scripts/install does it): {why}"
    rig.write_fallbacks("models: {gpt-4o: []}\ndefault: []\nlocal: local/smollm2-135m\n")
    rig.server.set_behaviour("gpt-4o", Fault("status", status=503))
    engine = rig.build(fallback_to_local=True, first_token_timeout=60, stall_timeout=30, request_deadline=180)
    try:
        out = await rig.ask("Say hello.", engine=engine)
        assert out.error is None, out.error
        assert out.done.model == "local/smollm2-135m" and out.text.strip()
        assert out.models == ["gpt-4o", "local/smollm2-135m"]
        assert any("answering with local/smollm2-135m instead" in s for s in out.statuses)
    finally:
        rig.llm.close()


async def test_when_every_model_is_paused_one_plain_attempt_is_still_made(rig):
    rig.write_fallbacks("models: {gpt-4o: []}\ndefault: []\nlocal: ''\n")
    engine = rig.build(breaker_threshold=1, breaker_cooldown=60, max_retries=2)
    rig.server.set_behaviour("gpt-4o", Fault("status", status=503))
    first = await rig.ask(engine=engine)
    assert first.error is not None and calls(rig.server, "gpt-4o") == 1  # breaker opened: no retries
    second = await rig.ask(engine=engine)
    assert second.statuses[:2] == ["Skipping gpt-4o: paused after repeated failures, next try in 60 s.",
                                   "No other model could answer — trying the paused gpt-4o once anyway."]
    assert second.error is not None and calls(rig.server, "gpt-4o") == 2
    rig.server.set_behaviour("gpt-4o", None)
    third = await rig.ask(engine=engine)
    assert third.text == FULL and third.error is None and rig.llm.breaker_states() == {}


async def test_media_calls_are_retried_and_fail_with_a_clear_message(rig):
    rig.build()
    model = load_catalogue().get("text-embedding-3-small")
    rig.server.enqueue(Fault("status", status=503), endpoint="embeddings")
    result = await rig.llm.call("aembedding", model, input=["hello"])
    assert len(result.data) == 1 and len(rig.server.requests_to("embeddings")) == 2
    rig.server.enqueue(Fault("status", status=400, message="bad input"), endpoint="embeddings")
    from vtai.errors import ProviderError

    with pytest.raises(ProviderError) as info:
        await rig.llm.call("aembedding", model, input=["hello"])
    assert len(rig.server.requests_to("embeddings")) == 3  # not retried
    assert str(info.value).startswith("text-embedding-3-small (openai) returned 400: bad input. VT.ai did not retry")


async def test_aclose_before_the_first_event_still_interrupts(rig):
    rig.build()
    stream = rig.llm.stream(ChatRequest(load_catalogue().get("gpt-4o"), [{"role": "user", "content": "x"}]))
    first = await stream.__anext__()  # the run is registered and running
    await rig.llm.aclose(timeout=0.5)
    rest = [e async for e in stream]
    assert isinstance(first, TextDelta)
    assert isinstance(rest[-1], Done) and rest[-1].interrupted
