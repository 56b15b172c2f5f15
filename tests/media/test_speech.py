"""Text-to-speech and speech-to-text: provider paths over real HTTP, offline espeak-ng and whisper for real."""

from __future__ import annotations

import re
import subprocess
import wave

import pytest

from vtai.errors import InputError
from vtai.events import Audio, Done, Error, Status, TextDelta
from vtai.media.config import MediaConfig
from vtai.media.speech import split_text, synthesize, transcribe
from vtai.messages import AudioPart
from vtai.settings import load_settings
from vtai.testing import Text

from .conftest import files_under, make_engine, run, user, wav_silence


def wav_seconds(path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower()))


async def test_provider_speech_over_http_one_file_per_request(provider_env, home):
    engine, _ = make_engine("speech", preferred=["tts-1"], wire=True)
    events, conv = await run(engine, 'say "good morning everyone"', speech_voice=None)
    audio = [e for e in events if isinstance(e, Audio)]
    assert len(audio) == 1 and audio[0].mime == "audio/wav"
    req = provider_env.requests_to("speech")[-1]
    assert req.json["input"] == "good morning everyone" and req.json["model"] == "tts-1"
    assert req.json["voice"] == "alloy" and req.json["response_format"] == "wav"
    path = home / audio[0].path.split(str(home) + "/", 1)[1]
    assert path.is_file() and path.parent == home / "files" / "user-1" / "thread-1"
    assert wav_seconds(path) > 0.2
    events2, _ = await run(engine, user("read this aloud: second one"), conv, extra={"speech_voice": "nova"})
    second = next(e for e in events2 if isinstance(e, Audio))
    assert second.path != audio[0].path
    assert provider_env.requests_to("speech")[-1].json["voice"] == "nova"
    assert "Spoken" in "".join(e.text for e in events2 if isinstance(e, TextDelta))


async def test_speak_the_previous_answer(provider_env):
    engine, _ = make_engine("speech", preferred=["tts-1"], wire=True)
    conv = None
    chat, _ = make_engine("chat", wire=True)
    provider_env.enqueue(Text("Paris is the capital of France."))
    _, conv = await run(chat, "capital of France?", dynamic_routing=False, model="gpt-4o-mini")
    events, _ = await run(engine, "read that out loud", conv)
    assert any(isinstance(e, Audio) for e in events)
    assert provider_env.requests_to("speech")[-1].json["input"] == "Paris is the capital of France."


async def test_long_text_is_chunked_and_joined_and_50k_is_refused(provider_env, home):
    settings = load_settings()
    from vtai.llm.litellm_adapter import LiteLLMClient

    llm = LiteLLMClient(settings)
    text = " ".join(f"Sentence number {i} is here." for i in range(330))  # ~9,000 characters
    path = await synthesize(text, settings, llm)
    inputs = [r.json["input"] for r in provider_env.requests_to("speech")]
    assert len(inputs) == 3 and all(len(i) <= 4000 for i in inputs)
    assert " ".join(inputs) == text
    assert abs(wav_seconds(path) - 3 * 3.0) < 0.1  # the fake voice's 3-second clips, joined
    limit = r"50,000 characters; text-to-speech takes at most 20,000 \(max_speech_chars\)"
    with pytest.raises(InputError, match=limit):
        await synthesize("x" * 50_000, settings, llm)
    assert len(provider_env.requests_to("speech")) == 3


def test_split_text_respects_the_limit():
    chunks = split_text("One. " * 50 + "x" * 250, 100)
    assert all(len(c) <= 100 for c in chunks) and "".join(chunks).replace(" ", "") == ("One." * 50 + "x" * 250)


async def test_provider_transcription_over_http_then_routed_as_text(provider_env):
    engine, _ = make_engine("chat", wire=True)
    provider_env.enqueue(Text("what time is it in Tokyo"), endpoint="transcriptions")
    events, conv = await run(engine, user("", AudioPart("audio/wav", wav_silence(), name="question.wav")),
                             model="gpt-4o-mini")
    statuses = [e.text for e in events if isinstance(e, Status)]
    assert "Transcript: what time is it in Tokyo" in statuses
    req = provider_env.requests_to("transcriptions")[-1]
    assert req.form["model"] == "whisper-1" and req.files["file"].filename == "question.wav"
    assert provider_env.requests_to("chat")[-1].messages[-1]["content"] == "what time is it in Tokyo"
    assert conv.messages[0].content == "what time is it in Tokyo"
    assert isinstance(events[-1], Done) and not events[-1].interrupted


async def test_audio_that_is_not_audio_is_refused_and_the_chat_goes_on(home):
    engine, llm = make_engine("chat")
    for data, expected in [(b"", "empty (0 bytes)"), (b"this is a text file, not audio" * 10, "not audio"),
                           (b"RIFF\x00\x00\x00\x00WAVEjunk", "not audio")]:
        events, conv = await run(engine, user("", AudioPart("audio/wav", data, name="memo.wav")))
        error = next(e for e in events if isinstance(e, Error))
        assert expected in error.message and isinstance(events[-1], Done), events
    assert llm.requests == []
    assert not list((home / "tmp").glob("*")), "scratch files are removed"
    events, _ = await run(engine, "hello", conv)
    assert isinstance(events[-1], Done) and not events[-1].interrupted
    assert conv.messages[-1].content == "Echo: hello"


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["wav", "mp3", "ogg", "webm", "m4a"])
async def test_offline_voice_then_offline_whisper_round_trip(home, tmp_path, fmt):
    """espeak-ng speaks a sentence, ffmpeg converts it, whisper (tiny.en, offline) writes it back."""
    settings = load_settings()
    sentence = "Please send the weekly report to the team before Friday morning"
    path = await synthesize(sentence, settings, llm=None)
    assert path.is_relative_to(home / "files") and wav_seconds(path) > 1.0
    data = path.read_bytes()
    if fmt != "wav":
        codec = {"mp3": "libmp3lame", "ogg": "libvorbis", "webm": "libopus", "m4a": "aac"}[fmt]
        target = tmp_path / f"memo.{fmt}"
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-c:a", codec, str(target)], check=True)
        data = target.read_bytes()
    mime = {"wav": "audio/wav", "mp3": "audio/mpeg", "ogg": "audio/ogg", "webm": "audio/webm", "m4a": "audio/mp4"}
    config = MediaConfig.from_settings(settings)
    text = await transcribe(data, mime[fmt], "memo", settings, llm=None, config=config)
    expected = words(sentence)
    assert len(words(text) & expected) >= len(expected) - 2, text


@pytest.mark.slow
async def test_offline_voice_through_the_speech_handler(home):
    engine, _ = make_engine("speech")
    events, _ = await run(engine, "say: hello from the offline voice")
    assert any("offline voice (espeak-ng)" in e.text for e in events if isinstance(e, Status))
    audio = next(e for e in events if isinstance(e, Audio))
    assert audio.path.startswith(str(home / "files")) and wav_seconds(audio.path) > 0.5
    assert [str(p) for p in files_under(home / "files")] == [audio.path]


async def test_speak_helper_and_cli_attach_parts(provider_env, tmp_path, home):
    from vtai.media.attach import parts_from_paths, speak
    from vtai.messages import Conversation, FilePart, ImagePart

    engine, _ = make_engine("chat", wire=True)
    audio = await speak(engine, Conversation(id="t9", user_id="u9"), "An answer to read aloud.", voice="echo")
    assert audio.path.startswith(str(home / "files" / "u9" / "t9")) and wav_seconds(audio.path) > 0
    assert provider_env.requests_to("speech")[-1].json["voice"] == "echo"
    (tmp_path / "a.wav").write_bytes(wav_silence())
    (tmp_path / "b.png").write_bytes(b"png?")
    (tmp_path / "c.pdf").write_bytes(b"%PDF")
    parts = parts_from_paths([tmp_path / "a.wav", tmp_path / "b.png", tmp_path / "c.pdf"])
    assert [type(p) for p in parts] == [AudioPart, ImagePart, FilePart] and parts[0].mime == "audio/wav"
    with pytest.raises(InputError, match="No such file"):
        parts_from_paths([tmp_path / "missing.txt"])
