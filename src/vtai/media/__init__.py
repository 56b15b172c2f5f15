"""Media for the multimodal handlers: images (validation, URL fetch, OCR), speech (TTS, STT) and documents.

Nothing here runs at import time: OCR, whisper and document parsers load on first use, off the event loop.
Every file this package writes goes under ``$VTAI_HOME`` (see :mod:`vtai.media.storage`).
"""

from vtai.media.config import MediaConfig, media_config

__all__ = ["MediaConfig", "media_config"]
