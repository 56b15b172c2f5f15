"""Images: validation with Pillow, fetching image links safely, and offline OCR (RapidOCR, ONNX).

URL fetching refuses non-http(s) schemes, hosts that resolve to private, link-local or reserved addresses
(loopback only when ``allow_private`` is on, for tests), bodies over the size cap, and anything whose
content type is not ``image/*``. Redirects are followed by hand (at most 3) so every hop is checked. What it
does not stop: a DNS answer that changes between our check and httpx's own lookup (rebinding) — run VT.ai
behind an egress proxy if that matters to you.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import re
import socket
import threading
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from vtai.errors import InputError
from vtai.messages import ImagePart

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
_URL = re.compile(r"https?://[^\s<>\"'()\[\]]+", re.IGNORECASE)
_IMAGE_EXT = re.compile(r"\.(png|jpe?g|webp|gif)(\?|#|$)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ImageInfo:
    mime: str
    width: int
    height: int


def validate_image(data: bytes | None, name: str = "image", max_pixels: int = 40_000_000) -> ImageInfo:
    """Check that ``data`` is a PNG, JPEG, WebP or GIF Pillow can decode; raise :class:`InputError` if not."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise InputError(f"The image '{name}' is empty (0 bytes).")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt, (w, h) = img.format, img.size
                if w * h > max_pixels:
                    raise InputError(f"The image '{name}' is too large ({w}×{h} pixels; limit {max_pixels:,}).")
                img.verify()
    except InputError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(f"'{name}' is not an image VT.ai can read ({type(exc).__name__}).") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"The image '{name}' is corrupt or truncated: {exc}") from None
    if fmt not in FORMATS:
        raise InputError(f"'{name}' is a {fmt} image; VT.ai accepts PNG, JPEG, WebP and GIF.")
    return ImageInfo(FORMATS[fmt], w, h)


def image_urls(text: str) -> list[str]:
    """Links in ``text`` that look like images (by extension), in order, without duplicates."""
    seen: list[str] = []
    for url in _URL.findall(text or ""):
        url = url.rstrip(".,;:!?")
        if _IMAGE_EXT.search(urlsplit(url).path) and url not in seen:
            seen.append(url)
    return seen


async def _check_host(url: str, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"Only http(s) image links can be fetched: {url[:200]}")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port or 443,
                                                             type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise InputError(f"Could not resolve the host of the image link {url[:200]}") from None
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if addr.is_loopback and allow_private:
            continue
        if not addr.is_global or addr.is_multicast:
            raise InputError(f"Refusing to fetch {url[:200]}: it points at a private or local network address.")


async def fetch_image(url: str, *, max_bytes: int, allow_private: bool = False, timeout: float = 20.0,
                      max_pixels: int = 40_000_000) -> ImagePart:
    """Download an image link into an :class:`ImagePart` (bytes, checked with Pillow)."""
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        for _ in range(4):
            await _check_host(url, allow_private)
            try:
                async with client.stream("GET", url, headers={"Accept": "image/*"}) as resp:
                    if resp.is_redirect and resp.headers.get("location"):
                        url = urljoin(url, resp.headers["location"])
                        continue
                    data = await _read_image_response(resp, url, max_bytes)
                    break
            except httpx.HTTPError as exc:
                raise InputError(f"Could not fetch the image {url[:200]}: {type(exc).__name__}") from None
        else:
            raise InputError(f"Too many redirects fetching {url[:200]}")
    name = urlsplit(url).path.rsplit("/", 1)[-1] or "image"
    info = validate_image(data, name, max_pixels)
    return ImagePart(mime=info.mime, data=data, url=url, name=name)


async def _read_image_response(resp: httpx.Response, url: str, max_bytes: int) -> bytes:
    if resp.status_code == 404:
        raise InputError(f"The image link {url[:200]} was not found (HTTP 404).")
    if resp.status_code >= 400:
        raise InputError(f"The image link {url[:200]} answered HTTP {resp.status_code}.")
    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
    if not ctype.startswith("image/"):
        raise InputError(f"The link {url[:200]} is not an image (content type {ctype or 'unknown'}).")
    declared = int(resp.headers.get("content-length") or 0)
    if declared > max_bytes:
        raise InputError(f"The image at {url[:200]} is {declared / 1e6:.1f} MB; the limit is "
                         f"{max_bytes / 1e6:.1f} MB (max_file_mb).")
    chunks, size = [], 0
    async for chunk in resp.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise InputError(f"The image at {url[:200]} is over the {max_bytes / 1e6:.1f} MB limit (max_file_mb).")
        chunks.append(chunk)
    return b"".join(chunks)


# ---- OCR ------------------------------------------------------------------------------------------
_ocr_engine: Any = None
_ocr_lock = threading.Lock()  # one ONNX session, one image at a time (2-core machines)


def _ocr_sync(data: bytes) -> str:
    global _ocr_engine
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        array = np.asarray(img.convert("RGB"))[:, :, ::-1]  # RapidOCR expects BGR like OpenCV
    with _ocr_lock:
        if _ocr_engine is None:
            from rapidocr_onnxruntime import RapidOCR

            _ocr_engine = RapidOCR()
        result, _ = _ocr_engine(array)
    lines = sorted(result or [], key=lambda r: (round(r[0][0][1] / 12), r[0][0][0]))
    return "\n".join(text for _, text, _score in lines)


async def ocr_image(data: bytes) -> str:
    """The text in an image, read offline (RapidOCR on ONNX Runtime, off the event loop)."""
    return await asyncio.to_thread(_ocr_sync, data)
