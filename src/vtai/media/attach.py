"""Adapters' helpers: files from disk → message parts (CLI ``--attach``), and speaking an answer (UI "Speak",
auto-speak, CLI ``--speak``)."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from vtai.errors import InputError
from vtai.events import Audio
from vtai.media.config import media_config
from vtai.media.speech import synthesize
from vtai.messages import AudioPart, Conversation, FilePart, ImagePart, Part

IMAGE_MIMES = {"image/png", "image/jpeg", "image/webp", "image/gif"}
AUDIO_SUFFIXES = {".wav": "audio/wav", ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".ogg": "audio/ogg",
                  ".oga": "audio/ogg", ".opus": "audio/ogg", ".webm": "audio/webm", ".flac": "audio/flac"}


def guess_mime(path: Path) -> str:
    return AUDIO_SUFFIXES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def parts_from_paths(paths: list[str | Path]) -> list[Part]:
    """Files named on the command line → ImagePart / AudioPart / FilePart (the preprocessor checks the rest)."""
    parts: list[Part] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.is_file():
            raise InputError(f"No such file to attach: {raw}")
        mime = guess_mime(path)
        if mime in IMAGE_MIMES:
            parts.append(ImagePart(mime=mime, data=path.read_bytes(), name=path.name))
        elif mime.startswith("audio/"):
            parts.append(AudioPart(mime=mime, data=path.read_bytes(), name=path.name))
        else:
            parts.append(FilePart(name=path.name, mime=mime, path=str(path), size=path.stat().st_size))
    return parts


async def speak(engine: Any, conversation: Conversation, text: str, voice: str | None = None,
                model: str | None = None) -> Audio:
    """Speak ``text`` (e.g. an assistant answer) into a new WAV in the conversation's media folder."""
    path = await synthesize(text, engine.settings, engine.llm, voice=voice, model=model,
                            user_id=conversation.user_id, thread_id=conversation.id, catalogue=engine.catalogue,
                            config=media_config(engine))
    return Audio(str(path), "audio/wav")
