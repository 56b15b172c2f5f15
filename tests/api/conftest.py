"""In-process API fixtures: the FastAPI app over FakeLLM (and a FakeEncoder router), driven by httpx."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.e2e.conftest import start_vtai  # noqa: F401 - the real-server fixture, for test_openai_client
from vtai.api import ApiConfig, create_api_app
from vtai.app import build_runtime
from vtai.routing import FakeEncoder, build_router
from vtai.settings import load_settings
from vtai.testing.fake_llm import FakeLLM


def make_app(*, routing: bool = False, config: ApiConfig | None = None, key_store=None, llm="fake", **settings):
    """``llm="fake"``: a FakeLLM; ``None``: the real LiteLLM adapter; else that LLM."""
    s = load_settings(**settings)
    llm = FakeLLM() if llm == "fake" else llm
    runtime = build_runtime(s, with_router=False, llm=llm)
    llm = runtime.llm
    if routing:
        runtime.engine.router = build_router(s, encoder=FakeEncoder())
    return create_api_app(runtime, config, key_store=key_store), runtime, llm


@pytest.fixture
def api():
    app, runtime, llm = make_app()
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://vtai"), runtime, llm


def sse_events(text: str) -> list:
    out = []
    for block in text.split("\n\n"):
        if block.startswith("data: "):
            data = block[len("data: "):]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out
