"""Chainlit upload elements → engine message parts."""

from __future__ import annotations

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
