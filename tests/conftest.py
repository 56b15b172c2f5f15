"""Shared fixtures. Every test gets its own VTAI_HOME, no provider keys from the machine, and no network
beyond loopback (in-process)."""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from pathlib import Path

import pytest

PROVIDER_VARS = [
    "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GROQ_API_KEY", "MISTRAL_API_KEY", "DEEPSEEK_API_KEY",
    "COHERE_API_KEY", "OPENROUTER_API_KEY", "TAVILY_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE",
    "OLLAMA_API_BASE", "LM_STUDIO_API_BASE", "VTAI_COMPATIBLE_API_BASE", "VTAI_COMPATIBLE_API_KEY",
]
VENV_BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def vtai_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "vtai-home"
    monkeypatch.setenv("VTAI_HOME", str(home))
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for var in PROVIDER_VARS:
        monkeypatch.delenv(var, raising=False)
    for var in [v for v in os.environ if v.startswith("VTAI_") and v not in ("VTAI_HOME", "VTAI_TEST_POSTGRES_URL")]:
        monkeypatch.delenv(var, raising=False)
    return home


_real_connect = socket.socket.connect


def _guarded_connect(sock, address):
    if sock.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
        host = address[0]
        try:
            ok = ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = host == "localhost"
        if not ok:
            raise ConnectionRefusedError(f"tests may not reach {host}: only loopback is allowed")
    return _real_connect(sock, address)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)


@pytest.fixture
def fake_server():
    from vtai.testing import FakeOpenAIServer

    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def provider_env(fake_server, monkeypatch):
    """OpenAI pointed at the fake server with a test key."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai-0000")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    return fake_server
