"""The engine over FakeLLM: events, model choice, memory, errors."""

from types import SimpleNamespace

import pytest

from vtai.engine import ChatOptions, Engine
from vtai.errors import ProviderError, RoutingError
from vtai.events import Done, Error, ModelChosen, ReasoningDelta, RouteChosen, TextDelta, Usage
from vtai.llm.catalogue import load_catalogue
from vtai.messages import Conversation, Message
from vtai.settings import load_settings
from vtai.testing.fake_llm import FakeLLM


def make_engine(router=None, **settings):
    s = load_settings(**settings)
    llm = FakeLLM()
    return Engine(s, load_catalogue(), llm, router), llm


async def collect(engine, conv, text, options=None):
    return [e async for e in engine.respond(conv, Message.text("user", text), options)]


async def test_streams_text_and_keeps_history():
    engine, llm = make_engine()
    conv = Conversation()
    events = await collect(engine, conv, "hello there")
    assert isinstance(events[0], ModelChosen) and events[0].model == "local/smollm2-135m"
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Echo: hello there"
    assert isinstance(events[-1], Done)
    assert any(isinstance(e, Usage) for e in events)
    await collect(engine, conv, "second")
    roles = [m["role"] for m in llm.requests[-1].messages]
    assert roles == ["system", "user", "assistant", "user"]
    assert llm.requests[-1].messages[2]["content"] == "Echo: hello there"


async def test_empty_message_is_refused_politely():
    engine, llm = make_engine()
    events = await collect(engine, Conversation(), "   ")
    assert isinstance(events[0], Error) and "empty" in events[0].message
    assert llm.requests == []


async def test_unknown_model_and_missing_key_are_user_errors():
    engine, _ = make_engine()
    events = await collect(engine, Conversation(), "hi", ChatOptions(model="gpt-4o-mnii"))
    assert isinstance(events[0], Error) and "Did you mean" in events[0].message

    engine, llm = make_engine()
    engine.llm = _RealAdapterLike(engine.settings)
    conv = Conversation()
    events = await collect(engine, conv, "hi", ChatOptions(model="claude-sonnet-4-5"))
    err = next(e for e in events if isinstance(e, Error))
    assert "vtai keys set anthropic" in err.message and err.error_type == "user"
    # The conversation goes on: the user's message is kept.
    assert conv.messages[-1].content == "hi"


class _RealAdapterLike:
    def __init__(self, settings):
        from vtai.llm.litellm_adapter import LiteLLMClient

        self._real = LiteLLMClient(settings)

    def stream(self, request):
        return self._real.stream(request)


async def test_provider_failure_keeps_partial_answer():
    engine, llm = make_engine()
    llm.enqueue([TextDelta("Partial "), TextDelta("answer"), ProviderError("upstream died", status=502)])
    events = await collect(engine, Conversation(), "hi")
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    err = next(e for e in events if isinstance(e, Error))
    assert text == "Partial answer" and err.partial and err.status == 502
    assert events[-1].interrupted


async def test_think_tags_are_split_for_thinking_mode():
    engine, llm = make_engine()
    llm.enqueue([TextDelta("<thi"), TextDelta("nk>step one"), TextDelta("</th"), TextDelta("ink>The answer")])
    events = await collect(engine, Conversation(), "q", ChatOptions(thinking=True))
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "step one"
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "The answer"


class StubRouter:
    """A router double with the real Route/RouteChoice shape (the real router has its own tests)."""

    def __init__(self, route, handler="chat", preferred=(), requires=None, fallback=False):
        self.choice = SimpleNamespace(route=route, score=0.81, fallback=fallback, runner_up="curious",
                                      handler=handler)
        self.route_obj = SimpleNamespace(name=route, handler=handler, preferred_models=list(preferred),
                                         requires=requires, system_prompt=None)
        self.choice.preferred_models = list(preferred)
        self.choice.requires = requires
        self.choice.name = route

    def route(self, text, attachments=()):
        if text == "explode":
            raise RoutingError("encoder missing")
        return self.choice

    def get(self, name):
        return self.route_obj


async def test_route_picks_first_usable_preferred_model():
    router = StubRouter("coding", preferred=["claude-sonnet-4-5", "gpt-4.1", "deepseek-chat"], requires="chat")
    engine, llm = make_engine(router, api_keys={"deepseek": "sk-ds-123456789"})
    events = await collect(engine, Conversation(), "write a function")
    chosen = events[0]
    assert isinstance(chosen, RouteChosen)
    assert chosen.route == "coding" and chosen.model == "deepseek-chat"
    assert llm.requests[0].model.id == "deepseek-chat"


async def test_route_without_usable_model_falls_back_to_chat_default_and_says_why():
    router = StubRouter("image-generation", handler="image", preferred=["gpt-image-1"],
                        requires="image_generation")
    engine, llm = make_engine(router)
    events = await collect(engine, Conversation(), "draw a cat")
    chosen = events[0]
    assert chosen.model == "local/smollm2-135m"
    assert "no preferred model" in chosen.reason


async def test_routing_off_uses_selected_model_and_routing_error_does_not_break_chat():
    router = StubRouter("coding", preferred=["deepseek-chat"])
    engine, llm = make_engine(router)
    events = await collect(engine, Conversation(), "hi", ChatOptions(dynamic_routing=False, model="local"))
    assert isinstance(events[0], ModelChosen)
    events = await collect(engine, Conversation(), "explode")
    assert isinstance(events[0], ModelChosen)
    assert any(isinstance(e, TextDelta) for e in events)


@pytest.mark.parametrize("context", [2048])
async def test_memory_trims_oldest_turns_keeps_system(context):
    engine, llm = make_engine()
    conv = Conversation()
    for i in range(40):
        conv.add(Message.text("user", f"question {i} " + "x" * 300))
        conv.add(Message.text("assistant", f"answer {i} " + "y" * 300))
    await collect(engine, conv, "latest question")
    sent = llm.requests[-1].messages
    assert sent[0]["role"] == "system"
    assert sent[-1]["content"] == "latest question"
    assert len(sent) < 40
    assert "question 0 " not in str(sent)
    assert sum(len(str(m["content"])) for m in sent) // 3 < context


async def test_attached_image_goes_to_the_vision_handler_even_with_routing_off():
    """With a text-only model selected and routing off, the image is not silently dropped: the vision handler
    says no vision model is usable and answers from offline OCR."""
    import io

    from PIL import Image

    from vtai.events import Status
    from vtai.messages import ImagePart, TextPart

    engine, llm = make_engine()
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buf, format="PNG")
    message = Message(role="user", parts=[TextPart("what colour is this?"), ImagePart("image/png", buf.getvalue())])
    events = [e async for e in engine.respond(Conversation(), message, ChatOptions(dynamic_routing=False))]
    assert any(isinstance(e, Status) and "No vision model is usable" in e.text for e in events), events
    assert "OCR" in llm.requests[-1].messages[-1]["content"]
