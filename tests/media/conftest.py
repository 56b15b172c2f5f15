"""Helpers for the media tests: an engine whose router always picks one handler, and fixture files made here."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

import vtai.handlers.image  # noqa: F401 - registers the handler
import vtai.handlers.reasoning  # noqa: F401
import vtai.handlers.speech  # noqa: F401
import vtai.handlers.vision  # noqa: F401
import vtai.media.preprocess  # noqa: F401 - registers the upload preprocessor
from vtai.engine import ChatOptions, Engine
from vtai.llm.catalogue import load_catalogue
from vtai.llm.litellm_adapter import LiteLLMClient
from vtai.messages import Conversation, Message, TextPart
from vtai.settings import load_settings
from vtai.testing.fake_llm import FakeLLM


@dataclass
class OneRoute:
    """A router that sends every message to ``handler`` (the real router is tested elsewhere)."""

    handler: str
    preferred: list[str] = field(default_factory=list)

    def route(self, text, attachments=()):
        return SimpleNamespace(route=f"test-{self.handler}", score=1.0, handler=self.handler, fallback=False,
                               runner_up=None, preferred_models=self.preferred, name=f"test-{self.handler}",
                               requires=None)

    def get(self, name):
        return SimpleNamespace(system_prompt=None)


def make_engine(handler="chat", preferred=(), wire=False, services=None, **overrides):
    settings = load_settings(**overrides)
    llm = LiteLLMClient(settings) if wire else FakeLLM()
    return Engine(settings, load_catalogue(settings.home), llm, OneRoute(handler, list(preferred)),
                  services=services), llm


async def run(engine, message, conversation=None, **options):
    conv = conversation if conversation is not None else Conversation(id="thread-1", user_id="user-1")
    if isinstance(message, str):
        message = Message.text("user", message)
    opts = ChatOptions.from_settings(engine.settings, **options)
    return [e async for e in engine.respond(conv, message, opts)], conv


def user(text="", *parts):
    return Message("user", ([TextPart(text)] if text else []) + list(parts))


def kinds(events):
    return [e.kind for e in events]


def png_with_text(text: str, size=(640, 140)) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    img = Image.new("RGB", size, "white")
    ImageDraw.Draw(img).text((12, 40), text, fill="black", font=ImageFont.load_default(size=44))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def wav_silence(seconds=1.0, rate=16000) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(int(seconds * rate) * 2))
    return buf.getvalue()


@pytest.fixture
def home(vtai_home):
    vtai_home.mkdir(parents=True, exist_ok=True)
    return vtai_home


def files_under(root):
    return sorted(p for p in root.rglob("*") if p.is_file())
