"""Where generated and temporary media live: ``$VTAI_HOME/files/<user>/<thread>/`` and ``$VTAI_HOME/tmp``.

Folder and file names are reduced to safe basenames, and every path is checked to resolve inside the home
folder, so no user-chosen text (file names, thread ids) can write elsewhere.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vtai.errors import InputError

_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def safe_filename(name: str | None, default: str = "file") -> str:
    """``../../etc/passwd`` → ``passwd``; control characters and separators become ``_``; at most 100 chars."""
    name = "".join(ch if unicodedata.category(ch)[0] != "C" else "_" for ch in (name or ""))
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip("._ ") or default
    if len(base) > 100:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 100 - len(ext) - 1] + dot + ext) if dot and len(ext) < 12 else base[:100]
    return base


def _inside(path: Path, root: Path) -> Path:
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise InputError(f"Refusing to write outside the VT.ai home folder: {path.name}")
    return resolved


def media_dir(home: Path, user_id: str | None = None, thread_id: str | None = None) -> Path:
    folder = home / "files" / safe_filename(user_id, "_local") / safe_filename(thread_id, "_unsaved")
    folder = _inside(folder, home)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def new_media_path(home: Path, user_id: str | None, thread_id: str | None, stem: str, suffix: str) -> Path:
    """A fresh file name (one per request, never shared) in the thread's media folder."""
    suffix = safe_filename(suffix.lstrip("."), "bin")
    name = f"{safe_filename(stem, 'media')[:40]}-{uuid.uuid4().hex[:12]}.{suffix}"
    return _inside(media_dir(home, user_id, thread_id) / name, home)


@contextmanager
def scratch_file(home: Path, data: bytes, suffix: str) -> Iterator[Path]:
    """Bytes in a private temporary file under ``$VTAI_HOME/tmp`` (for tools that need a path), removed after."""
    folder = home / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    path = _inside(folder / f"{uuid.uuid4().hex}.{safe_filename(suffix.lstrip('.'), 'bin')}", home)
    path.write_bytes(data)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
