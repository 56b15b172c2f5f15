"""Handlers: one module per handler, each registering itself with ``@handler("name")``.

A handler is an async generator ``fn(turn: Turn) -> AsyncIterator[Event]``. Importing this package imports every
built-in handler module listed in ``BUILTIN`` (one line per handler).
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable

from vtai.events import Event

HandlerFn = Callable[..., AsyncIterator[Event]]
HANDLERS: dict[str, HandlerFn] = {}
# handler name -> capability its model needs ("" for none); the engine uses it to pick a model.
NEEDS: dict[str, str] = {}

BUILTIN = [
    "vtai.handlers.chat",
    "vtai.handlers.reasoning",
    "vtai.handlers.vision",
    "vtai.handlers.image",
    "vtai.handlers.speech",
    "vtai.handlers.assistant",
    "vtai.handlers.code",
    "vtai.handlers.search",
]


def handler(name: str, needs: str = "chat") -> Callable[[HandlerFn], HandlerFn]:
    def register(fn: HandlerFn) -> HandlerFn:
        HANDLERS[name] = fn
        NEEDS[name] = needs
        return fn

    return register


def load_builtin() -> dict[str, HandlerFn]:
    for module in BUILTIN:
        importlib.import_module(module)
    return HANDLERS
