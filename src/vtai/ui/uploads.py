"""Chainlit upload elements → engine message parts."""

from __future__ import annotations

import io
import wave
from pathlib import Path

from vtai.messages import AudioPart, FilePart, ImagePart, Part

IMAGE_MIMES = {"image/png", "image/jpeg", "image/webp", "image/gif"}


def attachment_parts(elements: list) -> list[Part]:
    parts: list[Part] = []
    for el in elements:
        path = getattr(el, "path", None)
        if not path:
            continue
        mime = getattr(el, "mime", None) or "application/octet-stream"
        name = getattr(el, "name", None) or Path(path).name
        if mime in IMAGE_MIMES:
            parts.append(ImagePart(mime=mime, data=Path(path).read_bytes(), name=name))
        elif mime.startswith("audio/"):
            parts.append(AudioPart(mime=mime, data=Path(path).read_bytes(), name=name))
        else:
            parts.append(FilePart(name=name, mime=mime, path=path, size=Path(path).stat().st_size))
    return parts


def pcm16_to_wav(pcm: bytes, sample_rate: int) -> bytes:
    """Chainlit's microphone sends 16-bit mono PCM; wrap it as a WAV file."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm)
    return buf.getvalue()
