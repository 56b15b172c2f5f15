"""Settings: the only reader of ``os.environ`` in VT.ai.

Layers, highest first: explicit overrides (CLI flags) > ``VTAI_*`` / provider env vars > ``$VTAI_HOME/.env`` >
defaults. ``VTAI_HOME`` (default ``~/.config/vtai``) holds everything VT.ai writes, so tests point it at a temp folder.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    key_env: str | None
    base_env: tuple[str, ...] = ()
    litellm_prefix: str = ""
    needs_key: bool = True
    default_base: str | None = None


# One row per provider. Adding a provider is one row here plus its models in the catalogue.
PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in [
        Provider("openai", "OPENAI_API_KEY", ("OPENAI_BASE_URL", "OPENAI_API_BASE"), "openai"),
        Provider("anthropic", "ANTHROPIC_API_KEY", ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_BASE"), "anthropic"),
        Provider("gemini", "GEMINI_API_KEY", ("GEMINI_API_BASE",), "gemini"),
        Provider("groq", "GROQ_API_KEY", ("GROQ_API_BASE",), "groq"),
        Provider("mistral", "MISTRAL_API_KEY", ("MISTRAL_API_BASE",), "mistral"),
        Provider("deepseek", "DEEPSEEK_API_KEY", ("DEEPSEEK_API_BASE",), "deepseek"),
        Provider("cohere", "COHERE_API_KEY", ("COHERE_API_BASE",), "cohere_chat"),
        Provider("openrouter", "OPENROUTER_API_KEY", ("OPENROUTER_API_BASE",), "openrouter"),
        Provider("ollama", None, ("OLLAMA_API_BASE",), "ollama_chat", needs_key=False,
                 default_base="http://127.0.0.1:11434"),
        Provider("lmstudio", None, ("LM_STUDIO_API_BASE",), "lm_studio", needs_key=False,
                 default_base="http://127.0.0.1:1234/v1"),
        # Any OpenAI-compatible server (vLLM, a proxy, a test server).
        Provider("compatible", "VTAI_COMPATIBLE_API_KEY", ("VTAI_COMPATIBLE_API_BASE",), "openai",
                 needs_key=False),
        Provider("local", None, (), "openai", needs_key=False),
    ]
}
SEARCH_KEYS = {"tavily": "TAVILY_API_KEY"}


def process_env() -> dict[str, str]:
    """A copy of the process environment, for the few callers that must show where a value came from."""
    return dict(os.environ)


def default_home() -> Path:
    return Path(os.environ.get("VTAI_HOME") or Path.home() / ".config" / "vtai").expanduser()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VTAI_", extra="ignore", populate_by_name=True)

    home: Path = Field(default_factory=default_home)
    # Model used when routing is off or a route has no usable preferred model. Empty: local model
    # when no provider key is set, else ``provider_default_model``.
    model: str = ""
    provider_default_model: str = "gpt-4o-mini"
    system_prompt: str = "You are VT.ai, a helpful, concise assistant."
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int | None = None
    dynamic_routing: bool = True
    encoder: str = "fastembed:minilm"
    thinking: bool = False
    reasoning_effort: Literal["low", "medium", "high"] = "medium"

    # Local model (llama.cpp server).
    local_model: str = ""  # path to a GGUF file; empty: the bundled SmolLM2-135M-Instruct
    local_context: int = 2048
    local_threads: int = 0  # 0: llama.cpp decides
    local_start_timeout: float = 120.0
    local_enabled: bool = True

    # Timeouts and reliability.
    connect_timeout: float = 10.0
    first_token_timeout: float = 60.0
    stall_timeout: float = 30.0
    request_deadline: float = 180.0
    max_retries: int = 2
    retry_base_delay: float = 0.5
    retry_max_delay: float = 8.0
    breaker_threshold: int = 3
    breaker_cooldown: float = 60.0
    fallback_to_local: bool = True
    # Providers to speak the OpenAI protocol to at their overridden base URL (Anthropic, Gemini and Cohere offer
    # OpenAI-compatible endpoints; proxies and the test server do too).
    openai_compatible: list[str] = Field(default_factory=list)

    # Web server.
    host: str = "127.0.0.1"
    port: int = 8000
    cors_origins: list[str] = Field(default_factory=list)

    # HTTP API (see docs/api.md).
    api_rate_limit: int = 60  # requests per minute per API key; 0 turns it off
    api_max_body_mb: float = 8.0
    api_store_threads: bool = False  # store every API request as a thread (or send `x-vtai-store: 1`)

    # Persistence and auth.
    database_url: str = ""  # empty: sqlite file under home
    auth: Literal["none", "password", "header"] = "none"
    auth_header: str = "X-Forwarded-User"

    # Code interpreter sandbox (see docs/sandbox.md).
    sandbox_backend: str = "bwrap"
    sandbox_allow_unsafe: bool = False
    sandbox_timeout_s: float = 30.0
    sandbox_memory_mb: int = 1024
    sandbox_max_procs: int = 64
    sandbox_idle_minutes: float = 15.0

    # Tools and web search (see docs/tools.md).
    tool_max_iterations: int = 8
    search_provider: Literal["auto", "tavily", "searxng", "duckduckgo"] = "auto"
    search_results: int = 5
    search_timeout: float = 10.0
    searxng_url: str = ""
    tavily_url: str = "https://api.tavily.com"
    duckduckgo_url: str = "https://html.duckduckgo.com"
    fetch_timeout: float = 15.0
    fetch_max_bytes: int = 5_242_880
    fetch_max_chars: int = 20_000
    fetch_allow_loopback: bool = False  # tests only: lets fetch_url reach 127.0.0.1

    # Uploads and media (see docs/media.md).
    max_file_mb: float = 20.0
    max_files_per_message: int = 10
    max_total_mb: float = 50.0
    max_document_chars: int = 48_000
    max_unzipped_mb: float = 200.0
    max_zip_ratio: float = 200.0
    max_image_pixels: int = 40_000_000
    allow_private_urls: bool = False  # image links / fetch_url to private addresses (tests use loopback)
    max_speech_chars: int = 20_000
    speech_voice: str = "alloy"
    speech_model: str = ""  # empty: first usable speech model, else the offline voice
    transcription_model: str = ""  # empty: first usable transcription model, else offline whisper
    max_audio_seconds: float = 1800.0

    # Filled from env/.env by load_settings(); never persisted by Settings.
    api_keys: dict[str, SecretStr] = Field(default_factory=dict, exclude=True)
    api_bases: dict[str, str] = Field(default_factory=dict)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.home / 'vtai.db'}"

    def key_for(self, provider: str) -> str | None:
        secret = self.api_keys.get(provider)
        return secret.get_secret_value() if secret else None

    def base_for(self, provider: str) -> str | None:
        return self.api_bases.get(provider) or PROVIDERS[provider].default_base

    def has_key(self, provider: str) -> bool:
        prov = PROVIDERS.get(provider)
        if prov is None:
            return False
        if not prov.needs_key:
            return provider in ("local",) or bool(self.api_bases.get(provider))
        return bool(self.key_for(provider))


def _env_layers(home: Path) -> dict[str, str]:
    """``$VTAI_HOME/.env`` values overlaid by the process environment."""
    merged: dict[str, str] = {}
    env_file = home / ".env"
    if env_file.is_file():
        merged.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    merged.update(os.environ)
    return merged


def _is_list(annotation: Any) -> bool:
    return getattr(annotation, "__origin__", None) is list


def _parse_list(value: Any) -> Any:
    """``'["a","b"]'`` or ``'a, b'`` → ``['a', 'b']``."""
    if not isinstance(value, str):
        return value
    value = value.strip()
    if value.startswith("["):
        return json.loads(value)
    return [v.strip() for v in value.split(",") if v.strip()]


def load_settings(api_keys: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """Build settings from all layers. ``overrides`` are CLI flags (``None`` values are ignored);
    ``api_keys`` are ``--api-key provider=key`` values (used for this run, never persisted)."""
    overrides = {k: v for k, v in overrides.items() if v is not None}
    home = Path(overrides.get("home") or default_home()).expanduser()
    env = _env_layers(home)
    file_values = {
        k[len("VTAI_"):].lower(): v for k, v in env.items() if k.startswith("VTAI_") and k != "VTAI_HOME"
    }
    fields = Settings.model_fields
    init = {k: _parse_list(v) if _is_list(fields[k].annotation) else v
            for k, v in file_values.items() if k in fields and k not in ("api_keys", "api_bases")}
    init.update(overrides)
    init["home"] = home
    keys: dict[str, str] = {}
    bases: dict[str, str] = {}
    for name, prov in PROVIDERS.items():
        if prov.key_env and env.get(prov.key_env):
            keys[name] = env[prov.key_env]
        for var in prov.base_env:
            if env.get(var):
                bases[name] = env[var]
                break
    for name, var in SEARCH_KEYS.items():
        if env.get(var):
            keys[name] = env[var]
    keys.update(api_keys or {})
    init["api_keys"] = {k: SecretStr(v) for k, v in keys.items()}
    init["api_bases"] = {**bases, **(overrides.get("api_bases") or {})}
    # Validation only (pydantic parses "true"/"0.5"/JSON lists); env already merged above.
    return Settings.model_validate(init)
