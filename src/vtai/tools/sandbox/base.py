"""The sandbox seam: ``Sandbox.run(code, session) -> RunResult``, its limits, and the backend registry."""

from __future__ import annotations

import abc
import os
import re
import stat
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vtai.errors import InputError, UserError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg", ".gif")
_SESSION_OK = re.compile(r"[^A-Za-z0-9_.-]+")
_MAX_WALK = 20_000


class SandboxUnavailableError(UserError):
    """The isolating backend cannot run here; the message says how to fix it."""


@dataclass(frozen=True)
class SandboxLimits:
    wall_s: float = 30.0  # per run; the sandbox is killed (variables lost, files kept) when it is exceeded
    cpu_s: int = 30  # per run, per process (RLIMIT_CPU); the cell gets a CPU-limit error
    memory_bytes: int = 1 << 30  # address space per process (RLIMIT_AS)
    max_procs: int = 64  # processes + threads of the sandbox user (RLIMIT_NPROC in its own user namespace)
    file_bytes: int = 100 << 20  # largest file a process may write (RLIMIT_FSIZE)
    output_bytes: int = 1 << 20  # stdout and stderr each: kept up to this, the rest counted and dropped
    tmp_bytes: int = 64 << 20  # size of the private /tmp (tmpfs)
    idle_s: float = 900.0  # an idle session's worker is stopped after this (its files stay)


@dataclass
class RunResult:
    stdout: str
    stderr: str
    exit_code: int
    timed_out: bool = False
    files: list[str] = field(default_factory=list)  # new or changed, relative to the work folder
    images: list[str] = field(default_factory=list)  # the subset of ``files`` that are images
    duration_s: float = 0.0
    stdout_truncated: bool = False
    stderr_truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sanitize_session(session: str) -> str:
    """A session name safe as one directory name: no separators, no ``..``, bounded length."""
    cleaned = _SESSION_OK.sub("-", session.strip()).strip(".-")[:64]
    if not cleaned:
        raise InputError(f"Invalid sandbox session name {session!r}: use letters, digits, '-', '_' or '.'.")
    return cleaned


def sanitize_filename(name: str) -> str:
    """An uploaded file's name reduced to a plain file name inside the work folder."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _SESSION_OK.sub("_", base).lstrip(".")[:128]
    if not cleaned:
        raise InputError(f"Invalid file name {name!r}.")
    return cleaned


Snapshot = dict[str, tuple[int, int]]


def snapshot(root: Path) -> Snapshot:
    """Regular files under ``root`` (never following symlinks) → (mtime_ns, size)."""
    found: Snapshot = {}
    pending = [""]
    while pending and len(found) < _MAX_WALK:
        prefix = pending.pop()
        try:
            entries = os.scandir(os.path.join(root, prefix))
        except OSError:
            continue
        with entries:
            for entry in entries:
                rel = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    pending.append(rel + "/")
                elif entry.is_file(follow_symlinks=False):
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    found[rel] = (st.st_mtime_ns, st.st_size)
    return found


def changed_files(before: Snapshot, after: Snapshot) -> list[str]:
    return sorted(path for path, sig in after.items() if before.get(path) != sig)


def safe_read(root: Path, relative: str, max_bytes: int = 50 << 20) -> bytes:
    """Read a file the sandbox wrote, refusing symlinks and anything outside ``root``.

    The sandbox controls the work folder's contents, so a "file" may be a symlink to a host path;
    every component is opened with O_NOFOLLOW relative to the previous one.
    """
    parts = [p for p in Path(relative).parts if p not in ("", ".")]
    if not parts or ".." in parts or Path(relative).is_absolute():
        raise InputError(f"Not a file in the work folder: {relative!r}")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            for part in parts[:-1]:
                nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                os.close(fd)
                fd = nxt
            leaf = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
        except OSError as exc:
            raise InputError(f"Cannot read {relative!r} from the work folder: {exc.strerror}") from exc
        with os.fdopen(leaf, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise InputError(f"Not a regular file: {relative!r}")
            data = handle.read(max_bytes + 1)
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise InputError(f"{relative!r} is larger than {max_bytes} bytes.")
    return data


def atomic_write(directory: Path, name: str, data: bytes, owner: tuple[int, int] | None) -> Path:
    """Write ``directory/name`` replacing whatever is there (a symlink is replaced, never followed)."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        if owner is not None:
            os.chown(tmp, *owner, follow_symlinks=False)
        os.replace(tmp, directory / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return directory / name


class Sandbox(abc.ABC):
    """Runs Python code cells in per-session, stateful, isolated interpreters."""

    name: str = ""
    isolated: bool = True

    @abc.abstractmethod
    async def run(self, code: str, session: str = "default") -> RunResult:
        """Run ``code`` in ``session`` (created on first use). Never raises for the code's own failures."""

    @abc.abstractmethod
    async def add_file(self, session: str, name: str, data: bytes) -> str:
        """Put an uploaded file into the session's work folder; returns its name there."""

    @abc.abstractmethod
    def read_file(self, session: str, path: str) -> bytes:
        """Read a file from the session's work folder (as reported in ``RunResult.files``)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop every session's processes (work folders stay on disk)."""


BACKENDS: dict[str, type[Sandbox]] = {}


def register_backend(name: str) -> Callable[[type[Sandbox]], type[Sandbox]]:
    def decorate(cls: type[Sandbox]) -> type[Sandbox]:
        cls.name = name
        BACKENDS[name] = cls
        return cls

    return decorate
