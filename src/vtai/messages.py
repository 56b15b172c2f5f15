"""Conversation data inside the engine: plain dataclasses (pydantic lives at the edges)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(slots=True)
class TextPart:
    text: str
    kind: Literal["text"] = "text"


@dataclass(slots=True)
class ImagePart:
    """An image the user attached or linked. ``data`` holds bytes for uploads; ``url`` for links."""

    mime: str
    data: bytes | None = None
    url: str | None = None
    name: str = "image"
    kind: Literal["image"] = "image"


@dataclass(slots=True)
class AudioPart:
    mime: str
    data: bytes
    name: str = "audio"
    kind: Literal["audio"] = "audio"


@dataclass(slots=True)
class FilePart:
    """Any other uploaded file (documents, data). ``path`` points at the stored copy."""

    name: str
    mime: str
    path: str
    size: int = 0
    kind: Literal["file"] = "file"


Part = TextPart | ImagePart | AudioPart | FilePart


@dataclass(slots=True)
class Message:
    role: Role
    parts: list[Part] = field(default_factory=list)
    # Assistant tool calls (OpenAI shape) and the id a tool result answers.
    tool_calls: list[dict] | None = None
    tool_call_id: str | None = None
    name: str | None = None

    @classmethod
    def text(cls, role: Role, text: str) -> Message:
        return cls(role=role, parts=[TextPart(text)])

    @property
    def content(self) -> str:
        return "".join(p.text for p in self.parts if isinstance(p, TextPart))

    def attachments(self) -> list[Part]:
        return [p for p in self.parts if not isinstance(p, TextPart)]


@dataclass(slots=True)
class Conversation:
    messages: list[Message] = field(default_factory=list)
    system: str | None = None
    id: str | None = None
    user_id: str | None = None

    def add(self, message: Message) -> Message:
        self.messages.append(message)
        return message
