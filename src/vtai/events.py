"""What the engine yields. Every adapter renders these and nothing else.

Each event is a small dataclass with a literal ``kind``; ``to_dict`` gives a JSON-safe form for
logs, the CLI's ``--json`` output and tests.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(slots=True)
class TextDelta:
    text: str
    kind: Literal["text"] = "text"


@dataclass(slots=True)
class ReasoningDelta:
    text: str
    kind: Literal["reasoning"] = "reasoning"


@dataclass(slots=True)
class Status:
    """Progress the user should see: loading the local model, waiting in its queue, retrying ..."""

    text: str
    kind: Literal["status"] = "status"


@dataclass(slots=True)
class RouteChosen:
    route: str
    score: float
    model: str
    reason: str
    fallback: bool = False
    runner_up: str | None = None
    handler: str = "chat"
    kind: Literal["route"] = "route"


@dataclass(slots=True)
class ModelChosen:
    """The model that is about to answer (after routing, fallback or the user's choice)."""

    model: str
    reason: str = ""
    kind: Literal["model"] = "model"


@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: dict[str, Any]
    kind: Literal["tool_call"] = "tool_call"


@dataclass(slots=True)
class ToolResult:
    id: str
    name: str
    output: str
    is_error: bool = False
    kind: Literal["tool_result"] = "tool_result"


@dataclass(slots=True)
class Image:
    path: str
    mime: str = "image/png"
    prompt: str | None = None
    kind: Literal["image"] = "image"


@dataclass(slots=True)
class Audio:
    path: str
    mime: str = "audio/wav"
    kind: Literal["audio"] = "audio"


@dataclass(slots=True)
class File:
    path: str
    name: str
    mime: str = "application/octet-stream"
    kind: Literal["file"] = "file"


@dataclass(slots=True)
class Usage:
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    kind: Literal["usage"] = "usage"


@dataclass(slots=True)
class Error:
    """A failure the user must see. ``message`` is already safe to show (keys redacted)."""

    message: str
    error_type: str = "error"
    status: int | None = None
    partial: bool = False
    kind: Literal["error"] = "error"


@dataclass(slots=True)
class Done:
    model: str | None = None
    finish_reason: str = "stop"
    interrupted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    kind: Literal["done"] = "done"


Event = (
    TextDelta | ReasoningDelta | Status | RouteChosen | ModelChosen | ToolCall | ToolResult
    | Image | Audio | File | Usage | Error | Done
)


def to_dict(event: Event) -> dict[str, Any]:
    return asdict(event)
