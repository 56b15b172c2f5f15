"""What the store returns: plain dataclasses (rows, never ORM objects that need a session)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

Status = Literal["complete", "interrupted", "error"]
STATUSES: tuple[str, ...] = ("complete", "interrupted", "error")
T = TypeVar("T")


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@dataclass(slots=True)
class User:
    id: str
    identifier: str
    display_name: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    has_password: bool = False


@dataclass(slots=True)
class Thread:
    id: str
    user_id: str | None
    name: str | None
    created_at: float
    updated_at: float
    metadata: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)


@dataclass(slots=True)
class StoredMessage:
    """A message row. ``parts`` holds everything but the text: reasoning, tool calls/results, media, files
    (each a dict with a ``kind``, media referenced by path, never inline bytes)."""

    id: str
    thread_id: str
    role: str
    content: str
    parts: list[dict[str, Any]] = field(default_factory=list)
    parent_id: str | None = None
    route: str | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost_usd: float | None = None
    status: str = "complete"
    created_at: float = 0.0
    meta: dict[str, Any] = field(default_factory=dict)
    favorite: bool = False
    feedback: Feedback | None = None


@dataclass(slots=True)
class Feedback:
    id: str
    message_id: str
    user_id: str
    value: int
    comment: str | None = None


@dataclass(slots=True)
class Attachment:
    id: str
    thread_id: str
    message_id: str | None
    name: str
    mime: str
    size: int
    path: str  # absolute path on disk
    created_at: float
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ApiKey:
    id: str
    user_id: str
    name: str
    prefix: str
    created_at: float
    revoked_at: float | None = None
    last_used_at: float | None = None


@dataclass(slots=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    page_size: int
    has_next: bool
