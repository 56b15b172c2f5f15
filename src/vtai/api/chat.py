"""``POST /v1/chat/completions``.

Two paths, one event stream:

* **engine** (the default): the client's messages become a :class:`Conversation`; ``engine.respond`` routes
  (``vtai/auto``), picks the model, runs the route's handler (chat, image, search ...) with VT.ai's memory and
  prompts, and its events become OpenAI chunks.
* **passthrough**, when the request carries ``tools``, ``response_format`` or ``stop``, or does not end with a
  user message: the client owns the exact message list and executes its own tools, so the messages and tool
  schema go unchanged to the LLM seam and the model's tool calls come back as ``tool_calls`` (the engine's
  handlers would rewrite the prompt and run VT.ai's tools instead). ``vtai/auto`` still routes the last user
  message and picks a model that has every capability the request needs.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from vtai.api.convert import has_images, last_user_text, to_engine, to_wire
from vtai.api.errors import APIError
from vtai.api.reply import Reply, SSEResponse
from vtai.api.schemas import ERRORS, ChatCompletion, ChatCompletionChunk, ChatCompletionRequest, UserMessage
from vtai.engine import ChatOptions, Engine, attachment_kinds, error_events
from vtai.errors import InputError, RoutingError, UserError, VtaiError
from vtai.events import Error, Event, ModelChosen, RouteChosen
from vtai.llm.catalogue import Model, availability
from vtai.llm.types import ChatRequest
from vtai.messages import Conversation, Message

AUTO = "vtai/auto"
PASSTHROUGH_EXTRA = ("seed", "presence_penalty", "frequency_penalty", "parallel_tool_calls", "fallbacks")
_HEAD_KINDS = (RouteChosen, ModelChosen)


def chat_router(runtime: Any, auth: Any, recorder: Any, route_class: type) -> APIRouter:
    router = APIRouter(route_class=route_class)

    @router.post(
        "/v1/chat/completions", tags=["openai"], response_model=ChatCompletion, dependencies=[Depends(auth)],
        responses={
            **ERRORS, 200: {"description": "A `chat.completion`, or with `stream: true` an SSE stream of "
                                           "`chat.completion.chunk` events ending with `data: [DONE]`",
                            "content": {"text/event-stream": {"schema": ChatCompletionChunk.model_json_schema(
                                ref_template="#/components/schemas/{model}")}}}})
    async def chat_completions(body: ChatCompletionRequest, request: Request):
        """OpenAI-compatible chat. `model` is a catalogue id or alias, or `vtai/auto` to route the last user
        message; the route and model are in the `x-vtai-route` / `x-vtai-model` headers and the `vtai` field."""
        events = await start(runtime, body)
        if recorder is not None:
            events = await recorder.wrap(request, getattr(request.state, "principal", None), body, events)
        reply = Reply(body.model)
        head = await _head(events, reply)
        if reply.error is not None:
            await events.aclose()
            raise reply.error
        headers = reply.headers()
        thread_id = getattr(request.state, "vtai_thread_id", None)
        if thread_id:
            headers["x-vtai-thread-id"] = thread_id
        if body.stream:
            include_usage = bool(body.stream_options and body.stream_options.include_usage)
            return SSEResponse(reply.sse(head, events, include_usage),
                               headers={**headers, "cache-control": "no-cache", "x-accel-buffering": "no"})
        try:
            for event in head:
                reply.delta(event)
            async for event in events:
                reply.delta(event)
        finally:
            await events.aclose()
        if reply.error is not None:
            raise reply.error
        return JSONResponse(reply.completion(), headers={**headers, **reply.headers()})

    return router


async def _head(events: AsyncIterator[Event], reply: Reply) -> list[Event]:
    """Read up to the first event that is not a route/model choice, so headers carry them and a failure
    before any output is a proper HTTP error."""
    head: list[Event] = []
    async for event in events:
        if isinstance(event, _HEAD_KINDS):
            reply.choose(event)
            continue
        head.append(event)
        if isinstance(event, Error):
            reply.delta(event)
        break
    return head


async def start(runtime: Any, body: ChatCompletionRequest) -> AsyncIterator[Event]:
    """Validate what needs the catalogue, then return the event stream for the right path."""
    engine: Engine = runtime.engine
    system, messages = to_engine(body.messages)  # decodes images and audio: bad data is a 400 before anything
    model = None if body.model.strip().lower() == AUTO else engine.catalogue.get(body.model)
    images = has_images(body.messages)
    if model is not None:
        check_model(model, engine, images=images, tools=bool(body.tools))
    passthrough = bool(body.tools or body.response_format or body.stop) or not isinstance(
        body.messages[-1], UserMessage)
    if passthrough:
        return passthrough_events(engine, body, model, images, messages)
    return engine_events(engine, body, model, system, messages)


def check_model(model: Model, engine: Engine, *, images: bool, tools: bool) -> None:
    if not model.can("chat"):
        raise APIError(400, f"'{model.id}' is not a chat model (it can: {', '.join(sorted(model.capabilities))}).",
                       code="model_not_chat", param="model")
    ok, hint = availability(model, engine.settings)
    if not ok:
        raise APIError(404, f"Model '{model.id}' is not available on this server: {hint}.",
                       code="model_not_available", param="model")
    if images and not model.can("vision"):
        raise APIError(400, f"'{model.id}' does not accept images; use a vision model or `vtai/auto`.",
                       code="model_no_vision", param="messages")
    if tools and not model.can("tools"):
        raise APIError(400, f"'{model.id}' does not support tools; use a tool-capable model or `vtai/auto`.",
                       code="model_no_tools", param="tools")


def options_for(engine: Engine, body: ChatCompletionRequest, model: Model | None,
                system: str | None) -> ChatOptions:
    effort = {"minimal": "low"}.get(body.reasoning_effort or "", body.reasoning_effort)
    return ChatOptions.from_settings(
        engine.settings, model=model.id if model else None, system_prompt=system, temperature=body.temperature,
        top_p=body.top_p, max_tokens=body.max_completion_tokens or body.max_tokens,
        dynamic_routing=model is None, reasoning_effort=effort, thinking=True if effort else None,
        extra={"fallbacks": list(body.fallbacks)} if body.fallbacks else None)


async def engine_events(engine: Engine, body: ChatCompletionRequest, model: Model | None, system: str | None,
                        messages: list[Message]) -> AsyncIterator[Event]:
    options = options_for(engine, body, model, system)
    conversation = Conversation(messages=messages[:-1])
    async for event in engine.respond(conversation, messages[-1], options):
        yield event


async def passthrough_events(engine: Engine, body: ChatCompletionRequest, model: Model | None,
                             images: bool, messages: list[Message]) -> AsyncIterator[Event]:
    try:
        if model is None:
            model, chosen = await route_for(engine, body, images, messages)
            yield chosen
        else:
            yield ModelChosen(model.id, "requested model")
        options = options_for(engine, body, model, None)
        extra = {k: getattr(body, k) for k in PASSTHROUGH_EXTRA if getattr(body, k) is not None}
        request = ChatRequest(
            model=model, messages=to_wire(body.messages), temperature=body.temperature, top_p=body.top_p,
            max_tokens=options.max_tokens, stop=body.stop,
            tools=[t.model_dump(exclude_none=True, by_alias=True) for t in body.tools] if body.tools else None,
            tool_choice=body.tool_choice if isinstance(body.tool_choice, str | None)
            else body.tool_choice.model_dump(), reasoning_effort=options.reasoning_effort if body.reasoning_effort
            else None,
            response_format=body.response_format.model_dump(exclude_none=True, by_alias=True)
            if body.response_format else None, extra=extra)
        async for event in engine.llm.stream(request):
            yield event
    except VtaiError as exc:
        for event in error_events(exc):
            yield event


async def route_for(engine: Engine, body: ChatCompletionRequest, images: bool,
                    messages: list[Message]) -> tuple[Model, Event]:
    """``vtai/auto`` for passthrough: route the last user message, then the first usable model (route's
    preferred ones first, then the default chat model, then the catalogue) with every needed capability."""
    needs = {"chat"} | ({"tools"} if body.tools else set()) | ({"vision"} if images else set())
    choice = None
    if engine.router is not None:
        last = next((m for m in reversed(messages) if m.role == "user"), None)
        kinds = attachment_kinds(last) if last else []
        try:
            choice = await asyncio.to_thread(engine.router.route, last_user_text(body.messages), kinds)
        except RoutingError:
            choice = None
    refs = list(getattr(choice, "preferred_models", ()) or ())
    candidates = [engine.catalogue.find(r) for r in refs]
    try:
        candidates.append(engine.chat_model(ChatOptions()))
    except UserError:
        pass
    candidates += list(engine.catalogue)
    for model in candidates:
        if model is not None and needs <= model.capabilities and engine.usable(model):
            why = "first usable model with " + ", ".join(sorted(needs))
            if choice is None:
                return model, ModelChosen(model.id, why)
            return model, RouteChosen(route=choice.route, score=float(choice.score), model=model.id, reason=why,
                                      fallback=bool(choice.fallback), runner_up=choice.runner_up,
                                      handler="passthrough")
    raise InputError(f"No usable model has {', '.join(sorted(needs))}: set a provider key "
                     "(`vtai keys set openai`) or name a model.")
