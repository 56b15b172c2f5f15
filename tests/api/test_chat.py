"""/v1/chat/completions in-process over FakeLLM: streaming and not, routing, tools, images, errors."""

from __future__ import annotations

import base64
import io

import httpx
import pytest

from tests.api.conftest import make_app, sse_events
from vtai.errors import ProviderError
from vtai.events import ReasoningDelta, TextDelta, ToolCall

USER = [{"role": "user", "content": "hello there"}]
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                            "parameters": {"type": "object",
                                                           "properties": {"city": {"type": "string"}},
                                                           "required": ["city"]}}}
def _png() -> str:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


PNG = _png()


def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://vtai")


@pytest.fixture
def openai_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai-0000")


async def test_completion_reports_model_and_usage(api):
    client, _, llm = api
    r = await client.post("/v1/chat/completions", json={"model": "local", "messages": USER, "temperature": 0.2,
                                                        "max_tokens": 50, "user": "ignored-extra-field"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "Echo: hello there"}
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["model"] == "local/smollm2-135m" == r.headers["x-vtai-model"]
    assert r.headers["x-vtai-route"] == "none" and body["vtai"]["route"] is None
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"] > 0
    request = llm.requests[-1]
    assert request.temperature == 0.2 and request.max_tokens == 50


async def test_system_messages_and_history_reach_the_model(api):
    client, _, llm = api
    messages = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "one"},
                {"role": "assistant", "content": "uno"}, {"role": "developer", "content": "Answer in French."},
                {"role": "user", "content": [{"type": "text", "text": "two"}]}]
    r = await client.post("/v1/chat/completions", json={"model": "local", "messages": messages})
    assert r.status_code == 200
    sent = llm.requests[-1].messages
    assert sent[0] == {"role": "system", "content": "Be terse.\n\nAnswer in French."}
    assert [(m["role"], m["content"]) for m in sent[1:]] == [("user", "one"), ("assistant", "uno"), ("user", "two")]


async def test_stream_chunks_reasoning_usage_and_done(api):
    client, _, llm = api
    llm.enqueue([ReasoningDelta("think "), ReasoningDelta("hard"), TextDelta("42")])
    r = await client.post("/v1/chat/completions", json={
        "model": "local", "messages": USER, "stream": True, "stream_options": {"include_usage": True}})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert r.headers["x-vtai-model"] == "local/smollm2-135m"
    events = sse_events(r.text)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" and c["id"] == chunks[0]["id"] for c in chunks)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant" and chunks[0]["vtai"]["model"]
    deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
    assert "".join(d.get("reasoning_content", "") for d in deltas) == "think hard"
    assert "".join(d.get("content", "") for d in deltas) == "42"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0


async def test_stream_without_include_usage_has_no_usage_chunk(api):
    client, _, _ = api
    r = await client.post("/v1/chat/completions", json={"model": "local", "messages": USER, "stream": True})
    chunks = sse_events(r.text)[:-1]
    assert all("usage" not in c for c in chunks) and chunks[-1]["choices"][0]["finish_reason"] == "stop"


async def test_auto_routes_and_reports_route(openai_key):
    app, _, llm = make_app(routing=True)
    async with client_for(app) as client:
        r = await client.post("/v1/chat/completions", json={
            "model": "vtai/auto", "messages": [{"role": "user", "content": "write a python function to sort a list"}]})
        assert r.status_code == 200, r.text
        body = r.json()
        assert r.headers["x-vtai-route"] == body["vtai"]["route"] == "coding"
        assert r.headers["x-vtai-model"] == body["model"] == llm.requests[-1].model.id
        assert body["vtai"]["score"] is not None and body["vtai"]["handler"] == "chat"


async def test_named_model_turns_routing_off(openai_key):
    app, _, llm = make_app(routing=True)
    async with client_for(app) as client:
        r = await client.post("/v1/chat/completions", json={
            "model": "4o-mini", "messages": [{"role": "user", "content": "write a python function"}]})
        assert r.headers["x-vtai-route"] == "none" and r.json()["model"] == "gpt-4o-mini"
        assert llm.requests[-1].model.id == "gpt-4o-mini"


async def test_tools_pass_through_and_tool_calls_come_back(openai_key):
    app, _, llm = make_app()
    llm.enqueue([ToolCall("call_1", "get_weather", {"city": "Paris"})])
    async with client_for(app) as client:
        r = await client.post("/v1/chat/completions", json={
            "model": "gpt-4o-mini", "messages": [{"role": "user", "content": "weather in Paris?"}],
            "tools": [WEATHER], "tool_choice": "auto", "seed": 7})
        assert r.status_code == 200, r.text
        choice = r.json()["choices"][0]
        assert choice["finish_reason"] == "tool_calls" and choice["message"]["content"] is None
        assert choice["message"]["tool_calls"] == [{"id": "call_1", "type": "function", "function": {
            "name": "get_weather", "arguments": '{"city": "Paris"}'}}]
        sent = llm.requests[-1]
        assert sent.tools == [WEATHER] and sent.tool_choice == "auto" and sent.extra == {"seed": 7}
        assert sent.messages == [{"role": "user", "content": "weather in Paris?"}]  # exactly the client's

        # The client ran its tool and sends the result back: the whole exchange goes through unchanged.
        follow = [{"role": "user", "content": "weather in Paris?"},
                  {"role": "assistant", "content": None, "tool_calls": choice["message"]["tool_calls"]},
                  {"role": "tool", "tool_call_id": "call_1", "content": "18 C, sunny"}]
        r = await client.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": follow,
                                                            "tools": [WEATHER]})
        assert r.status_code == 200
        assert llm.requests[-1].messages[1]["tool_calls"][0]["id"] == "call_1"
        assert llm.requests[-1].messages[2] == {"role": "tool", "tool_call_id": "call_1", "content": "18 C, sunny"}


async def test_streamed_tool_calls(openai_key):
    app, _, llm = make_app()
    llm.enqueue([ToolCall("c1", "get_weather", {"city": "Oslo"}), ToolCall("c2", "get_weather", {"city": "Rome"})])
    async with client_for(app) as client:
        r = await client.post("/v1/chat/completions", json={
            "model": "gpt-4o-mini", "messages": USER, "tools": [WEATHER], "stream": True})
        chunks = sse_events(r.text)[:-1]
        calls = [tc for c in chunks if c["choices"] for tc in c["choices"][0]["delta"].get("tool_calls", [])]
        assert [(c["index"], c["id"], c["function"]["name"]) for c in calls] == [
            (0, "c1", "get_weather"), (1, "c2", "get_weather")]
        assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"


async def test_auto_with_tools_picks_a_tool_capable_model(openai_key):
    app, _, llm = make_app(routing=True)
    async with client_for(app) as client:
        r = await client.post("/v1/chat/completions", json={
            "model": "vtai/auto", "messages": [{"role": "user", "content": "hi, how are you?"}], "tools": [WEATHER]})
        assert r.status_code == 200, r.text
        assert llm.requests[-1].model.can("tools") and r.headers["x-vtai-route"] != "none"


async def test_response_format_and_stop_pass_through(openai_key):
    app, _, llm = make_app()
    async with client_for(app) as client:
        fmt = {"type": "json_schema", "json_schema": {"name": "answer", "schema": {"type": "object"}}}
        r = await client.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": USER,
                                                            "response_format": fmt, "stop": "END"})
        assert r.status_code == 200
        assert llm.requests[-1].response_format == fmt and llm.requests[-1].stop == ["END"]


async def test_image_parts_reach_a_vision_model(openai_key):
    app, _, llm = make_app()
    content = [{"type": "text", "text": "what is this?"},
               {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]
    async with client_for(app) as client:
        r = await client.post("/v1/chat/completions", json={"model": "gpt-4o-mini",
                                                            "messages": [{"role": "user", "content": content}]})
        assert r.status_code == 200, r.text
        parts = llm.requests[-1].messages[-1]["content"]
        assert parts[1]["image_url"]["url"] == f"data:image/png;base64,{PNG}"
        r = await client.post("/v1/chat/completions", json={"model": "local",
                                                            "messages": [{"role": "user", "content": content}]})
        assert r.status_code == 400 and r.json()["error"]["code"] == "model_no_vision"


@pytest.mark.parametrize(("payload", "status", "needle"), [
    ({"model": "local"}, 400, "Missing required parameter: 'messages'"),
    ({"model": "local", "messages": []}, 400, "messages"),
    ({"model": "local", "messages": [{"role": "wizard", "content": "x"}]}, 400, "messages.0"),
    ({"model": "local", "messages": [{"role": "tool", "content": "x"}]}, 400, "tool_call_id"),
    ({"model": "local", "messages": USER, "n": 5}, 400, "Only n=1"),
    ({"model": "gpt-4o-mnii", "messages": USER}, 404, "Did you mean"),
    ({"model": "claude-sonnet-4-5", "messages": USER}, 404, "vtai keys set anthropic"),
    ({"model": "dall-e-3", "messages": USER}, 400, "not a chat model"),
    ({"model": "local", "messages": USER, "tools": [{"type": "function", "function": {"name": "bad name"}}]},
     400, "tools.0.function.name"),
    ({"model": "local", "messages": USER, "tools": [
        {"type": "function", "function": {"name": "f", "parameters": {"type": "string"}}}]}, 400, "type 'object'"),
    ({"model": "local", "messages": USER, "tools": [WEATHER],
      "tool_choice": {"type": "function", "function": {"name": "other"}}}, 400, "not in 'tools'"),
    ({"model": "local", "messages": USER, "tools": [WEATHER]}, 400, "does not support tools"),
    ({"model": "local", "messages": USER, "temperature": 9}, 400, "temperature"),
    ({"model": "local", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}]}]}, 400, "base64"),
])
async def test_bad_requests_get_openai_errors(api, payload, status, needle):
    client, _, llm = api
    r = await client.post("/v1/chat/completions", json=payload)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert needle in error["message"] or needle == error.get("param"), error
    assert set(error) == {"message", "type", "param", "code"} and "Traceback" not in r.text
    assert llm.requests == []


async def test_malformed_json_and_wrong_content_type(api):
    client, _, _ = api
    r = await client.post("/v1/chat/completions", content=b'{"model": "local", "messages": [',
                          headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    r = await client.post("/v1/chat/completions", content=b"hello", headers={"content-type": "text/plain"})
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_request_error"


async def test_ten_megabyte_body_is_refused_before_parsing(api):
    client, _, llm = api
    big = "x" * (10 * 1024 * 1024)
    r = await client.post("/v1/chat/completions", json={"model": "local", "messages": [
        {"role": "user", "content": big}]})
    assert r.status_code == 413 and r.json()["error"]["code"] == "request_too_large"

    async def chunked():  # no Content-Length: counted while reading
        yield b'{"model": "local", "messages": [{"role": "user", "content": "'
        for _ in range(10):
            yield b"y" * (1024 * 1024)
        yield b'"}]}'

    r = await client.post("/v1/chat/completions", content=chunked(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and llm.requests == []


@pytest.mark.parametrize(("status", "expected"), [(503, 502), (500, 502), (429, 429), (408, 504), (None, 502)])
async def test_upstream_failures_map_to_gateway_errors(api, status, expected):
    client, _, llm = api
    llm.enqueue(ProviderError("local/smollm2-135m: upstream broke", status=status))
    r = await client.post("/v1/chat/completions", json={"model": "local", "messages": USER})
    assert r.status_code == expected and "upstream broke" in r.json()["error"]["message"]
    llm.enqueue(ProviderError("upstream broke", status=status))
    r = await client.post("/v1/chat/completions", json={"model": "local", "messages": USER, "stream": True})
    assert r.status_code == expected and r.headers["content-type"] == "application/json"


async def test_failure_mid_stream_is_an_error_event(api):
    client, _, llm = api
    llm.enqueue([TextDelta("partial "), ProviderError("connection cut", status=500)])
    r = await client.post("/v1/chat/completions", json={"model": "local", "messages": USER, "stream": True})
    assert r.status_code == 200
    events = sse_events(r.text)
    assert events[1]["choices"][0]["delta"]["content"] == "partial "
    error = next(e for e in events if isinstance(e, dict) and "error" in e)
    assert error["error"]["type"] == "upstream_error" and "connection cut" in error["error"]["message"]
    assert events[-1] == "[DONE]"
    assert not any(isinstance(e, dict) and e.get("choices") and e["choices"][0]["finish_reason"] for e in events)
    # Not streamed: the partial answer is not passed off as complete.
    llm.enqueue([TextDelta("partial "), ProviderError("connection cut", status=500)])
    r = await client.post("/v1/chat/completions", json={"model": "local", "messages": USER})
    assert r.status_code == 502
