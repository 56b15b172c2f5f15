"""Helpers for tool tests: an engine over the real LiteLLM adapter pointed at the fake OpenAI server."""

from __future__ import annotations

import pytest

import vtai.handlers.assistant  # noqa: F401 - registers the "assistant" handler
import vtai.handlers.code  # noqa: F401 - registers "code"
import vtai.handlers.search  # noqa: F401 - registers "search"
from vtai.engine import ChatOptions, Engine
from vtai.llm.catalogue import load_catalogue
from vtai.llm.litellm_adapter import LiteLLMClient
from vtai.messages import Conversation, Message
from vtai.settings import load_settings


def wire_engine(services=None, **settings) -> Engine:
    s = load_settings(**settings)
    return Engine(s, load_catalogue(s.home), LiteLLMClient(s), services=services or {})


def tool_options(model="gpt-4o-mini") -> ChatOptions:
    return ChatOptions(model=model, use_tools=True, dynamic_routing=False, temperature=0.0)


async def run(engine, message, options=None, conversation=None):
    conversation = conversation if conversation is not None else Conversation(id="conv-test")
    if isinstance(message, str):
        message = Message.text("user", message)
    events = [e async for e in engine.respond(conversation, message, options or tool_options())]
    return events, conversation


class Route:
    """A RouteChoice-like object that sends every message to one handler (routing itself is tested elsewhere)."""

    def __init__(self, handler, requires="tools"):
        self.route = {"code": "code-interpreter", "search": "web-search"}.get(handler, handler)
        self.handler = handler
        self.requires = requires
        self.preferred_models = ["gpt-4o-mini"]
        self.score = 0.9
        self.fallback = False
        self.runner_up = None
        self.name = self.route
        self.system_prompt = None


class FixedRouter:
    def __init__(self, handler, requires="tools"):
        self.choice = Route(handler, requires)

    def route(self, text, attachments=()):
        return self.choice

    def get(self, name):
        return self.choice


@pytest.fixture
def routed():
    """``routed(handler, services)`` → an engine whose router always picks ``handler``."""

    def make(handler, services=None, requires="tools"):
        s = load_settings()
        return Engine(s, load_catalogue(), LiteLLMClient(s), FixedRouter(handler, requires), services or {})

    return make


def routed_options() -> ChatOptions:
    return ChatOptions(dynamic_routing=True, temperature=0.0)


@pytest.fixture
def fake_web():
    from .fake_web import FakeWeb

    with FakeWeb() as web:
        yield web


@pytest.fixture
async def sandbox(tmp_path):
    from vtai.tools.sandbox import BwrapSandbox, SandboxLimits, probe_bwrap

    problem = probe_bwrap()
    assert problem is None, f"the code-interpreter tests need a working bubblewrap: {problem}"
    box = BwrapSandbox(tmp_path / "sandbox", SandboxLimits(wall_s=20, cpu_s=20, memory_bytes=768 << 20))
    yield box
    await box.close()
