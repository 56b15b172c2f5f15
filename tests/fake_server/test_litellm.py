"""LiteLLM against the fake server, over real HTTP: what VT.ai's adapter will see, fault by fault."""

from __future__ import annotations

import json
import os

import pytest

from vtai.testing import Fault, Text, ToolCalls, ToolCallSpec

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
import litellm  # noqa: E402 - after the cost-map switch above

# LiteLLM lazily imports a module whose TypedDict makes pydantic warn; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:Items? .* `ReadOnly` qualifier:UserWarning")

USER = [{"role": "user", "content": "one two three four five six"}]
ECHO = "Echo: one two three four five six"


async def _call(server, stream: bool, timeout: float = 5.0, **kw):
    """Returns (text, reasoning, error): the text streamed before any error."""
    text, reasoning = "", ""
    try:
        response = await litellm.acompletion(
            model="openai/gpt-4o-mini",
            api_base=server.base_url,
            api_key="sk-test",
            messages=USER,
            stream=stream,
            timeout=timeout,
            max_retries=0,
            **kw,
        )
        if not stream:
            return response.choices[0].message.content, None, None
        async for chunk in response:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
                reasoning += getattr(chunk.choices[0].delta, "reasoning_content", None) or ""
    except Exception as exc:  # the point of these tests is which exception, so catch them all here
        return text, reasoning, exc
    return text, reasoning, None


async def test_streaming_text(server):
    text, _, error = await _call(server, stream=True)
    assert (text, error) == (ECHO, None)
    assert server.requests[0].json["stream"] is True


async def test_reasoning_content_is_passed_through_as_delta_reasoning_content(server):
    server.enqueue(Text("It is 4.", reasoning="Add two and two"))
    text, reasoning, error = await _call(server, stream=True)
    assert (text, reasoning, error) == ("It is 4.", "Add two and two", None)
    server.enqueue(Text("It is 4.", reasoning="Add two and two"))
    response = await litellm.acompletion(
        model="openai/m", api_base=server.base_url, api_key="sk-test", messages=USER, max_retries=0
    )
    assert response.choices[0].message.reasoning_content == "Add two and two"


async def test_parallel_tool_calls_reassemble(server):
    calls = [ToolCallSpec("search", {"q": "weather in Paris", "n": 3}), ToolCallSpec("clock", {"tz": "UTC"})]
    server.enqueue(ToolCalls(calls, fragment_chars=5))
    names = ("search", "clock")
    tools = [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}} for n in names]
    response = await litellm.acompletion(
        model="openai/m", api_base=server.base_url, api_key="sk-test", messages=USER, stream=True, tools=tools
    )
    chunks = [chunk async for chunk in response]
    message = litellm.stream_chunk_builder(chunks, messages=USER).choices[0].message
    assert [(c.function.name, json.loads(c.function.arguments)) for c in message.tool_calls] == [
        ("search", {"q": "weather in Paris", "n": 3}),
        ("clock", {"tz": "UTC"}),
    ]
    assert server.requests[0].json["tools"] == tools


async def test_usage_is_reported_in_the_final_chunk(server):
    response = await litellm.acompletion(
        model="openai/m",
        api_base=server.base_url,
        api_key="sk-test",
        messages=USER,
        stream=True,
        stream_options={"include_usage": True},
    )
    usage = [c.usage for c in [chunk async for chunk in response] if getattr(c, "usage", None)]
    assert usage[-1].completion_tokens == 7


# (fault, stream) → (exception class, status_code, partial text the caller had streamed before it)
STATUS_CASES = [
    (429, litellm.RateLimitError),
    (400, litellm.BadRequestError),
    (401, litellm.AuthenticationError),
    (404, litellm.NotFoundError),
    (500, litellm.InternalServerError),
    (503, litellm.ServiceUnavailableError),
    (529, litellm.APIError),
]


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "nostream"])
@pytest.mark.parametrize(("status", "exc_type"), STATUS_CASES, ids=[str(s) for s, _ in STATUS_CASES])
async def test_status_faults(server, stream, status, exc_type):
    server.enqueue(Fault("status", status=status, retry_after=1 if status == 429 else None))
    text, _, error = await _call(server, stream)
    assert type(error) is exc_type and error.status_code == status
    assert not text


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "nostream"])
async def test_hang_before_first_byte_is_a_timeout(server, stream):
    server.enqueue(Fault("hang_before_first_byte"))
    text, _, error = await _call(server, stream, timeout=0.3)
    assert isinstance(error, litellm.Timeout) and error.status_code == 408
    assert not text


async def test_stall_mid_stream_is_a_timeout_after_partial_text(server):
    server.enqueue(Fault("stall_mid_stream", after_tokens=3))
    text, _, error = await _call(server, stream=True, timeout=0.3)
    assert isinstance(error, litellm.Timeout)
    assert text == "Echo: one two "


async def test_stall_that_resumes_delivers_everything(server):
    server.enqueue(Fault("stall_mid_stream", after_tokens=2, delay_s=0.05, then="continue"))
    assert await _call(server, stream=True) == (ECHO, "", None)


@pytest.mark.parametrize("rst", [False, True], ids=["fin", "rst"])
async def test_cut_mid_stream_is_a_mid_stream_fallback_error_with_the_partial_text(server, rst):
    server.enqueue(Fault("cut_mid_stream", after_tokens=2, rst=rst))
    text, _, error = await _call(server, stream=True)
    assert isinstance(error, litellm.exceptions.MidStreamFallbackError)  # a ServiceUnavailableError subclass
    assert isinstance(error.original_exception, litellm.APIConnectionError)
    assert error.generated_content == text == "Echo: one "


@pytest.mark.parametrize(
    ("kind", "original"),
    [("error_event_mid_stream", litellm.APIConnectionError), ("malformed_sse", litellm.APIConnectionError)],
)
async def test_broken_streams_raise_mid_stream_fallback_error(server, kind, original):
    server.enqueue(Fault(kind, status=529, after_tokens=3))
    text, _, error = await _call(server, stream=True)
    assert isinstance(error, litellm.exceptions.MidStreamFallbackError)
    assert isinstance(error.original_exception, original)
    assert error.generated_content == text == "Echo: one two "


@pytest.mark.parametrize("kind", ["cut_mid_stream", "malformed_json", "malformed_sse", "error_event_mid_stream"])
async def test_broken_bodies_without_streaming_are_internal_server_errors(server, kind):
    server.enqueue(Fault(kind))
    _, _, error = await _call(server, stream=False)
    assert type(error) is litellm.InternalServerError and error.status_code == 500


async def test_stall_without_streaming_is_a_timeout(server):
    server.enqueue(Fault("stall_mid_stream"))
    _, _, error = await _call(server, stream=False, timeout=0.3)
    assert isinstance(error, litellm.Timeout)


async def test_malformed_json_to_a_streaming_call_is_silently_empty(server):
    # Worth knowing: LiteLLM does not raise when a "stream" answers 200 with a non-SSE body.
    server.enqueue(Fault("malformed_json"))
    assert await _call(server, stream=True) == ("", "", None)


@pytest.mark.parametrize("stream", [True, False], ids=["stream", "nostream"])
async def test_empty_completion_is_not_an_error(server, stream):
    server.enqueue(Fault("empty_completion"))
    text, _, error = await _call(server, stream)
    assert error is None and not text


async def test_slow_answers_fully_and_takes_its_time(server):
    import time

    server.enqueue(Fault("slow", delay_s=0.05))
    started = time.monotonic()
    assert await _call(server, stream=True) == (ECHO, "", None)
    assert time.monotonic() - started >= 0.05 * 6
