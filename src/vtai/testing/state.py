"""What the fake server remembers: recorded requests, the reply queue, per-model behaviours, served files.

Shared between the test thread and the server's event loop thread, so every mutation takes the lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from vtai.testing.replies import Behaviour, Fault, Reply, Text, ToolCalls

# Which endpoints a reply type can answer when enqueued without an explicit endpoint.
_APPLIES_TO: dict[type, frozenset[str]] = {
    Text: frozenset({"chat", "transcriptions", "translations"}),
    ToolCalls: frozenset({"chat"}),
}
ENDPOINTS = frozenset(
    {"chat", "images", "image_edits", "speech", "transcriptions", "translations", "embeddings", "models"}
)


@dataclass
class UploadedFile:
    filename: str | None
    content_type: str | None
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class RecordedRequest:
    method: str
    path: str
    endpoint: str | None
    headers: dict[str, str]
    query: dict[str, str]
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)

    @property
    def model(self) -> str | None:
        source = self.json if isinstance(self.json, dict) else self.form
        return source.get("model") if source else None

    @property
    def stream(self) -> bool:
        return bool(isinstance(self.json, dict) and self.json.get("stream"))

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.json.get("messages") or []) if isinstance(self.json, dict) else []

    @property
    def images(self) -> list[str]:
        """URLs (often ``data:`` URLs) of every image part in the chat messages, in order."""
        urls = []
        for msg in self.messages:
            content = msg.get("content")
            for part in content if isinstance(content, list) else []:
                if isinstance(part, dict) and part.get("type") == "image_url":
                    image = part.get("image_url")
                    urls.append(image.get("url") if isinstance(image, dict) else image)
        return urls

    @property
    def last_user_text(self) -> str:
        for msg in reversed(self.messages):
            if msg.get("role") == "user":
                return content_text(msg.get("content"))
        return ""


def content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


@dataclass
class _Queued:
    reply: Reply
    model: str | None
    endpoint: str | None

    def matches(self, endpoint: str | None, model: str | None) -> bool:
        if self.model is not None and self.model != model:
            return False
        if self.endpoint is not None:
            return self.endpoint == endpoint
        allowed = _APPLIES_TO.get(type(self.reply))
        return allowed is None or endpoint in allowed


class ServerState:
    def __init__(self, embedding_dim: int = 384, models: list[str] | None = None, max_recorded: int | None = None):
        self.embedding_dim = embedding_dim
        self.max_recorded = max_recorded
        self.models = list(models or ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "tts-1", "whisper-1"])
        self.requests: list[RecordedRequest] = []
        self.files: dict[str, tuple[bytes, str]] = {}
        self._queue: list[_Queued] = []
        self._behaviours: dict[str, Behaviour] = {}
        self._lock = threading.Lock()

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)
            if self.max_recorded is not None and len(self.requests) > self.max_recorded:
                del self.requests[: len(self.requests) - self.max_recorded]

    def enqueue(self, reply: Reply, model: str | None = None, endpoint: str | None = None) -> None:
        if not isinstance(reply, Text | ToolCalls | Fault):
            raise TypeError(f"expected Text, ToolCalls or Fault, got {type(reply).__name__}")
        if endpoint is not None and endpoint not in ENDPOINTS:
            raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {sorted(ENDPOINTS)}")
        with self._lock:
            self._queue.append(_Queued(reply, model, endpoint))

    def set_behaviour(self, model: str, behaviour: Behaviour | None) -> None:
        with self._lock:
            if behaviour is None:
                self._behaviours.pop(model, None)
            else:
                self._behaviours[model] = behaviour

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._queue.clear()
            self._behaviours.clear()
            self.files.clear()

    def pick(self, request: RecordedRequest) -> Reply | None:
        """The scripted reply for this request: first matching queued one, else the model's behaviour,
        else None (answer the default way)."""
        model = request.model
        with self._lock:
            for i, item in enumerate(self._queue):
                if item.matches(request.endpoint, model):
                    return self._queue.pop(i).reply
            behaviour = self._behaviours.get(model) if model else None
        if callable(behaviour):
            return behaviour(request)
        return behaviour
