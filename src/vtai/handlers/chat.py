"""The chat handler: stream the model's answer; split inline ``<think>`` reasoning from the text."""

from __future__ import annotations

from collections.abc import AsyncIterator

from vtai.engine import Turn
from vtai.errors import ProviderError
from vtai.events import Done, Event, ReasoningDelta, TextDelta
from vtai.handlers import handler
from vtai.llm.types import ChatRequest
from vtai.memory import build_messages
from vtai.messages import Message
from vtai.thinking import ThinkSplitter


def chat_request(turn: Turn, **extra) -> ChatRequest:
    opts = turn.options
    model = turn.model
    system = opts.system_prompt
    route_prompt = getattr(turn.engine.router.get(turn.route.route), "system_prompt", None) if turn.route else None
    if route_prompt:
        system = f"{system}\n\n{route_prompt}" if system else route_prompt
    reserve = opts.max_tokens or min(1024, max(model.context // 4, 256))
    messages = build_messages(turn.conversation, system, model.context or 8192, reserve,
                              with_images=model.can("vision"))
    effort = opts.reasoning_effort if (opts.thinking or model.can("reasoning")) else None
    hints = extra.setdefault("extra", {})
    if turn.route is not None:
        hints.setdefault("route", turn.route.route)  # for per-route fallback chains
    if opts.extra.get("fallbacks"):
        hints["fallbacks"] = list(opts.extra["fallbacks"])  # per-request chain (API `fallbacks`)
    return ChatRequest(model=model, messages=messages, temperature=opts.temperature, top_p=opts.top_p,
                       max_tokens=opts.max_tokens, reasoning_effort=effort, **extra)


async def stream_answer(turn: Turn, request: ChatRequest) -> AsyncIterator[Event]:
    """Stream ``request`` and record the answer in the conversation."""
    splitter = ThinkSplitter() if turn.model.think_tags or turn.options.thinking else None
    answer: list[str] = []
    try:
        async for event in _split(turn.llm.stream(request), splitter, answer):
            yield event
    except ProviderError:
        if answer:  # keep the partial answer in memory too (the store keeps it marked)
            turn.conversation.add(Message.text("assistant", "".join(answer)))
        raise
    turn.conversation.add(Message.text("assistant", "".join(answer)))


async def _split(events: AsyncIterator[Event], splitter: ThinkSplitter | None,
                 answer: list[str]) -> AsyncIterator[Event]:
    """Pass events on, collecting the answer text; with a splitter, inline <think> text becomes reasoning."""
    async for event in events:
        if splitter is not None and isinstance(event, TextDelta | Done):
            pairs = splitter.feed(event.text) if isinstance(event, TextDelta) else splitter.flush()
            for kind, text in pairs:
                if kind == "reasoning":
                    yield ReasoningDelta(text)
                else:
                    answer.append(text)
                    yield TextDelta(text)
            if isinstance(event, TextDelta):
                continue
        elif isinstance(event, TextDelta):
            answer.append(event.text)
        yield event


@handler("chat")
async def chat(turn: Turn) -> AsyncIterator[Event]:
    async for event in stream_answer(turn, chat_request(turn)):
        yield event
