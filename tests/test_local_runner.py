"""The local model runner's failure paths (the happy path runs in tests/e2e with the real model)."""

from vtai.engine import ChatOptions, Engine
from vtai.events import Error, Status
from vtai.llm.catalogue import load_catalogue
from vtai.llm.litellm_adapter import LiteLLMClient
from vtai.messages import Conversation, Message
from vtai.settings import load_settings


async def run(settings):
    engine = Engine(settings, load_catalogue(), LiteLLMClient(settings))
    conv = Conversation()
    events = [e async for e in engine.respond(conv, Message.text("user", "hi"), ChatOptions(dynamic_routing=False))]
    engine.llm.close()
    return events, conv


async def test_missing_gguf_is_a_clear_error(tmp_path):
    events, conv = await run(load_settings(local_model=str(tmp_path / "nope.gguf")))
    err = next(e for e in events if isinstance(e, Error))
    assert "nope.gguf, which does not exist" in err.message
    assert conv.messages[0].content == "hi"


async def test_corrupt_gguf_names_the_log(tmp_path, vtai_home):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    events, _ = await run(load_settings(local_model=str(bad), local_start_timeout=60))
    assert any(isinstance(e, Status) and "Starting the local model" in e.text for e in events)
    err = next(e for e in events if isinstance(e, Error))
    log = vtai_home / "logs" / "local-model.log"
    assert str(log) in err.message
    assert log.exists() and log.stat().st_size > 0
