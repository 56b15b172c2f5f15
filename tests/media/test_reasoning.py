"""The reasoning handler: depth → reasoning_effort / Anthropic thinking budget, reasoning streamed separately."""

from __future__ import annotations

import json

from vtai.events import Done, ReasoningDelta, Status, TextDelta
from vtai.testing import Text

from .conftest import make_engine, run


def split(events):
    return ("".join(e.text for e in events if isinstance(e, ReasoningDelta)),
            "".join(e.text for e in events if isinstance(e, TextDelta)))


async def test_reasoning_stream_over_http_with_depth(provider_env):
    engine, _ = make_engine("reasoning", preferred=["o4-mini"], wire=True)
    provider_env.enqueue(Text("The answer is 12.", reasoning="3 boxes of 4 make 12.", chunk_size=4))
    events, conv = await run(engine, "3 boxes of 4 apples: how many?", reasoning_effort="low")
    assert split(events) == ("3 boxes of 4 make 12.", "The answer is 12.")
    first_reasoning = next(i for i, e in enumerate(events) if isinstance(e, ReasoningDelta))
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert first_reasoning < first_text
    body = provider_env.requests_to("chat")[-1].json
    assert body["model"] == "o4-mini" and body["reasoning_effort"] == "low"
    assert conv.messages[-1].content == "The answer is 12."  # reasoning is not stored as the answer


async def test_anthropic_depth_becomes_a_thinking_budget(fake_server, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-123456")
    monkeypatch.setenv("ANTHROPIC_API_BASE", fake_server.base_url)
    monkeypatch.setenv("VTAI_OPENAI_COMPATIBLE", json.dumps(["anthropic"]))
    engine, _ = make_engine("reasoning", preferred=["claude-sonnet-4-5"], wire=True)
    fake_server.enqueue(Text("Done.", reasoning="Let me think."))
    events, _ = await run(engine, "prove it", reasoning_effort="high")
    assert split(events) == ("Let me think.", "Done.")
    body = fake_server.requests_to("chat")[-1].json
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 16000}
    assert body["max_tokens"] == 16000 + 4096 and body["temperature"] == 1
    assert "reasoning_effort" not in body


async def test_without_a_reasoning_model_the_chat_model_thinks_in_tags():
    engine, llm = make_engine("reasoning")  # no keys: only the local model
    llm.enqueue("<thi" + "nk>First, 2+2 is 4.</th" + "ink>It is 4.")
    events, _ = await run(engine, "what is 2+2?")
    assert any(isinstance(e, Status) and "No reasoning model is usable" in e.text for e in events)
    reasoning, text = split(events)
    assert reasoning.strip() == "First, 2+2 is 4." and text.strip() == "It is 4."
    system = llm.requests[-1].messages[0]
    assert system["role"] == "system" and "step by step" in system["content"] and "<think>" in system["content"]
    assert isinstance(events[-1], Done)


def test_native_anthropic_gets_litellm_thinking_argument():
    from types import SimpleNamespace

    from vtai.engine import ChatOptions
    from vtai.handlers.reasoning import reasoning_params
    from vtai.llm.catalogue import load_catalogue
    from vtai.settings import load_settings

    model = load_catalogue().get("claude-opus-4-1")
    for depth, budget in (("low", 1024), ("medium", 4096), ("high", 16000), ("bogus", 4096)):
        turn = SimpleNamespace(model=model, settings=load_settings(), options=ChatOptions(reasoning_effort=depth))
        params = reasoning_params(turn)
        assert params == {"thinking": {"type": "enabled", "budget_tokens": budget}, "max_tokens": budget + 4096,
                          "temperature": 1}
    gpt = SimpleNamespace(model=load_catalogue().get("o3"), settings=load_settings(), options=ChatOptions())
    assert reasoning_params(gpt) == {}
