"""Media limits and voices in one object, built from :class:`~vtai.settings.Settings` (the only place
their defaults live: its "Uploads and media" fields). An engine may carry its own ``MediaConfig`` in
``engine.services["media"]``; tests build one with
``MediaConfig.from_settings(load_settings(max_file_mb=2))``."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from vtai.settings import Settings


@dataclass(frozen=True, slots=True)
class MediaConfig:
    max_file_mb: float
    max_files_per_message: int
    max_total_mb: float
    # Image links in messages: only public http(s) addresses unless this is on (tests use loopback servers).
    allow_private_urls: bool
    max_image_pixels: int
    # Extracted document text kept per file; the rest is left out with a note.
    max_document_chars: int
    # Zip containers (DOCX/XLSX): refuse when they would unpack to more than this, or compress too well.
    max_unzipped_mb: float
    max_zip_ratio: float
    # Text-to-speech: longer requests are refused with this limit named; shorter ones are chunked.
    max_speech_chars: int
    speech_voice: str  # provider voice; the offline voice uses its own default
    speech_model: str  # "" = first usable speech model, else the offline voice
    transcription_model: str  # "" = first usable transcription model, else offline whisper
    max_audio_seconds: float

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaConfig:
        """Each field from the same-named ``Settings`` field."""
        return cls(**{f.name: getattr(settings, f.name) for f in fields(cls)})


def media_config(engine: Any) -> MediaConfig:
    """The engine's media configuration: ``engine.services["media"]`` if set, else from its settings."""
    configured = getattr(engine, "services", {}).get("media")
    return configured if isinstance(configured, MediaConfig) else MediaConfig.from_settings(engine.settings)
