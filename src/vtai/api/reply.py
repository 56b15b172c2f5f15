"""Engine events → OpenAI ``chat.completion`` JSON or ``chat.completion.chunk`` SSE events."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from vtai.api.errors import APIError, from_event
from vtai.events import (
    Audio,
    Done,
    Error,
    Event,
    File,
    Image,
    ModelChosen,
    ReasoningDelta,
    RouteChosen,
    Status,
    TextDelta,
    ToolCall,
    Usage,
)

FINISH = {"stop", "length", "tool_calls", "content_filter"}
MAX_INLINE_BYTES = 10 * 1024 * 1024


class Reply:
    """State of one completion: what the engine chose and what it said so far."""

    def __init__(self, requested_model: str):
        self.id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        self.created = int(time.time())
        self.model = requested_model
        self.info: dict[str, Any] = {"route": None, "model": requested_model, "score": None, "reason": "",
                                     "handler": None}
        self.text: list[str] = []
        self.reasoning: list[str] = []
        self.tool_calls: list[dict[str, Any]] = []
        self.attachments: list[dict[str, Any]] = []
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0}
        self.finish = "stop"
        self.error: APIError | None = None

    # ---- absorbing events ---------------------------------------------------------------------------------
    def choose(self, event: RouteChosen | ModelChosen) -> None:
        self.model = event.model
        self.info.update(model=event.model, reason=event.reason)
        if isinstance(event, RouteChosen):
            self.info.update(route=event.route, score=round(event.score, 4), handler=event.handler)

    def headers(self) -> dict[str, str]:
        return {"x-vtai-route": self.info["route"] or "none", "x-vtai-model": self.model}

    def delta(self, event: Event) -> dict[str, Any] | None:
        """Record ``event``; return the chunk delta to stream for it (None: nothing to stream)."""
        match event:
            case TextDelta(text=text):
                self.text.append(text)
                return {"content": text}
            case ReasoningDelta(text=text):
                self.reasoning.append(text)
                return {"reasoning_content": text}
            case ToolCall():
                call = tool_call(event, len(self.tool_calls))
                self.tool_calls.append(call)
                return {"tool_calls": [call]}
            case Image() | Audio() | File():
                self.attachments.append(attachment(event))
            case Usage():
                self.usage["prompt_tokens"] += event.prompt_tokens
                self.usage["completion_tokens"] += event.completion_tokens
            case Error():
                self.error = self.error or from_event(event)
            case Done(finish_reason=reason):
                if reason in FINISH:
                    self.finish = reason
            case RouteChosen() | ModelChosen():
                self.choose(event)
        return None

    # ---- rendering ----------------------------------------------------------------------------------------
    def usage_body(self) -> dict[str, int]:
        return {**self.usage, "total_tokens": self.usage["prompt_tokens"] + self.usage["completion_tokens"]}

    def completion(self) -> dict[str, Any]:
        calls = [{k: v for k, v in c.items() if k != "index"} for c in self.tool_calls] or None
        finish = "tool_calls" if calls and self.finish == "stop" else self.finish
        message = {"role": "assistant", "content": "".join(self.text) if self.text or not calls else None}
        if self.reasoning:
            message["reasoning_content"] = "".join(self.reasoning)
        if calls:
            message["tool_calls"] = calls
        return {"id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
                "usage": self.usage_body(), "vtai": {**self.info, "attachments": self.attachments}}

    def chunk(self, delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> bytes:
        body: dict[str, Any] = {"id": self.id, "object": "chat.completion.chunk", "created": self.created,
                                "model": self.model}
        body["choices"] = [] if delta is None else [
            {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]
        body.update(extra)
        return b"data: " + json.dumps(body, separators=(",", ":")).encode() + b"\n\n"

    async def sse(self, head: list[Event], events: AsyncIterator[Event], include_usage: bool
                  ) -> AsyncIterator[bytes]:
        """The SSE body: a role chunk carrying the ``vtai`` field, deltas, finish, usage, ``[DONE]``."""
        try:
            yield self.chunk({"role": "assistant", "content": ""}, vtai=self.info)
            for event in head:
                for piece in self._pieces(event):
                    yield piece
            async for event in events:
                for piece in self._pieces(event):
                    yield piece
            if self.error is None:
                finish = "tool_calls" if self.tool_calls and self.finish == "stop" else self.finish
                yield self.chunk({}, finish)
                if include_usage:
                    yield self.chunk(None, usage=self.usage_body())
            yield b"data: [DONE]\n\n"
        finally:
            # Client gone or done: close the engine's stream (cancelling the upstream call), even when cancelled.
            with anyio.CancelScope(shield=True):
                await events.aclose()

    def _pieces(self, event: Event) -> list[bytes]:
        had_error = self.error is not None
        delta = self.delta(event)
        if delta is not None:
            return [self.chunk(delta)]
        if isinstance(event, Status):
            return [b": " + " ".join(event.text.split()).encode() + b"\n\n"]  # an SSE comment: keeps it alive
        if isinstance(event, Image | Audio | File):
            return [self.chunk({}, vtai={"attachments": [self.attachments[-1]]})]
        if self.error is not None and not had_error:
            return [b"data: " + json.dumps(self.error.body()).encode() + b"\n\n"]
        return []


def tool_call(event: ToolCall, index: int) -> dict[str, Any]:
    args = event.arguments
    raw = args["_raw"] if set(args) == {"_raw"} else json.dumps(args, ensure_ascii=False)
    return {"index": index, "id": event.id, "type": "function", "function": {"name": event.name, "arguments": raw}}


def attachment(event: Image | Audio | File) -> dict[str, Any]:
    path = Path(event.path)
    item: dict[str, Any] = {"kind": event.kind, "mime": event.mime, "name": getattr(event, "name", path.name)}
    if path.is_file() and path.stat().st_size <= MAX_INLINE_BYTES:
        item["data_url"] = f"data:{event.mime};base64,{base64.b64encode(path.read_bytes()).decode()}"
    return item


class SSEResponse(StreamingResponse):
    """A streaming response that notices a client disconnect even while waiting for the model, and then
    cancels the stream (Starlette's own only notices on the next write under ASGI spec 2.4)."""

    media_type = "text/event-stream"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with anyio.create_task_group() as group:

            async def stream() -> None:
                try:
                    await self.stream_response(send)
                except OSError:
                    pass  # the client went away mid-write
                group.cancel_scope.cancel()

            group.start_soon(stream)
            await self.listen_for_disconnect(receive)
            group.cancel_scope.cancel()
