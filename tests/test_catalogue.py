import json

import pytest
from click.testing import CliRunner

from vtai.cli import main
from vtai.errors import UnknownModelError, UserError
from vtai.llm.catalogue import availability, default_chat_model, load_catalogue
from vtai.settings import PROVIDERS, load_settings


def test_catalogue_is_broad_and_consistent():
    cat = load_catalogue()
    models = list(cat)
    assert len(models) >= 40
    providers = {m.provider for m in models}
    for p in ["openai", "anthropic", "gemini", "groq", "mistral", "deepseek", "cohere", "openrouter", "ollama",
              "lmstudio", "local"]:
        assert p in providers
    for cap in ["vision", "reasoning", "tools", "image_generation", "speech", "transcription", "embeddings"]:
        assert cat.with_capability(cap), cap
    assert all(m.provider in PROVIDERS for m in models)


def test_aliases_and_close_matches():
    cat = load_catalogue()
    assert cat.get("sonnet").id == "claude-sonnet-4-5"
    assert cat.get("LOCAL").id == "local/smollm2-135m"
    with pytest.raises(UnknownModelError) as exc:
        cat.get("gpt-4o-mnii")
    assert "gpt-4o-mini" in exc.value.suggestions
    assert "vtai models" in str(exc.value)


def test_user_models_file_overrides_and_adds(vtai_home):
    vtai_home.mkdir(parents=True)
    (vtai_home / "models.yaml").write_text(
        "models:\n"
        "  - {id: my-vllm, provider: compatible, name: qwen2, capabilities: [chat, tools], context: 32000}\n"
        "  - {id: gpt-4o, context: 64000}\n"
        "  - {id: dall-e-3, disabled: true}\n"
    )
    cat = load_catalogue(vtai_home)
    assert cat.get("my-vllm").context == 32000
    assert cat.get("gpt-4o").context == 64000 and cat.get("gpt-4o").can("vision")
    assert cat.find("dall-e-3") is None


def test_bad_user_models_file_names_the_problem(vtai_home):
    vtai_home.mkdir(parents=True)
    (vtai_home / "models.yaml").write_text("models:\n  - {id: x, provider: nope}\n")
    with pytest.raises(UserError, match="unknown provider 'nope'"):
        load_catalogue(vtai_home)


def test_default_model_local_without_keys_provider_with_key():
    cat = load_catalogue()
    assert default_chat_model(cat, load_settings()).id == "local/smollm2-135m"
    s = load_settings(api_keys={"openai": "sk-test-123456789"})
    assert default_chat_model(cat, s).id == "gpt-4o-mini"
    hint = "run `vtai keys set anthropic` (or set ANTHROPIC_API_KEY)"
    assert availability(cat.get("claude-sonnet-4-5"), s) == (False, hint)


def test_models_command_json_and_hints(monkeypatch):
    monkeypatch.setenv("GROQ_API_KEY", "gsk_test_1234567890")
    runner = CliRunner()
    rows = json.loads(runner.invoke(main, ["models", "--json"]).output)
    by_id = {r["id"]: r for r in rows}
    assert by_id["groq/llama-3.3-70b-versatile"]["available"] is True
    assert by_id["gpt-4o"]["available"] is False and "vtai keys set openai" in by_id["gpt-4o"]["hint"]
    text = runner.invoke(main, ["models"]).output
    assert "To enable more models" in text and "openai: run `vtai keys set openai`" in text
