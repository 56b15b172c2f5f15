"""Every provider path over real HTTP (LiteLLM → loopback fake OpenAI-compatible server)."""

import json

import pytest
from click.testing import CliRunner

from vtai.cli import main
from vtai.engine import ChatOptions, Engine
from vtai.events import Done, Error, ReasoningDelta, TextDelta, ToolCall, Usage
from vtai.llm.catalogue import load_catalogue
from vtai.llm.litellm_adapter import LiteLLMClient
from vtai.messages import Conversation, Message
from vtai.settings import load_settings
from vtai.testing import Fault, Text, ToolCalls, ToolCallSpec

# provider -> (key var, base var, model id, whether spoken to via the OpenAI protocol)
PROVIDERS = {
    "openai": ("OPENAI_API_KEY", "OPENAI_BASE_URL", "gpt-4o-mini", False),
    "groq": ("GROQ_API_KEY", "GROQ_API_BASE", "groq/llama-3.3-70b-versatile", False),
    "mistral": ("MISTRAL_API_KEY", "MISTRAL_API_BASE", "mistral-small-latest", False),
    "deepseek": ("DEEPSEEK_API_KEY", "DEEPSEEK_API_BASE", "deepseek-chat", False),
    "openrouter": ("OPENROUTER_API_KEY", "OPENROUTER_API_BASE", "openrouter/qwen3-coder", False),
    "anthropic": ("ANTHROPIC_API_KEY", "ANTHROPIC_API_BASE", "claude-haiku-4-5", True),
    "gemini": ("GEMINI_API_KEY", "GEMINI_API_BASE", "gemini-2.5-flash", True),
    "cohere": ("COHERE_API_KEY", "COHERE_API_BASE", "command-a-03-2025", True),
    "compatible": ("VTAI_COMPATIBLE_API_KEY", "VTAI_COMPATIBLE_API_BASE", "my-model", False),
}


async def run_turn(settings, model, text="hello wire", options=None):
    engine = Engine(settings, load_catalogue(settings.home), LiteLLMClient(settings))
    conv = Conversation()
    opts = options or ChatOptions(model=model, dynamic_routing=False)
    return [e async for e in engine.respond(conv, Message.text("user", text), opts)], conv


@pytest.mark.parametrize("provider", list(PROVIDERS))
async def test_provider_streams_over_http(provider, fake_server, monkeypatch, vtai_home):
    key_var, base_var, model, compat = PROVIDERS[provider]
    secret = f"sk-{provider}-secret-123456"
    monkeypatch.setenv(key_var, secret)
    monkeypatch.setenv(base_var, fake_server.base_url)
    if compat:
        monkeypatch.setenv("VTAI_OPENAI_COMPATIBLE", json.dumps([provider]))
    if provider == "compatible":
        vtai_home.mkdir(parents=True, exist_ok=True)
        (vtai_home / "models.yaml").write_text(
            "models:\n  - {id: my-model, provider: compatible, name: qwen-test, capabilities: [chat]}\n")
    fake_server.enqueue(Text(f"Hi from {provider}", chunk_size=3))
    events, conv = await run_turn(load_settings(), model)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == f"Hi from {provider}", events
    assert isinstance(events[-1], Done) and not events[-1].interrupted
    req = fake_server.requests_to("chat")[-1]
    assert req.json["stream"] is True
    assert req.json["messages"][-1]["content"] == "hello wire"
    assert secret in req.headers.get("authorization", "")
    assert conv.messages[-1].content == f"Hi from {provider}"


async def test_usage_reasoning_and_parallel_tool_calls(provider_env):
    provider_env.enqueue(Text("Final.", reasoning="Thinking hard."))
    events, _ = await run_turn(load_settings(), "o4-mini", options=ChatOptions(model="o4-mini", dynamic_routing=False,
                                                                            reasoning_effort="high"))
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "Thinking hard."
    usage = next(e for e in events if isinstance(e, Usage))
    assert usage.completion_tokens > 0 and usage.cost_usd is not None and usage.cost_usd > 0
    assert provider_env.requests_to("chat")[-1].json.get("reasoning_effort") == "high"

    settings = load_settings()
    client = LiteLLMClient(settings)
    provider_env.enqueue(ToolCalls([ToolCallSpec("get_weather", {"city": "Paris"}),
                                    ToolCallSpec("get_time", {"tz": "CET"})]))
    from vtai.llm.types import ChatRequest

    model = load_catalogue().get("gpt-4o-mini")
    tools = [{"type": "function", "function": {"name": n, "parameters": {"type": "object", "properties": {}}}}
             for n in ("get_weather", "get_time")]
    out = [e async for e in client.stream(ChatRequest(model, [{"role": "user", "content": "x"}], tools=tools))]
    calls = [e for e in out if isinstance(e, ToolCall)]
    assert [(c.name, c.arguments) for c in calls] == [("get_weather", {"city": "Paris"}), ("get_time", {"tz": "CET"})]
    assert out[-1].finish_reason == "tool_calls"


async def test_provider_error_is_clear_and_key_never_shown(provider_env):
    provider_env.enqueue(Fault("status", status=401, message="Incorrect API key provided: sk-test-openai-0000"))
    events, conv = await run_turn(load_settings(), "gpt-4o-mini")
    err = next(e for e in events if isinstance(e, Error))
    assert err.status == 401
    assert "sk-test-openai-0000" not in err.message
    assert conv.messages[0].content == "hello wire"


def test_cli_chat_over_the_wire(provider_env):
    provider_env.enqueue(Text("Four.", chunk_size=2))
    result = CliRunner().invoke(main, ["chat", "--model", "gpt-4o-mini", "--system", "Be terse.", "What is 2+2?"])
    assert result.exit_code == 0, result.output
    assert "Four." in result.output
    body = provider_env.requests_to("chat")[-1].json
    assert body["messages"][0] == {"role": "system", "content": "Be terse."}
    assert body["model"] == "gpt-4o-mini"


def test_cli_chat_api_key_flag(fake_server, monkeypatch, vtai_home):
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    result = CliRunner().invoke(main, ["chat", "-m", "gpt-4o-mini", "--api-key", "openai=sk-flag-12345678", "hi"])
    assert result.exit_code == 0, result.output
    assert "sk-flag-12345678" in fake_server.requests_to("chat")[-1].headers["authorization"]
    assert not (vtai_home / ".env").exists() or "sk-flag" not in (vtai_home / ".env").read_text()


def test_cli_chat_unknown_model_and_missing_key():
    runner = CliRunner()
    result = runner.invoke(main, ["chat", "-m", "gpt-4o-mnii", "hi"])
    assert result.exit_code == 1 and "Did you mean:" in result.output and "gpt-4o-mini," in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(main, ["chat", "-m", "claude-sonnet-4-5", "hi"])
    assert result.exit_code == 1 and "vtai keys set anthropic" in result.output


def test_cli_interactive_keeps_history_and_exits_on_eof(provider_env):
    provider_env.enqueue(Text("Nice to meet you, Ann."))
    provider_env.enqueue(Text("Your name is Ann."))
    result = CliRunner().invoke(main, ["chat", "-m", "gpt-4o-mini"], input="I am Ann\nWhat is my name?\n")
    assert result.exit_code == 0, result.output
    assert "Nice to meet you, Ann." in result.output and "Your name is Ann." in result.output
    second = provider_env.requests_to("chat")[-1].json["messages"]
    assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
    assert second[1]["content"] == "I am Ann"


def test_router_litellm_encoder_over_http(provider_env, vtai_home, monkeypatch):
    import numpy as np

    from vtai.keys import KeyStore
    from vtai.routing import make_encoder

    # A key saved with `vtai keys set` (not in the environment) is used too.
    provider_env_key = "sk-stored-embed-1234"
    KeyStore(vtai_home).set("openai", provider_env_key)
    monkeypatch.delenv("OPENAI_API_KEY")
    enc = make_encoder("litellm:text-embedding-3-small")
    vectors = enc.embed(["hello", "world"])
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    req = provider_env.requests_to("embeddings")[-1]
    assert req.json["input"] == ["hello", "world"]
    assert provider_env_key in req.headers["authorization"]


def test_cli_chats_are_stored_and_continued_with_thread(provider_env, vtai_home):
    import re

    runner = CliRunner()
    provider_env.enqueue(Text("Noted: your cat is Miso."))
    first = runner.invoke(main, ["chat", "-m", "gpt-4o-mini", "My cat is called Miso"])
    assert first.exit_code == 0, first.output
    thread_id = re.search(r"vtai chat --thread (\S+)`", first.output).group(1)

    listed = runner.invoke(main, ["threads", "list"])
    assert "My cat is called Miso" in listed.output

    provider_env.enqueue(Text("Your cat is Miso."))
    second = runner.invoke(main, ["chat", "-m", "gpt-4o-mini", "--thread", thread_id, "What is my cat called?"])
    assert second.exit_code == 0, second.output
    sent = provider_env.requests_to("chat")[-1].json["messages"]
    assert [m["content"] for m in sent if m["role"] != "system"] == [
        "My cat is called Miso", "Noted: your cat is Miso.", "What is my cat called?"]
    shown = runner.invoke(main, ["threads", "show", thread_id])
    assert "Your cat is Miso." in shown.output

    missing = runner.invoke(main, ["chat", "--thread", "nope", "hi"])
    assert missing.exit_code == 1 and "No thread 'nope'" in missing.output


async def test_per_request_fallbacks_through_the_reliable_runtime(provider_env, monkeypatch):
    from vtai.app import build_runtime
    from vtai.events import ModelChosen

    monkeypatch.setenv("VTAI_RETRY_BASE_DELAY", "0.01")
    monkeypatch.setenv("VTAI_FALLBACK_TO_LOCAL", "false")
    provider_env.set_behaviour("gpt-4o-mini", Fault("status", status=500))
    provider_env.set_behaviour("gpt-4o", Text("Answer from the fallback."))
    runtime = build_runtime(load_settings(), with_router=False)
    try:
        opts = ChatOptions(model="gpt-4o-mini", dynamic_routing=False, extra={"fallbacks": ["gpt-4o"]})
        conv = Conversation()
        events = [e async for e in runtime.engine.respond(conv, Message.text("user", "hi"), opts)]
    finally:
        await runtime.aclose()
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Answer from the fallback."
    assert any(isinstance(e, ModelChosen) and e.model == "gpt-4o" for e in events)
    assert {r.json["model"] for r in provider_env.requests_to("chat")} == {"gpt-4o-mini", "gpt-4o"}
    assert conv.messages[-1].content == "Answer from the fallback."


async def test_partial_answer_stays_in_memory_when_the_provider_fails(provider_env, monkeypatch):
    from vtai.app import build_runtime

    monkeypatch.setenv("VTAI_MAX_RETRIES", "0")
    monkeypatch.setenv("VTAI_FALLBACK_TO_LOCAL", "false")
    provider_env.enqueue(Fault("cut_mid_stream", after_tokens=3))
    runtime = build_runtime(load_settings(), with_router=False)
    try:
        conv = Conversation()
        opts = ChatOptions(model="gpt-4o-mini", dynamic_routing=False)
        events = [e async for e in runtime.engine.respond(conv, Message.text("user", "one two three four"), opts)]
    finally:
        await runtime.aclose()
    partial = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert partial and any(isinstance(e, Error) for e in events)
    assert [m.role for m in conv.messages] == ["user", "assistant"] and conv.messages[1].content == partial
