"""Real (small) media bytes for the fake server: PNG/JPEG/WebP images, WAV/PCM tones, silent MP3 frames,
and deterministic embedding vectors. Everything is generated locally; nothing is downloaded."""

from __future__ import annotations

import hashlib
import io
import math
import struct
import wave

import numpy as np

SPEECH_SAMPLE_RATE = 24_000  # what OpenAI's TTS returns for wav/pcm


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


def parse_size(size: str | None, default: tuple[int, int] = (1024, 1024)) -> tuple[int, int]:
    """``"256x256"`` → (256, 256); ``None`` / ``"auto"`` → ``default``. Raises ValueError on nonsense."""
    if not size or size == "auto":
        return default
    width, _, height = size.lower().partition("x")
    w, h = int(width), int(height)
    if not (1 <= w <= 4096 and 1 <= h <= 4096):
        raise ValueError(f"size out of range: {size}")
    return w, h


def image_bytes(prompt: str, size: tuple[int, int], fmt: str = "png") -> bytes:
    """A picture whose colours derive from the prompt, so different prompts give different images."""
    from PIL import Image, ImageDraw

    d = _digest(prompt)
    img = Image.new("RGB", size, (d[0], d[1], d[2]))
    draw = ImageDraw.Draw(img)
    w, h = size
    draw.ellipse((w // 4, h // 4, 3 * w // 4, 3 * h // 4), fill=(d[3], d[4], d[5]))
    buf = io.BytesIO()
    img.save(buf, format={"jpg": "JPEG", "jpeg": "JPEG", "webp": "WEBP"}.get(fmt.lower(), "PNG"))
    return buf.getvalue()


def speech_seconds(text: str) -> float:
    """Roughly the length a voice would take: 0.15 s a word, between 0.3 s and 3 s."""
    return min(3.0, max(0.3, 0.15 * len(text.split())))


def pcm_tone(seconds: float, freq: float = 440.0, rate: int = SPEECH_SAMPLE_RATE) -> bytes:
    """16-bit little-endian mono sine tone."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * 32767 * np.sin(2 * math.pi * freq * t)).astype("<i2")
    return samples.tobytes()


def wav_tone(seconds: float, freq: float = 440.0, rate: int = SPEECH_SAMPLE_RATE) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm_tone(seconds, freq, rate))
    return buf.getvalue()


# MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, mono, no CRC. With side information and main data all zero a
# frame decodes to 1152 samples of silence, so this is a valid (silent) MP3 without an encoder.
_MP3_HEADER = bytes([0xFF, 0xFB, 0x90, 0xC0])
_MP3_FRAME_BYTES = 144 * 128_000 // 44_100  # 417


def silent_mp3(seconds: float) -> bytes:
    frames = max(1, math.ceil(seconds * 44_100 / 1152))
    return (_MP3_HEADER + bytes(_MP3_FRAME_BYTES - 4)) * frames


def speech_audio(text: str, fmt: str) -> tuple[bytes, str, str]:
    """(bytes, media type, actual format). wav and pcm are a sine tone; mp3 is silent frames; formats we
    cannot encode offline (opus, aac, flac) fall back to wav, and say so in the returned format."""
    seconds = speech_seconds(text)
    if fmt == "pcm":
        return pcm_tone(seconds), "audio/pcm", "pcm"
    if fmt == "mp3":
        return silent_mp3(seconds), "audio/mpeg", "mp3"
    return wav_tone(seconds), "audio/wav", "wav"


def embedding(text: str, dim: int) -> list[float]:
    """A unit vector that depends only on (text, dim): equal texts embed equally, different ones don't."""
    seed = int.from_bytes(_digest(text)[:8], "little")
    vec = np.random.default_rng(seed).standard_normal(dim)
    vec /= np.linalg.norm(vec)
    return vec.astype(np.float32).tolist()


def embedding_b64(vector: list[float]) -> str:
    import base64

    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
