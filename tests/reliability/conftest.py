"""A rig for the fault-injection suite: the real engine, ReliableLLM around the real LiteLLM adapter, talking
HTTP to the fake provider on loopback. ``gpt-4o`` is the primary model and ``gpt-4o-mini`` its fallback (both
served by the same fake server, faults are aimed at one of them by model name)."""

from __future__ import annotations

import asyncio
import os
import random
from dataclasses import dataclass, field

import pytest

from vtai.engine import ChatOptions, Engine
from vtai.events import Done, Error, Event, ModelChosen, Status, TextDelta
from vtai.llm.catalogue import load_catalogue
from vtai.llm.litellm_adapter import LiteLLMClient
from vtai.llm.reliable import ReliableLLM
from vtai.messages import Conversation, Message
from vtai.settings import load_settings

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
pytestmark = pytest.mark.filterwarnings("ignore:Items? .* `ReadOnly` qualifier:UserWarning")

FAST = dict(max_retries=2, retry_base_delay=0.01, retry_max_delay=0.05, connect_timeout=2.0,
            first_token_timeout=1.0, stall_timeout=0.5, request_deadline=10.0, breaker_threshold=50,
            breaker_cooldown=30.0, fallback_to_local=False)


@dataclass
class Outcome:
    events: list[Event]
    conversation: Conversation

    @property
    def text(self) -> str:
        return "".join(e.text for e in self.events if isinstance(e, TextDelta))

    @property
    def statuses(self) -> list[str]:
        return [e.text for e in self.events if isinstance(e, Status)]

    @property
    def error(self) -> Error | None:
        return next((e for e in self.events if isinstance(e, Error)), None)

    @property
    def done(self) -> Done:
        assert isinstance(self.events[-1], Done), self.events
        return self.events[-1]

    @property
    def models(self) -> list[str]:
        return [e.model for e in self.events if isinstance(e, ModelChosen)]


@dataclass
class Rig:
    server: object
    home: object
    overrides: dict = field(default_factory=dict)
    llm: ReliableLLM | None = None

    def write_fallbacks(self, text: str) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "fallbacks.yaml").write_text(text)

    def build(self, **overrides) -> Engine:
        settings = load_settings(**{**FAST, **self.overrides, **overrides})
        catalogue = load_catalogue(settings.home)
        self.llm = ReliableLLM(LiteLLMClient(settings), catalogue, settings, rng=random.Random(7))
        return Engine(settings, catalogue, self.llm)

    async def ask(self, text: str = "one two three four five six", model: str = "gpt-4o",
                  engine: Engine | None = None, **overrides) -> Outcome:
        engine = engine or self.build(**overrides)
        conv = Conversation()
        opts = ChatOptions(model=model, dynamic_routing=False)
        events = [e async for e in engine.respond(conv, Message.text("user", text), opts)]
        return Outcome(events, conv)


@pytest.fixture
def rig(fake_server, monkeypatch, vtai_home):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai-0000")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    r = Rig(fake_server, vtai_home)
    r.write_fallbacks("models: {gpt-4o: [gpt-4o-mini]}\ndefault: []\nlocal: ''\n")
    yield r
    assert fake_server.pending == 0, "a test queued replies it never consumed"


@pytest.fixture(autouse=True)
async def no_leaked_tasks():
    """Every test must leave no task of its own running (streams, timers, probes)."""
    before = asyncio.all_tasks()
    yield
    await asyncio.sleep(0.05)
    # LiteLLM starts one long-lived logging worker per event loop on its first non-streaming call; not ours.
    leaked = [t for t in asyncio.all_tasks() - before if not t.done() and t is not asyncio.current_task()
              and getattr(t.get_coro(), "__qualname__", "") != "LoggingWorker._worker_loop"]
    assert not leaked, leaked


@pytest.fixture(scope="session", autouse=True)
def _warm_litellm():
    """LiteLLM's first call in a process imports a lot (~1-2 s); do it once here so the first test's
    first-token timer (1 s) measures the fake provider, not the import."""
    from vtai.llm.litellm_adapter import litellm
    from vtai.testing import FakeOpenAIServer

    async def once(url: str) -> None:
        response = await litellm().acompletion(model="openai/warm", api_base=url, api_key="sk-warm-000000",
                                               messages=[{"role": "user", "content": "hi"}], stream=True)
        async for _ in response:
            pass

    with FakeOpenAIServer() as server:
        asyncio.run(once(server.base_url))
