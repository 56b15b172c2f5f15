"""``FakeLLM``: the LLM seam without a network, for fast engine and adapter tests.

    llm = FakeLLM()
    llm.enqueue("Hello there")                      # streamed word by word
    llm.enqueue([ReasoningDelta("hmm"), TextDelta("42")])
    llm.enqueue(ProviderError("boom", status=503))   # raised when the call is made

Every request is recorded in ``llm.requests``. With nothing queued it answers ``"Echo: <last user text>"``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from vtai.errors import ProviderError
from vtai.events import Done, Event, TextDelta, Usage
from vtai.llm.types import ChatRequest


class FakeLLM:
    def __init__(self) -> None:
        self.requests: list[ChatRequest] = []
        self._queue: list[Any] = []
        self.local = _NoLocal()

    def enqueue(self, reply: str | list[Event] | BaseException) -> None:
        self._queue.append(reply)

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        self.requests.append(request)
        reply = self._queue.pop(0) if self._queue else None
        if reply is None:
            last = next((m for m in reversed(request.messages) if m["role"] == "user"), {"content": ""})
            content = (
                last["content"]
                if isinstance(last["content"], str)
                else " ".join(p.get("text", "") for p in last["content"] if p.get("type") == "text")
            )
            reply = f"Echo: {content}"
        if isinstance(reply, BaseException):
            raise reply
        events = [TextDelta(w) for w in _words(reply)] if isinstance(reply, str) else list(reply)
        partial = ""
        for event in events:
            if isinstance(event, ProviderError):
                event.partial = partial
                raise event
            if isinstance(event, TextDelta):
                partial += event.text
            yield event
        if not any(isinstance(e, Done) for e in events):
            yield Usage(
                model=request.model.id,
                prompt_tokens=len(str(request.messages)) // 4,
                completion_tokens=len(partial) // 4,
                cost_usd=0.0,
            )
            yield Done(model=request.model.id)

    def close(self) -> None:
        pass


class _NoLocal:
    def health(self) -> dict:
        return {"state": "not used", "detail": None, "url": None, "queue": 0}

    def stop(self) -> None:
        pass


def _words(text: str) -> list[str]:
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
