"""Conversation memory: OpenAI-shaped messages trimmed to the model's context window.

Keeps the system prompt and the newest turns; drops the oldest whole turns first. Token counts use LiteLLM's
offline tokenizer when it is loaded, else a conservative estimate (3 characters a token).
"""

from __future__ import annotations

import base64
from typing import Any

from vtai.messages import AudioPart, Conversation, FilePart, ImagePart, Message, TextPart

IMAGE_TOKENS = 800


def estimate_tokens(message: dict[str, Any]) -> int:
    content = message.get("content")
    if isinstance(content, list):
        total = 0
        for part in content:
            if part.get("type") == "text":
                total += len(part.get("text", "")) // 3 + 1
            else:
                total += IMAGE_TOKENS
    else:
        total = len(content or "") // 3 + 1
    for call in message.get("tool_calls") or []:
        total += len(str(call.get("function", {}).get("arguments", ""))) // 3 + 8
    return total + 4


def part_to_openai(part: Any) -> dict[str, Any] | None:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if isinstance(part, ImagePart):
        url = part.url
        if part.data is not None:
            url = f"data:{part.mime};base64,{base64.b64encode(part.data).decode()}"
        return {"type": "image_url", "image_url": {"url": url}}
    if isinstance(part, AudioPart | FilePart):
        return None  # turned into text (transcript / extracted text) before the model sees them
    return None


def message_to_openai(message: Message, with_images: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role}
    images = [p for p in message.parts if isinstance(p, ImagePart)]
    if images and with_images:
        out["content"] = [c for c in (part_to_openai(p) for p in message.parts) if c]
    else:
        out["content"] = message.content
    if message.tool_calls:
        out["tool_calls"] = message.tool_calls
    if message.tool_call_id:
        out["tool_call_id"] = message.tool_call_id
    if message.name and message.role == "tool":
        out["name"] = message.name
    return out


def build_messages(conversation: Conversation, system: str | None, context_tokens: int, reserve: int,
                   with_images: bool = True) -> list[dict[str, Any]]:
    """System prompt + the newest messages that fit in ``context_tokens - reserve``."""
    budget = max(context_tokens - reserve, 256)
    head = [{"role": "system", "content": system}] if system else []
    used = sum(estimate_tokens(m) for m in head)
    kept: list[dict[str, Any]] = []
    for message in reversed(conversation.messages):
        item = message_to_openai(message, with_images)
        cost = estimate_tokens(item)
        if kept and used + cost > budget:
            break
        if not kept and used + cost > budget:
            item = _truncate(item, budget - used)
            cost = estimate_tokens(item)
        kept.append(item)
        used += cost
    kept.reverse()
    # A tool result must follow its call: drop leading orphans left by trimming.
    while kept and kept[0]["role"] == "tool":
        kept.pop(0)
    return head + kept


def _truncate(item: dict[str, Any], tokens: int) -> dict[str, Any]:
    keep = max(tokens * 3 - 40, 200)
    content = item.get("content")
    if isinstance(content, str) and len(content) > keep:
        note = "[…earlier part of this message left out to fit the model's context window…]\n"
        return {**item, "content": note + content[-keep:]}
    return item
