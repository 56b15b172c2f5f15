"""Scripted replies for the fake OpenAI-compatible server: plain data, no I/O.

A reply is one of :class:`Text`, :class:`ToolCalls` or :class:`Fault`. A *behaviour* (see
``FakeOpenAIServer.set_behaviour``) is a reply, or a callable ``(RecordedRequest) -> reply | None`` where
``None`` means "answer the default way". :func:`flaky` builds such a callable with a seeded RNG.
:func:`reply_from_dict` reads the same shapes from JSON/YAML scripts (``--script`` and the control endpoint).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = frozenset(
    {
        "status",  # an HTTP error with an OpenAI-style JSON body (429 with Retry-After, 500, 503, 529 ...)
        "hang_before_first_byte",  # sleep delay_s (None: until the server stops) before any byte
        "stall_mid_stream",  # send after_tokens tokens, then stall delay_s (None: until stopped), then `then`
        "cut_mid_stream",  # send after_tokens tokens, then drop the TCP connection (no final chunk, no [DONE])
        "error_event_mid_stream",  # send after_tokens tokens, then an SSE `data: {"error": ...}` event
        "malformed_sse",  # send after_tokens tokens, then a `data:` line that is not JSON, then [DONE]
        "malformed_json",  # HTTP 200, content-type JSON, body truncated JSON (stream or not)
        "empty_completion",  # a well-formed completion with no content at all
        "slow",  # the text (or the default echo), delay_s between tokens
    }
)

_ERROR_TYPES = {
    400: ("invalid_request_error", "invalid_request"),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", "permission_denied"),
    404: ("invalid_request_error", "model_not_found"),
    408: ("timeout_error", "timeout"),
    413: ("invalid_request_error", "request_too_large"),
    422: ("invalid_request_error", "unprocessable_entity"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    529: ("overloaded_error", "overloaded"),
}


@dataclass
class Text:
    """A text answer. Streamed as ``reasoning`` deltas first (when given), then ``text`` deltas.

    ``chunk_size`` is the number of words (a word keeps its trailing whitespace) per delta;
    ``delay_s`` is slept before every delta after the first. For /audio/transcriptions the text is the
    transcript.
    """

    text: str
    reasoning: str | None = None
    chunk_size: int = 1
    delay_s: float = 0.0
    finish_reason: str = "stop"
    reasoning_field: str = "reasoning_content"  # some servers (vLLM, OpenRouter) use "reasoning"


@dataclass
class ToolCallSpec:
    name: str
    arguments: dict[str, Any] | str = field(default_factory=dict)
    id: str | None = None


@dataclass
class ToolCalls:
    """One or several (parallel) tool calls, streamed the way OpenAI does: per call a first delta with
    index, id, type and name, then the JSON arguments in fragments of ``fragment_chars`` characters."""

    calls: list[ToolCallSpec]
    text: str | None = None  # optional content streamed before the calls
    fragment_chars: int = 8
    delay_s: float = 0.0


@dataclass
class Fault:
    """A failure. Which fields matter depends on ``kind`` (see ``FAULT_KINDS`` in this module)."""

    kind: str
    status: int = 500
    message: str | None = None
    retry_after: float | None = None  # seconds; sent as the Retry-After header (status faults)
    headers: dict[str, str] = field(default_factory=dict)
    after_tokens: int = 3  # tokens sent before the mid-stream faults strike
    delay_s: float | None = None  # hang / stall length (None: until stopped); per-token delay for "slow"
    then: str = "cut"  # after a finite stall: "cut" the connection or "continue" the answer
    rst: bool = False  # cut_mid_stream: TCP reset (True) or a plain close (FIN) without the final chunk
    text: str | None = None  # what is streamed before / around the fault; None: the default echo

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if self.then not in ("cut", "continue"):
            raise ValueError("Fault.then must be 'cut' or 'continue'")

    def error_body(self) -> dict[str, Any]:
        err_type, code = _ERROR_TYPES.get(
            self.status, ("server_error", "server_error") if self.status >= 500 else ("invalid_request_error", None)
        )
        message = self.message or f"Fake provider error {self.status} ({code or err_type})"
        return {"error": {"message": message, "type": err_type, "param": None, "code": code}}


Reply = Text | ToolCalls | Fault
Behaviour = Reply | Callable[[Any], "Reply | None"]


def flaky(fault: Fault, rate: float, seed: int = 0, ok: Reply | None = None) -> Callable[[Any], Reply | None]:
    """A behaviour that answers ``fault`` for a fraction ``rate`` of requests (seeded, so reproducible)
    and ``ok`` (or the default answer when ``ok`` is None) otherwise."""
    rng = random.Random(seed)

    def behave(_request: Any) -> Reply | None:
        return fault if rng.random() < rate else ok

    behave.__name__ = f"flaky({fault.kind}, rate={rate}, seed={seed})"
    return behave


_WORD = re.compile(r"\s*\S+\s*|\s+")


def tokens(text: str) -> list[str]:
    """Split text into word tokens that concatenate back to exactly ``text``."""
    return _WORD.findall(text)


def reply_from_dict(spec: dict[str, Any]) -> Reply | Callable[[Any], Reply | None]:
    """Build a reply or behaviour from plain data, e.g. ``{"type": "fault", "kind": "status", "status": 429}``.

    Types: ``text``, ``tool_calls`` (``calls: [{name, arguments, id}]``), ``fault``, and ``flaky``
    (``rate``, ``seed``, ``fault: {...}``, optional ``ok: {...}``).
    """
    spec = dict(spec)
    kind = spec.pop("type", "fault" if "kind" in spec else "text")
    spec.pop("model", None)
    spec.pop("endpoint", None)
    if kind == "text":
        return Text(**spec)
    if kind == "tool_calls":
        calls = [ToolCallSpec(**c) for c in spec.pop("calls")]
        return ToolCalls(calls=calls, **spec)
    if kind == "fault":
        return Fault(**spec)
    if kind == "flaky":
        fault = reply_from_dict({"type": "fault", **spec.pop("fault")})
        ok = reply_from_dict(spec.pop("ok")) if spec.get("ok") else None
        spec.pop("ok", None)
        return flaky(fault, ok=ok, **spec)  # type: ignore[arg-type]
    raise ValueError(f"unknown reply type {kind!r}; expected text, tool_calls, fault or flaky")
