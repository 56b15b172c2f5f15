"""The official `openai` client, unmodified, against a real `vtai serve` / `vtai api` process.

Behind VT.ai: the fake OpenAI-compatible provider (OPENAI_API_KEY / OPENAI_BASE_URL), or the bundled local model.
"""

from __future__ import annotations

import asyncio
import subprocess
import time

import httpx
import openai
import pytest

from tests.e2e.conftest import VTAI, vtai_env
from vtai.testing import Fault, Text, ToolCalls, ToolCallSpec

pytestmark = pytest.mark.slow
WEATHER = {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                           "required": ["city"]}}}


@pytest.fixture
def served(start_vtai, fake_server):
    # No retries or fallbacks here: these tests check how the API reports upstream failures
    # (tests/reliability checks how they are retried and fallen back from).
    server = start_vtai(env={"OPENAI_API_KEY": "sk-test-openai-0000", "OPENAI_BASE_URL": fake_server.base_url,
                             "VTAI_MAX_RETRIES": "0", "VTAI_FALLBACK_TO_LOCAL": "false"})
    return server, fake_server


def test_sync_client_plain_streaming_and_errors(served):
    server, fake = served
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="not-needed-on-loopback", max_retries=0)

    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hello vtai"}], temperature=0.1)
    completion = raw.parse()
    assert completion.choices[0].message.content == "Echo: hello vtai"
    assert completion.model == raw.headers["x-vtai-model"] == "gpt-4o-mini"
    assert completion.usage.total_tokens > 0
    assert fake.requests_to("chat")[-1].json["temperature"] == 0.1

    fake.enqueue(Text("It is 4.", reasoning="two plus two"))
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "2+2?"}],
                                            stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    reasoning = "".join(getattr(c.choices[0].delta, "reasoning_content", None) or "" for c in chunks if c.choices)
    assert text == "It is 4." and reasoning == "two plus two"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0

    # Tokens arrive as the provider sends them (nothing in the combined app buffers the stream).
    fake.enqueue(Text("one two three four five", delay_s=0.3))
    start = time.monotonic()
    arrivals = [time.monotonic() - start for c in client.chat.completions.create(
        model="gpt-4o-mini", stream=True, messages=[{"role": "user", "content": "count"}])
        if c.choices and c.choices[0].delta.content]
    assert len(arrivals) == 5 and arrivals[-1] - arrivals[0] > 1.0

    spec = httpx.get(f"{server.url}/openapi.json").json()  # served next to the UI, documented there too
    assert {"/v1/chat/completions", "/v1/models", "/v1/embeddings", "/api/routes"} <= set(spec["paths"])

    models = {m.id for m in client.models.list()}
    assert {"vtai/auto", "gpt-4o-mini", "local/smollm2-135m"} <= models

    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError, match="n=1"):
        client.chat.completions.create(model="gpt-4o-mini", n=5, messages=[{"role": "user", "content": "x"}])
    fake.enqueue(Fault("status", status=503))
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    assert info.value.status_code == 502
    fake.enqueue(Fault("cut_mid_stream", after_tokens=2))
    with pytest.raises(openai.APIError):
        for _ in client.chat.completions.create(model="gpt-4o-mini", stream=True,
                                                messages=[{"role": "user", "content": "one two three four"}]):
            pass


def test_tools_auto_routing_and_embeddings(served):
    server, fake = served
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)

    fake.enqueue(ToolCalls([ToolCallSpec("get_weather", {"city": "Paris"}, id="call_9")]))
    first = client.chat.completions.create(model="gpt-4o-mini", tools=[WEATHER], tool_choice="auto",
                                           messages=[{"role": "user", "content": "Weather in Paris?"}])
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert (call.id, call.function.name, call.function.arguments) == ("call_9", "get_weather", '{"city": "Paris"}')
    assert fake.requests_to("chat")[-1].json["tools"] == [WEATHER]
    # The client runs the tool itself and sends the result back.
    messages = [{"role": "user", "content": "Weather in Paris?"},
                first.choices[0].message.model_dump(exclude_none=True),
                {"role": "tool", "tool_call_id": "call_9", "content": "18 C and sunny"}]
    fake.enqueue(Text("It is 18 C and sunny in Paris."))
    second = client.chat.completions.create(model="gpt-4o-mini", tools=[WEATHER], messages=messages)
    assert second.choices[0].message.content == "It is 18 C and sunny in Paris."
    sent = fake.requests_to("chat")[-1].json["messages"]
    assert sent[-1] == {"role": "tool", "tool_call_id": "call_9", "content": "18 C and sunny"}

    raw = client.chat.completions.with_raw_response.create(
        model="vtai/auto", messages=[{"role": "user", "content": "Write a Python function that reverses a string"}])
    assert raw.headers["x-vtai-route"] == "coding"
    assert raw.parse().model == raw.headers["x-vtai-model"] and raw.parse().vtai["route"] == "coding"

    raw = client.chat.completions.with_raw_response.create(
        model="vtai/auto", messages=[{"role": "user", "content": "Draw a picture of a red cat on a sofa"}])
    picture = raw.parse()
    assert raw.headers["x-vtai-route"] == "image-generation" and picture.model == raw.headers["x-vtai-model"]
    attachment = picture.vtai["attachments"][0]
    assert attachment["kind"] == "image" and attachment["data_url"].startswith("data:image/")
    assert fake.requests_to("images")

    vectors = client.embeddings.create(model="vtai/encoder", input=["a red car", "a red car", "tax law"])
    assert len(vectors.data) == 3 and len(vectors.data[0].embedding) == 384
    assert vectors.data[0].embedding == vectors.data[1].embedding != vectors.data[2].embedding


def test_async_client_streams(served):
    server, _ = served

    async def main() -> str:
        client = openai.AsyncOpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0)
        stream = await client.chat.completions.create(
            model="gpt-4o-mini", stream=True, messages=[{"role": "user", "content": "async hello"}])
        parts = [c.choices[0].delta.content or "" async for c in stream if c.choices]
        results = await asyncio.gather(*[client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"n{i}"}]) for i in range(5)])
        assert [r.choices[0].message.content for r in results] == [f"Echo: n{i}" for i in range(5)]
        await client.close()
        return "".join(parts)

    assert asyncio.run(main()) == "Echo: async hello"


def test_headless_api_with_keys(start_vtai, fake_server, vtai_home):
    env = {"OPENAI_API_KEY": "sk-test-openai-0000", "OPENAI_BASE_URL": fake_server.base_url, "VTAI_AUTH": "password"}
    created = subprocess.run([*VTAI, "api-keys", "create", "ci"], capture_output=True, text=True, timeout=120,
                             env=vtai_env(vtai_home, **env))
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert key.startswith("vtai-") and "not shown again" in created.stderr
    server = start_vtai("--no-routing", command="api", env=env)

    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=key, max_retries=0)
    answer = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "keyed"}])
    assert answer.choices[0].message.content == "Echo: keyed"
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{server.url}/v1", api_key="vtai-wrong", max_retries=0).models.list()

    listed = subprocess.run([*VTAI, "api-keys", "list"], capture_output=True, text=True, timeout=120,
                            env=vtai_env(vtai_home, **env))
    key_id = listed.stdout.split()[0]
    assert "ci" in listed.stdout and "active" in listed.stdout and key not in listed.stdout
    revoked = subprocess.run([*VTAI, "api-keys", "revoke", key_id], capture_output=True, text=True, timeout=120,
                             env=vtai_env(vtai_home, **env))
    assert revoked.returncode == 0, revoked.stderr
    time.sleep(5.5)  # verified keys are cached for 5 s
    with pytest.raises(openai.AuthenticationError):
        client.models.list()
    server.stop()  # SIGTERM: uvicorn drains, runs the lifespan shutdown, then re-raises the signal
    assert server.proc.returncode in (0, -15) and "Traceback" not in server.output(), server.output()


def test_real_local_model(start_vtai):
    server = start_vtai(env={"VTAI_DYNAMIC_ROUTING": "false"})
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0, timeout=240)
    answer = client.chat.completions.create(model="local", max_tokens=20,
                                            messages=[{"role": "user", "content": "What is 2+2?"}])
    assert answer.model == "local/smollm2-135m" and answer.choices[0].message.content.strip()
    stream = client.chat.completions.create(model="vtai/auto", max_tokens=20, stream=True,
                                            messages=[{"role": "user", "content": "Say hello."}])
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices).strip()
