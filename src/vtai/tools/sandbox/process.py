"""Host side of the worker protocol: one long-lived worker process per session, and the session bookkeeping
shared by every backend that runs ``_worker.py`` (bwrap, unsafe local)."""

from __future__ import annotations

import abc
import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from vtai.tools.sandbox.base import (
    IMAGE_SUFFIXES,
    RunResult,
    Sandbox,
    SandboxLimits,
    SandboxUnavailableError,
    Snapshot,
    atomic_write,
    changed_files,
    safe_read,
    sanitize_filename,
    sanitize_session,
    snapshot,
)

log = logging.getLogger(__name__)
START_TIMEOUT_S = 30.0
TIMEOUT_EXIT_CODE = 124


@dataclass
class LaunchSpec:
    """How a backend starts the worker: argv (ending in the Python to run) plus process options."""

    argv: list[str]
    env: dict[str, str] | None = None
    pass_fds: tuple[int, ...] = ()
    extra_groups: list[int] | None = None
    worker_cfg: dict[str, Any] = field(default_factory=dict)
    cleanup: Callable[[], None] | None = None  # called once the worker is up (or failed to start)


class _Capture:
    """One run's stdout or stderr: kept up to ``limit`` bytes, complete when the end marker arrives."""

    def __init__(self, marker: bytes | None, limit: int):
        self.marker, self.limit = marker, limit
        self.data = bytearray()
        self.total = 0
        self.done = asyncio.Event()

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.limit - len(self.data)
        if room > 0:
            self.data += chunk[:room]

    @property
    def truncated(self) -> bool:
        return self.total > len(self.data)

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


class WorkerProcess:
    """A started worker: send a cell, collect its output, kill it."""

    def __init__(self, proc: asyncio.subprocess.Process, ctl: asyncio.StreamReader, output_bytes: int):
        self.proc, self.ctl = proc, ctl
        self.captures = [_Capture(None, output_bytes), _Capture(None, output_bytes)]
        self.pumps = [asyncio.create_task(self._pump(stream, i))
                      for i, stream in enumerate((proc.stdout, proc.stderr))]
        self.last_used = time.monotonic()
        self.runs = 0
        self.ctl_transport: asyncio.BaseTransport | None = None

    @classmethod
    async def start(cls, spec: LaunchSpec, limits: SandboxLimits) -> WorkerProcess:
        read_fd, write_fd = os.pipe()
        cfg = {**spec.worker_cfg, "ctl": write_fd, "memory": limits.memory_bytes,
               "fsize": limits.file_bytes, "host_pidns": os.readlink("/proc/self/ns/pid")}
        cfg.setdefault("procs", limits.max_procs)
        source = resources.files("vtai.tools.sandbox").joinpath("_worker.py").read_text()
        try:
            return await cls._spawn(spec, limits, cfg, source, read_fd, write_fd)
        finally:
            if spec.cleanup:
                spec.cleanup()

    @classmethod
    async def _spawn(cls, spec: LaunchSpec, limits: SandboxLimits, cfg: dict[str, Any], source: str,
                     read_fd: int, write_fd: int) -> WorkerProcess:
        try:
            proc = await asyncio.create_subprocess_exec(
                *spec.argv, "-I", "-B", "-c", source, json.dumps(cfg),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                pass_fds=(write_fd, *spec.pass_fds), env=spec.env, start_new_session=True,
                extra_groups=spec.extra_groups)
        finally:
            os.close(write_fd)
            for fd in spec.pass_fds:
                os.close(fd)
        loop = asyncio.get_running_loop()
        ctl = asyncio.StreamReader(limit=1 << 16)
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(ctl),
                                                    os.fdopen(read_fd, "rb", 0))
        worker = cls(proc, ctl, limits.output_bytes)
        worker.ctl_transport = transport
        try:
            line = await asyncio.wait_for(ctl.readline(), START_TIMEOUT_S)
        except (TimeoutError, ValueError):
            line = b""
        if not line.startswith(b'{"ready"'):
            await worker.kill()
            detail = worker.captures[1].text().strip()[-2000:] or f"exit code {proc.returncode}"
            raise SandboxUnavailableError(f"The sandbox failed to start: {detail}")
        return worker

    async def _pump(self, stream: asyncio.StreamReader, index: int) -> None:
        tail = b""
        while chunk := await stream.read(1 << 20):
            capture = self.captures[index]
            buf = tail + chunk
            marker = capture.marker
            if marker is None:
                capture.add(buf)
                tail = b""
                continue
            pos = buf.find(marker)
            if pos >= 0:
                capture.add(buf[:pos])
                capture.done.set()
                tail = b""
                continue
            keep = len(marker) - 1
            capture.add(buf[:-keep] if len(buf) > keep else b"")
            tail = buf[-keep:] if len(buf) > keep else buf
        self.captures[index].add(tail)
        self.captures[index].done.set()

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    async def execute(self, code: str, limits: SandboxLimits) -> tuple[int, bool]:
        """Run one cell; returns (exit_code, timed_out). Output is in ``self.captures``."""
        self.runs += 1
        nonce = secrets.token_hex(16)
        marker = f"\x00{nonce}\x00".encode()
        self.captures = [_Capture(marker, limits.output_bytes), _Capture(marker, limits.output_bytes)]
        request = {"id": self.runs, "code": code, "cpu": max(1, int(limits.cpu_s)), "nonce": nonce}
        try:
            async with asyncio.timeout(limits.wall_s):
                assert self.proc.stdin is not None
                self.proc.stdin.write(json.dumps(request).encode() + b"\n")
                await self.proc.stdin.drain()
                line = await self.ctl.readline()
                await asyncio.gather(*(c.done.wait() for c in self.captures))
        except TimeoutError:
            await self.kill()
            return TIMEOUT_EXIT_CODE, True
        except (ConnectionError, ValueError):  # worker gone, or an oversized/garbled reply line
            line = b""
        finally:
            self.last_used = time.monotonic()
        try:
            return int(json.loads(line)["exit_code"]), False
        except (ValueError, KeyError, TypeError):
            code_ = await self.kill()
            return (code_ if code_ not in (None, 0) else 1), False

    async def kill(self) -> int | None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        code = await self.proc.wait()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.gather(*self.pumps, return_exceptions=True), 5)
        for task in self.pumps:
            task.cancel()
        if self.ctl_transport is not None:
            self.ctl_transport.close()
        return code


class WorkerSandbox(Sandbox):
    """Session bookkeeping shared by backends that run ``_worker.py``: work folders, workers, reaping."""

    def __init__(self, base_dir: Path, limits: SandboxLimits | None = None):
        self.base_dir = Path(base_dir)
        self.limits = limits or SandboxLimits()
        self._workers: dict[str, WorkerProcess] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._reaper: asyncio.Task | None = None
        self._snapshots: dict[str, Snapshot] = {}  # work folder after the last run: only runs change it

    @abc.abstractmethod
    async def _launch_spec(self, workdir: Path) -> LaunchSpec:
        """argv and options that start the worker with ``workdir`` as its work folder."""

    def _workdir_owner(self) -> tuple[int, int] | None:
        return None

    def workdir(self, session: str) -> Path:
        path = self.base_dir / sanitize_session(session)
        if not path.is_dir():
            if not self.base_dir.is_dir():  # 0700: host users (even the sandbox's own uid) cannot browse it
                self.base_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            path.mkdir(exist_ok=True, mode=0o700)
            owner = self._workdir_owner()
            if owner:
                os.chown(path, *owner)
        return path

    async def run(self, code: str, session: str = "default") -> RunResult:
        key = sanitize_session(session)
        await self.reap_idle()
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.create_task(self._reap_forever())
        async with self._locks.setdefault(key, asyncio.Lock()):
            workdir = self.workdir(key)
            started = time.monotonic()
            notes = ""
            worker = self._workers.get(key)
            if worker is not None and not worker.alive:
                await worker.kill()
                notes = "[sandbox] The previous process of this session had stopped; variables were reset.\n"
                worker = None
            if worker is None:
                spec = await self._launch_spec(workdir)
                worker = self._workers[key] = await WorkerProcess.start(spec, self.limits)
            before = self._snapshots.pop(key, None)
            if before is None:
                before = await asyncio.to_thread(snapshot, workdir)
            exit_code, timed_out = await worker.execute(code, self.limits)
            after = self._snapshots[key] = await asyncio.to_thread(snapshot, workdir)
            out, err = worker.captures
            stderr = notes + err.text()
            if timed_out:
                stderr += (f"\n[sandbox] Timed out after {self.limits.wall_s:g} s: the run was stopped and "
                           "the session restarted (variables lost, files kept).\n")
            elif not worker.alive:
                stderr += f"\n[sandbox] The sandbox process exited ({worker.proc.returncode}); variables lost.\n"
            if not worker.alive:
                self._workers.pop(key, None)
            files = changed_files(before, after)
            return RunResult(
                stdout=out.text(), stderr=stderr, exit_code=exit_code, timed_out=timed_out, files=files,
                images=[f for f in files if f.lower().endswith(IMAGE_SUFFIXES)],
                duration_s=round(time.monotonic() - started, 4),
                stdout_truncated=out.truncated, stderr_truncated=err.truncated)

    async def add_file(self, session: str, name: str, data: bytes) -> str:
        clean = sanitize_filename(name)
        workdir = self.workdir(session)
        self._snapshots.pop(sanitize_session(session), None)
        await asyncio.to_thread(atomic_write, workdir, clean, data, self._workdir_owner())
        return clean

    def read_file(self, session: str, path: str) -> bytes:
        return safe_read(self.workdir(session), path)

    async def reap_idle(self) -> None:
        now = time.monotonic()
        for key, worker in list(self._workers.items()):
            lock = self._locks.get(key)
            if now - worker.last_used > self.limits.idle_s and not (lock and lock.locked()):
                self._workers.pop(key, None)
                await worker.kill()

    async def _reap_forever(self) -> None:
        while True:
            await asyncio.sleep(min(60.0, max(self.limits.idle_s / 2, 0.05)))
            await self.reap_idle()
            if not self._workers and not any(lock.locked() for lock in self._locks.values()):
                return  # nothing to watch; the next run() starts a new reaper

    async def close_session(self, session: str) -> None:
        worker = self._workers.pop(sanitize_session(session), None)
        if worker:
            await worker.kill()

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        for key in list(self._workers):
            await self.close_session(key)
