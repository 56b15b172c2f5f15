"""Test doubles shipped with VT.ai. Importing this package is cheap: the fake server (uvicorn, Starlette,
Pillow) loads only when one of its names is first used.

- :class:`FakeOpenAIServer` — an OpenAI-compatible provider on loopback (chat, images, speech,
  transcription, embeddings) with scripted replies (:class:`Text`, :class:`ToolCalls`) and injected
  failures (:class:`Fault`). See ``docs/testing.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "FakeOpenAIServer": "vtai.testing.fake_openai",
    "RecordedRequest": "vtai.testing.state",
    "UploadedFile": "vtai.testing.state",
    "Text": "vtai.testing.replies",
    "ToolCalls": "vtai.testing.replies",
    "ToolCallSpec": "vtai.testing.replies",
    "Fault": "vtai.testing.replies",
    "FAULT_KINDS": "vtai.testing.replies",
    "flaky": "vtai.testing.replies",
    "reply_from_dict": "vtai.testing.replies",
}

__all__ = [
    "FAULT_KINDS",
    "FakeOpenAIServer",
    "Fault",
    "RecordedRequest",
    "Text",
    "ToolCallSpec",
    "ToolCalls",
    "UploadedFile",
    "flaky",
    "reply_from_dict",
]

if TYPE_CHECKING:
    from vtai.testing.fake_openai import FakeOpenAIServer
    from vtai.testing.replies import FAULT_KINDS, Fault, Text, ToolCalls, ToolCallSpec, flaky, reply_from_dict
    from vtai.testing.state import RecordedRequest, UploadedFile


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vtai.testing' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
