"""OpenAI messages → the engine's :class:`Message` objects (or OpenAI dicts for tool passthrough)."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from vtai.api.errors import APIError
from vtai.api.schemas import (
    AssistantMessage,
    AudioContent,
    ChatMessage,
    ImageContent,
    SystemMessage,
    TextContent,
    ToolMessage,
    UserMessage,
)
from vtai.messages import AudioPart, ImagePart, Message, Part, TextPart

_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^,;]*)*?);base64,(?P<data>.*)$", re.DOTALL)


def text_of(content: str | list[Any] | None) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(p.text for p in content if isinstance(p, TextContent))


def image_part(url: str, index: int) -> ImagePart:
    if url.startswith("data:"):
        match = _DATA_URL.match(url)
        if not match:
            raise APIError(400, "Image data URLs must look like data:image/png;base64,<data>.",
                           code="invalid_image", param=f"messages.{index}.content")
        mime = match["mime"] or "image/png"
        if not mime.startswith("image/"):
            raise APIError(400, f"Unsupported image type {mime!r}.", code="invalid_image")
        try:
            data = base64.b64decode(match["data"], validate=True)
        except (binascii.Error, ValueError):
            raise APIError(400, "The image's base64 data is invalid.", code="invalid_image",
                           param=f"messages.{index}.content") from None
        return ImagePart(mime, data=data, name=f"image.{mime.split('/')[-1]}")
    if url.startswith(("http://", "https://")):
        return ImagePart("image/*", url=url, name=url.rsplit("/", 1)[-1][:80] or "image")
    raise APIError(400, "image_url.url must be an http(s) URL or a base64 data URL.", code="invalid_image",
                   param=f"messages.{index}.content")


def user_parts(content: str | list[Any], index: int) -> list[Part]:
    if isinstance(content, str):
        return [TextPart(content)]
    parts: list[Part] = []
    for item in content:
        if isinstance(item, TextContent):
            parts.append(TextPart(item.text))
        elif isinstance(item, ImageContent):
            parts.append(image_part(item.image_url.url, index))
        elif isinstance(item, AudioContent):
            try:
                data = base64.b64decode(item.input_audio.data, validate=True)
            except (binascii.Error, ValueError):
                raise APIError(400, "The audio's base64 data is invalid.", code="invalid_audio",
                               param=f"messages.{index}.content") from None
            parts.append(AudioPart(f"audio/{item.input_audio.format}", data, f"audio.{item.input_audio.format}"))
    return parts


def to_engine(messages: list[ChatMessage]) -> tuple[str | None, list[Message]]:
    """The system prompt (system and developer messages joined) and the other messages in order."""
    system: list[str] = []
    out: list[Message] = []
    for index, m in enumerate(messages):
        if isinstance(m, SystemMessage):
            system.append(text_of(m.content))
        elif isinstance(m, UserMessage):
            out.append(Message("user", user_parts(m.content, index)))
        elif isinstance(m, AssistantMessage):
            calls = [c.model_dump(exclude_none=True) for c in m.tool_calls] if m.tool_calls else None
            out.append(Message("assistant", [TextPart(text_of(m.content))], tool_calls=calls))
        elif isinstance(m, ToolMessage):
            out.append(Message("tool", [TextPart(text_of(m.content))], tool_call_id=m.tool_call_id))
    return ("\n\n".join(s for s in system if s) or None), out


def to_wire(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """The client's messages as plain OpenAI dicts (``developer`` sent as ``system`` for other providers)."""
    out = []
    for m in messages:
        item = m.model_dump(exclude_none=True, by_alias=True)
        if item.get("role") == "developer":
            item["role"] = "system"
        item.pop("reasoning_content", None)
        out.append(item)
    return out


def has_images(messages: list[ChatMessage]) -> bool:
    return any(isinstance(m, UserMessage) and isinstance(m.content, list)
               and any(isinstance(p, ImageContent) for p in m.content) for m in messages)


def last_user_text(messages: list[ChatMessage]) -> str:
    for m in reversed(messages):
        if isinstance(m, UserMessage):
            return text_of(m.content)
    return ""
