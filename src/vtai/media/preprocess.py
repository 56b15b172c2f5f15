"""The upload preprocessor: runs before routing (register ``"vtai.media.preprocess"`` in attachments.BUILTIN).

- enforces the upload limits (``max_file_mb``, ``max_files_per_message``, ``max_total_mb``) on the server;
- checks images with Pillow (a corrupt or fake image is refused with a clear message);
- audio → transcript (shown as a ``Status``), so routing and the model see the words;
- documents → extracted text with the file's name (PDF, DOCX, CSV/XLSX preview and schema, text, JSON).

The user's typed text stays first so routing sees it before any document text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from vtai.attachments import preprocessor
from vtai.errors import InputError
from vtai.events import Event, Status
from vtai.media.config import MediaConfig, media_config
from vtai.media.documents import extract_file
from vtai.media.images import validate_image
from vtai.media.speech import transcribe
from vtai.media.storage import safe_filename
from vtai.messages import AudioPart, FilePart, ImagePart, Message, Part, TextPart

MB = 1024 * 1024


def part_size(part: Part) -> int:
    if isinstance(part, ImagePart | AudioPart):
        return len(part.data or b"")
    if isinstance(part, FilePart):
        try:
            return Path(part.path).stat().st_size
        except OSError:
            return part.size
    return 0


def check_limits(parts: list[Part], config: MediaConfig) -> None:
    """Refuse the message when an attachment, their number or their total is over a limit (naming it)."""
    uploads = [p for p in parts if not isinstance(p, TextPart) and not (isinstance(p, ImagePart) and p.data is None)]
    if len(uploads) > config.max_files_per_message:
        raise InputError(f"{len(uploads)} files attached; at most {config.max_files_per_message} per message "
                         "(max_files_per_message).")
    total = 0
    for part in uploads:
        size = part_size(part)
        total += size
        if size > config.max_file_mb * MB:
            raise InputError(f"'{safe_filename(getattr(part, 'name', 'file'))}' is {size / MB:.1f} MB; the limit "
                             f"is {config.max_file_mb:g} MB per file (max_file_mb).")
    if total > config.max_total_mb * MB:
        raise InputError(f"The attachments total {total / MB:.1f} MB; the limit is {config.max_total_mb:g} MB per "
                         "message (max_total_mb).")


def _join(texts: list[str]) -> list[Part]:
    joined = "\n\n".join(t for t in texts if t.strip())
    return [TextPart(joined)] if joined else []


@preprocessor
async def uploads(message: Message, engine: Any) -> AsyncIterator[Event]:
    if not message.attachments():
        return
    config = media_config(engine)
    check_limits(message.parts, config)
    typed: list[str] = []
    spoken: list[str] = []
    documents: list[str] = []
    images: list[Part] = []
    files: list[Part] = []  # kept after their text: the code interpreter copies them into its sandbox
    for part in message.parts:
        if isinstance(part, TextPart):
            typed.append(part.text)
        elif isinstance(part, ImagePart):
            part.name = safe_filename(part.name, "image")
            if part.data is not None:
                info = validate_image(part.data, part.name, config.max_image_pixels)
                part.mime = info.mime  # trust the bytes, not the declared type
            images.append(part)
        elif isinstance(part, AudioPart):
            name = safe_filename(part.name, "audio")
            yield Status(f"Transcribing {name}…")
            text = await transcribe(part.data, part.mime, name, engine.settings, engine.llm,
                                    catalogue=engine.catalogue, config=config)
            if not text:
                raise InputError(f"No speech was recognised in '{name}'.")
            yield Status(f"Transcript: {text}")
            spoken.append(text)
        elif isinstance(part, FilePart):
            name = safe_filename(part.name)
            extracted = await extract_file(part.path, name, part.mime, config)
            summary = f"Read {name} ({extracted.kind}, {len(extracted.text):,} characters)"
            yield Status(f"{summary}; {extracted.note}" if extracted.note else summary)
            documents.append(extracted.as_prompt())
            files.append(part)
    message.parts = [*_join(typed + spoken + documents), *images, *files]
