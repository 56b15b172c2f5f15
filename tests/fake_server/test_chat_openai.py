"""Chat completions through the official `openai` client, sync and async."""

from __future__ import annotations

import json

import openai
import pytest

from vtai.testing import Text, ToolCalls, ToolCallSpec

USER = [{"role": "user", "content": "the quick brown fox"}]


@pytest.fixture
def client(server):
    with openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as c:
        yield c


def test_default_reply_streams_the_echo_word_by_word(server, client):
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    deltas = [c.choices[0].delta.content for c in stream if c.choices[0].delta.content]
    assert deltas == ["Echo: ", "the ", "quick ", "brown ", "fox"]
    assert server.requests[0].stream


def test_non_stream_completion_has_message_usage_and_finish_reason(client):
    r = client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert r.object == "chat.completion" and r.model == "gpt-4o-mini"
    assert r.choices[0].message.content == "Echo: the quick brown fox"
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.completion_tokens == 5 and r.usage.total_tokens == r.usage.prompt_tokens + 5


def test_include_usage_sends_a_final_usage_chunk(server, client):
    server.enqueue(Text("one two three", chunk_size=2))
    chunks = list(
        client.chat.completions.create(model="m", messages=USER, stream=True, stream_options={"include_usage": True})
    )
    assert [c.choices[0].delta.content for c in chunks if c.choices] == ["", "one two ", "three", None]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 3


def test_reasoning_streams_first_in_its_own_field(server, client):
    server.enqueue(Text("Four.", reasoning="Two plus two"))
    fields = []
    for chunk in client.chat.completions.create(model="m", messages=USER, stream=True):
        extra = chunk.choices[0].delta.model_extra or {}
        if extra.get("reasoning_content"):
            fields.append(("reasoning", extra["reasoning_content"]))
        if chunk.choices[0].delta.content:
            fields.append(("content", chunk.choices[0].delta.content))
    assert fields == [("reasoning", "Two "), ("reasoning", "plus "), ("reasoning", "two"), ("content", "Four.")]


def test_parallel_tool_calls_stream_like_openai(server, client):
    server.enqueue(
        ToolCalls([ToolCallSpec("get_weather", {"city": "Paris"}, id="call_1"), ToolCallSpec("now", {"tz": "UTC"})])
    )
    calls: dict[int, dict] = {}
    finish = None
    for chunk in client.chat.completions.create(model="m", messages=USER, stream=True, tools=[]):
        for tc in chunk.choices[0].delta.tool_calls or []:
            slot = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
            slot["id"] = slot["id"] or tc.id
            slot["name"] += tc.function.name or ""
            slot["arguments"] += tc.function.arguments or ""
        finish = chunk.choices[0].finish_reason or finish
    assert finish == "tool_calls"
    assert calls[0]["id"] == "call_1" and calls[1]["id"].startswith("call_")
    assert [(c["name"], json.loads(c["arguments"])) for c in calls.values()] == [
        ("get_weather", {"city": "Paris"}),
        ("now", {"tz": "UTC"}),
    ]


def test_image_parts_are_accepted_and_recorded(server, client):
    url = "data:image/png;base64,iVBORw0KGgo="
    content = [{"type": "text", "text": "what is this"}, {"type": "image_url", "image_url": {"url": url}}]
    r = client.chat.completions.create(model="m", messages=[{"role": "user", "content": content}])
    assert r.choices[0].message.content == "Echo: what is this"
    assert server.requests[0].images == [url]


async def test_async_client_streams_and_sees_status_errors(server):
    from vtai.testing import Fault

    server.enqueue(Fault("status", status=401))
    async with openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as client:
        with pytest.raises(openai.AuthenticationError) as info:
            await client.chat.completions.create(model="m", messages=USER)
        assert info.value.status_code == 401
        stream = await client.chat.completions.create(model="m", messages=USER, stream=True)
        text = "".join([c.choices[0].delta.content or "" async for c in stream])
    assert text == "Echo: the quick brown fox"
