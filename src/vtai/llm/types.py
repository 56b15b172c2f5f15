"""The LLM seam: one request type, one core method ``stream``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from vtai.events import Event
from vtai.llm.catalogue import Model


@dataclass(slots=True)
class ChatRequest:
    model: Model
    messages: list[dict[str, Any]]
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    response_format: dict[str, Any] | None = None
    reasoning_effort: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class LLM(Protocol):
    def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        """Yield TextDelta / ReasoningDelta / Status / ToolCall / Usage events, then Done(finish_reason).
        Raises ProviderError (with ``partial`` text) when the call fails."""
        ...
