"""Media settings in one place. Read from :class:`~vtai.settings.Settings` fields when they exist (with the
defaults below otherwise); an engine may carry its own ``MediaConfig`` in ``engine.services["media"]``."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from vtai.settings import Settings


@dataclass(frozen=True, slots=True)
class MediaConfig:
    max_file_mb: float = 20.0
    max_files_per_message: int = 10
    max_total_mb: float = 50.0
    # Image links in messages: only public http(s) addresses unless this is on (tests use loopback servers).
    allow_private_urls: bool = False
    max_image_pixels: int = 40_000_000
    # Extracted document text kept per file (~15k tokens); the rest is left out with a note.
    max_document_chars: int = 48_000
    # Zip containers (DOCX/XLSX): refuse when they would unpack to more than this, or compress too well.
    max_unzipped_mb: float = 200.0
    max_zip_ratio: float = 200.0
    # Text-to-speech: longer requests are refused with this limit named; shorter ones are chunked.
    max_speech_chars: int = 20_000
    speech_voice: str = "alloy"  # provider voice; the offline voice uses its own default
    speech_model: str = ""  # "" = first usable speech model, else the offline voice
    transcription_model: str = ""  # "" = first usable transcription model, else offline whisper
    max_audio_seconds: float = 1800.0

    @classmethod
    def from_settings(cls, settings: Settings) -> MediaConfig:
        values: dict[str, Any] = {}
        for f in fields(cls):
            value = getattr(settings, f.name, None)
            if value is None:
                value = getattr(settings, f"media_{f.name}", None)
            if value is not None:
                values[f.name] = value
        return cls(**values)


def media_config(engine: Any) -> MediaConfig:
    """The engine's media configuration: ``engine.services["media"]`` if set, else from its settings."""
    configured = getattr(engine, "services", {}).get("media")
    return configured if isinstance(configured, MediaConfig) else MediaConfig.from_settings(engine.settings)
