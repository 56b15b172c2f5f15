"""POST /v1/chat/completions: chunks shaped like OpenAI's (and DeepSeek's for reasoning), streamed or not,
with the scripted faults applied at the right moment."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse, Response, StreamingResponse

from vtai.testing import wire
from vtai.testing.replies import Fault, Reply, Text, ToolCalls, tokens
from vtai.testing.state import RecordedRequest, content_text


@dataclass
class _Chunk:
    delta: dict[str, Any]
    token: bool  # counts towards Fault.after_tokens and gets the per-token delay
    finish_reason: str | None = None


def _usage(request: RecordedRequest, reply: Reply) -> dict[str, Any]:
    prompt = sum(len(tokens(content_text(m.get("content")))) for m in request.messages) + 1
    reasoning = len(tokens(reply.reasoning)) if isinstance(reply, Text) and reply.reasoning else 0
    if isinstance(reply, Text):
        completion = len(tokens(reply.text)) + reasoning
    elif isinstance(reply, ToolCalls):
        completion = sum(len(_arguments(c.arguments)) // 4 + 1 for c in reply.calls)
    else:
        completion = 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "completion_tokens_details": {"reasoning_tokens": reasoning},
        "prompt_tokens_details": {"cached_tokens": 0},
    }


def _arguments(arguments: dict[str, Any] | str) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments)


def _groups(text: str, size: int) -> list[str]:
    words = tokens(text)
    return ["".join(words[i : i + size]) for i in range(0, len(words), max(1, size))]


def _chunks(reply: Reply) -> list[_Chunk]:
    if isinstance(reply, Fault):  # empty_completion
        return [_Chunk({"role": "assistant", "content": ""}, False), _Chunk({}, False, "stop")]
    if isinstance(reply, Text):
        out = [_Chunk({"role": "assistant", "content": ""}, False)]
        if reply.reasoning:
            out += [_Chunk({reply.reasoning_field: g}, True) for g in _groups(reply.reasoning, reply.chunk_size)]
        out += [_Chunk({"content": g}, True) for g in _groups(reply.text, reply.chunk_size)]
        return out + [_Chunk({}, False, reply.finish_reason)]
    out = [_Chunk({"role": "assistant", "content": "" if reply.text else None}, False)]
    if reply.text:
        out += [_Chunk({"content": g}, True) for g in _groups(reply.text, 1)]
    for index, call in enumerate(reply.calls):
        head = {"index": index, "id": _call_id(call.id, index), "type": "function"}
        out.append(_Chunk({"tool_calls": [{**head, "function": {"name": call.name, "arguments": ""}}]}, True))
        args, step = _arguments(call.arguments), max(1, reply.fragment_chars)
        for i in range(0, len(args), step):
            out.append(_Chunk({"tool_calls": [{"index": index, "function": {"arguments": args[i : i + step]}}]}, True))
    return out + [_Chunk({}, False, "tool_calls")]


def _call_id(given: str | None, index: int) -> str:
    return given or f"call_fake{index}_{uuid.uuid4().hex[:12]}"


def _message(reply: Reply) -> tuple[dict[str, Any], str]:
    if isinstance(reply, Fault):  # empty_completion
        return {"role": "assistant", "content": "", "refusal": None}, "stop"
    if isinstance(reply, Text):
        message: dict[str, Any] = {"role": "assistant", "content": reply.text, "refusal": None}
        if reply.reasoning:
            message[reply.reasoning_field] = reply.reasoning
        return message, reply.finish_reason
    calls = [
        {
            "id": _call_id(c.id, i),
            "type": "function",
            "function": {"name": c.name, "arguments": _arguments(c.arguments)},
        }
        for i, c in enumerate(reply.calls)
    ]
    return {"role": "assistant", "content": reply.text, "refusal": None, "tool_calls": calls}, "tool_calls"


class ChatCompletion:
    """One request's answer. ``reply`` is what will be said (Text / ToolCalls, or a Fault for an empty
    completion); ``fault`` is the failure to inject around it, if any."""

    def __init__(self, request: RecordedRequest, reply: Reply, fault: Fault | None, scope, stopping):
        body = request.json if isinstance(request.json, dict) else {}
        self.request, self.reply, self.fault = request, reply, fault
        self.scope, self.stopping = scope, stopping
        self.model = body.get("model") or "fake-model"
        self.id = f"chatcmpl-fake{uuid.uuid4().hex[:20]}"
        self.created = int(time.time())
        self.include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        delay = reply.delay_s if isinstance(reply, Text | ToolCalls) else 0.0
        self.delay = (0.1 if fault.delay_s is None else fault.delay_s) if fault and fault.kind == "slow" else delay

    def response(self) -> Response:
        if self.request.stream:
            return StreamingResponse(self._sse(), media_type="text/event-stream")
        message, finish = _message(self.reply)
        payload = {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            "usage": _usage(self.request, self.reply),
        }
        if self.fault and self.fault.kind in wire.MID_STREAM:
            body = json.dumps(payload).encode()
            return wire.split_body(self.fault, body, "application/json", self.scope, self.stopping)
        return JSONResponse(payload)

    def _event(self, delta: dict[str, Any] | None, finish: str | None = None, **extra: Any) -> bytes:
        chunk = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": []
            if delta is None
            else [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            **extra,
        }
        return b"data: " + json.dumps(chunk).encode() + b"\n\n"

    async def _sse(self) -> AsyncIterator[bytes]:
        chunks = _chunks(self.reply)
        strike_at = self._strike_index(chunks)
        sent = 0
        for i, chunk in enumerate(chunks):
            if i == strike_at:
                stop = False
                async for piece in self._strike():
                    if piece is None:
                        stop = True
                    else:
                        yield piece
                if stop:
                    return
            if chunk.token:
                if sent and self.delay:
                    await asyncio.sleep(self.delay)
                sent += 1
            yield self._event(chunk.delta, chunk.finish_reason)
        if self.include_usage:
            yield self._event(None, usage=_usage(self.request, self.reply))
        yield b"data: [DONE]\n\n"

    def _strike_index(self, chunks: list[_Chunk]) -> int | None:
        if not self.fault or self.fault.kind not in wire.MID_STREAM:
            return None
        seen = 0
        for i, chunk in enumerate(chunks):
            if chunk.token:
                if seen == self.fault.after_tokens:
                    return i
                seen += 1
        return len(chunks) - 1  # fewer tokens than after_tokens: strike before the finish chunk

    async def _strike(self) -> AsyncIterator[bytes | None]:
        """Yields bytes to send; a final None means the stream ends here."""
        fault = self.fault
        assert fault is not None
        if fault.kind == "malformed_sse":
            yield b'data: {"id": "' + self.id.encode() + b'", "choices": [{"index": 0, "delta": {"content": "tr\n\n'
        elif fault.kind == "error_event_mid_stream":
            yield b"data: " + json.dumps(fault.error_body()).encode() + b"\n\n"
            yield None
        elif fault.kind == "cut_mid_stream":
            await wire.cut(self.scope, fault.rst)
        elif fault.kind == "stall_mid_stream":
            stopped = await wire.wait_or_stop(self.stopping, fault.delay_s)
            if stopped or fault.then == "cut":
                await wire.cut(self.scope, fault.rst)


async def respond(
    request: RecordedRequest, scripted: Reply | None, scope: dict[str, Any], stopping: asyncio.Event
) -> Response:
    fault = scripted if isinstance(scripted, Fault) else None
    early = await wire.before_response(fault, scope, stopping)
    if early is not None:
        return early
    if fault is None:
        reply: Reply = scripted or Text(f"Echo: {request.last_user_text}")
    elif fault.kind == "empty_completion":
        reply = fault
    else:
        reply = Text(fault.text if fault.text is not None else f"Echo: {request.last_user_text}")
    return ChatCompletion(request, reply, fault, scope, stopping).response()
