"""The engine: turns one user message into an async stream of events.

It knows nothing of Chainlit, HTTP or terminals. Everything it uses comes in through :class:`Engine`'s
constructor (settings, catalogue, LLM, router, tools) and ``respond``'s arguments.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from vtai import attachments
from vtai.errors import InputError, ProviderError, RoutingError, UserError, VtaiError
from vtai.events import Done, Error, Event, ModelChosen, RouteChosen
from vtai.handlers import HANDLERS, NEEDS, load_builtin
from vtai.llm.catalogue import Catalogue, Model, availability, default_chat_model
from vtai.llm.types import LLM
from vtai.messages import Conversation, FilePart, ImagePart, Message
from vtai.settings import Settings

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ChatOptions:
    """Per-chat choices (the UI's settings panel, CLI flags, API request fields)."""

    model: str | None = None  # None: the configured default
    system_prompt: str | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    dynamic_routing: bool = True
    thinking: bool = False
    reasoning_effort: str | None = None
    use_tools: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> ChatOptions:
        base = cls(
            model=settings.model or None, system_prompt=settings.system_prompt, temperature=settings.temperature,
            top_p=settings.top_p, max_tokens=settings.max_tokens, dynamic_routing=settings.dynamic_routing,
            thinking=settings.thinking, reasoning_effort=settings.reasoning_effort,
        )
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})


class Router(Protocol):
    def route(self, text: str, attachments: list[str] | tuple[str, ...] = ()) -> Any: ...

    def get(self, name: str) -> Any: ...


@dataclass(slots=True)
class Turn:
    """What a handler gets: the conversation (with the new message last), the model and the engine's parts."""

    conversation: Conversation
    message: Message
    options: ChatOptions
    model: Model
    engine: Engine
    route: Any = None  # RouteChoice when routing ran

    @property
    def llm(self) -> LLM:
        return self.engine.llm

    @property
    def settings(self) -> Settings:
        return self.engine.settings


def error_events(exc: VtaiError) -> list[Event]:
    """A typed failure as the events that end a turn (the message is already safe to show)."""
    if isinstance(exc, UserError):
        return [Error(str(exc), error_type="user"), Done(finish_reason="error", interrupted=True)]
    if isinstance(exc, ProviderError):
        return [Error(str(exc), error_type="provider", status=exc.status, partial=bool(exc.partial)),
                Done(model=exc.model, finish_reason="error", interrupted=True)]
    return [Error(str(exc), error_type=type(exc).__name__), Done(finish_reason="error", interrupted=True)]


def attachment_kinds(message: Message) -> list[str]:
    kinds = []
    for part in message.attachments():
        if isinstance(part, ImagePart):
            kinds.append("image")
        elif isinstance(part, FilePart):
            ext = part.name.rsplit(".", 1)[-1].lower() if "." in part.name else ""
            kinds.append(ext or part.kind)
        else:
            kinds.append(part.kind)
    return kinds


class Engine:
    def __init__(self, settings: Settings, catalogue: Catalogue, llm: LLM, router: Router | None = None,
                 services: dict[str, Any] | None = None):
        self.settings = settings
        self.catalogue = catalogue
        self.llm = llm
        self.router = router
        # Optional parts handlers may use: "sandbox", "search", "store", "speech" ... (None when absent).
        self.services = services or {}
        load_builtin()
        attachments.load_builtin()

    # ---- model choice ---------------------------------------------------------------------------
    def usable(self, model: Model) -> bool:
        return availability(model, self.settings)[0]

    def first_usable(self, capability: str) -> Model | None:
        return next((m for m in self.catalogue.with_capability(capability) if self.usable(m)), None)

    def chat_model(self, options: ChatOptions) -> Model:
        if options.model:
            return self.catalogue.get(options.model)
        return default_chat_model(self.catalogue, self.settings)

    def pick_model_for_route(self, route: Any, options: ChatOptions) -> tuple[Model, str]:
        """The route's first preferred model that is usable now and has the capability it needs."""
        need = getattr(route, "requires", None) or NEEDS.get(getattr(route, "handler", "chat"), "chat")
        for ref in getattr(route, "preferred_models", None) or []:
            model = self.catalogue.find(ref)
            if model and model.can(need) and self.usable(model):
                return model, f"first usable preferred model of route {route.name}"
        chosen = self.chat_model(options)
        why = "your selected model" if options.model else "the default chat model"
        if getattr(route, "preferred_models", None):
            why += " (no preferred model of this route is usable now)"
        return chosen, why

    # ---- the turn ---------------------------------------------------------------------------------
    async def respond(self, conversation: Conversation, message: Message,
                      options: ChatOptions | None = None) -> AsyncIterator[Event]:
        options = options or ChatOptions.from_settings(self.settings)
        try:
            if not message.content.strip() and not message.attachments():
                raise InputError("The message is empty — type something or attach a file.")
            async for event in self._respond(conversation, message, options):
                yield event
        except VtaiError as exc:
            for event in error_events(exc):
                yield event

    async def _respond(self, conversation: Conversation, message: Message,
                       options: ChatOptions) -> AsyncIterator[Event]:
        for pre in attachments.PREPROCESSORS:
            async for event in pre(message, self):
                yield event
        conversation.add(message)
        choice = None
        handler_name = "chat"
        if options.dynamic_routing and self.router is not None:
            try:
                choice = await asyncio.to_thread(self.router.route, message.content, attachment_kinds(message))
            except RoutingError as exc:
                log.warning("routing failed, answering with the chat model: %s", exc)
        if choice is not None:
            model, reason = self.pick_model_for_route(choice, options)
            handler_name = choice.handler if choice.handler in HANDLERS else "chat"
            if handler_name != choice.handler:
                reason += f"; the {choice.handler} handler is not available, answering as chat"
            yield RouteChosen(route=choice.route, score=float(choice.score), model=model.id, reason=reason,
                              fallback=bool(choice.fallback), runner_up=choice.runner_up, handler=handler_name)
        else:
            model = self.chat_model(options)
            yield ModelChosen(model.id, "selected model" if options.model else "default model")
        if handler_name == "chat" and "vision" in HANDLERS and any(isinstance(p, ImagePart) for p in message.parts):
            handler_name = "vision"  # an attached image is always looked at, routing on or off
        if options.use_tools and handler_name == "chat" and "assistant" in HANDLERS:
            handler_name = "assistant"
            if not model.can("tools") and not options.model:
                tool_model = self.first_usable("tools")
                if tool_model is not None:
                    model = tool_model
                    yield ModelChosen(model.id, "the Assistant needs a model that can call tools")
        turn = Turn(conversation, message, options, model, self, choice)
        async for event in HANDLERS[handler_name](turn):
            yield event
