"""Attachment preprocessors: run before routing, turn uploads into something a model can read.

A preprocessor is ``async fn(message, engine) -> AsyncIterator[Event]`` registered with ``@preprocessor``. It may
replace ``message.parts`` (e.g. audio → transcript text, a PDF → extracted text) and yield events the user sees
(a transcript, a refused upload as an Error). It raises ``InputError`` to refuse the whole message.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable

from vtai.events import Event

Preprocessor = Callable[..., AsyncIterator[Event]]
PREPROCESSORS: list[Preprocessor] = []

BUILTIN: list[str] = ["vtai.media.preprocess"]


def preprocessor(fn: Preprocessor) -> Preprocessor:
    PREPROCESSORS.append(fn)
    return fn


def load_builtin() -> list[Preprocessor]:
    for module in BUILTIN:
        importlib.import_module(module)
    return PREPROCESSORS
