"""Sandboxed, stateful Python code interpreter: ``await sandbox.run(code, session) -> RunResult``.

Each session is a notebook-like kernel: one long-lived worker process that ``exec``s cells in one globals
dict, so variables *and* files in its work folder persist between runs. A worker that died is restarted on
the next run (variables reset, files kept); idle workers are stopped after ``SandboxLimits.idle_s``; all are
killed by ``close()``. Matplotlib uses an Agg-based backend: ``plt.show()`` and figures left open at the end
of a cell are saved as ``figure-N.png`` in the work folder and listed in ``RunResult.images``.

What the ``bwrap`` backend isolates (Linux, bubblewrap, one set of namespaces per session worker)
--------------------------------------------------------------------------------------------------
* Network: own network namespace with only a loopback device. Nothing on the host (not even 127.0.0.1
  services) or beyond is reachable; DNS fails (no resolver config, no route).
* Filesystem: a new, empty root. Read-only: /usr (+ /bin, /lib… links), a few /etc files (ld.so cache,
  localtime, fonts) and the interpreter's own prefix directories (venv + base install). Writable: the session's
  work folder at /workspace (``<base_dir>/<session>`` on the host) and a private size-limited tmpfs /tmp.
  Not visible: $VTAI_HOME (other than this session's folder), other sessions, the user's home, /root (except
  the interpreter install if it lives there), /etc/shadow and the rest of /etc, /sys, /var, /run, sockets.
* Processes: own PID namespace (host processes are invisible, /proc shows only the sandbox); own IPC and UTS
  namespaces; ``--new-session`` (no terminal injection); ``--die-with-parent``. After every cell the worker
  kills every other process in its PID namespace, so nothing a cell starts (``os.setsid`` daemons included)
  outlives the cell. On timeout the whole namespace is killed.
* Privileges: a non-root uid (1000 inside; on a root host it maps to host uid 65534), no capabilities,
  ``no_new_privs``; bind mounts are nosuid.

Limits (``SandboxLimits``) and how each is enforced
---------------------------------------------------
* wall time per run: the host kills the sandbox (SIGKILL to bwrap → PID namespace torn down); ``timed_out``.
* CPU time per run: RLIMIT_CPU soft limit re-armed before each cell; SIGXCPU becomes an error in the cell.
* memory: RLIMIT_AS per process (so a 10 GB allocation fails with MemoryError).
* processes/threads: RLIMIT_NPROC. It is counted per user *per user namespace*, so it covers exactly the
  sandbox's processes; on a root host the worker runs as an unprivileged host uid because the kernel
  exempts real root from RLIMIT_NPROC.
* file size: RLIMIT_FSIZE (writes beyond it fail with EFBIG); /tmp is a tmpfs of ``tmp_bytes``.
* output: stdout and stderr each kept up to ``output_bytes``; the rest is drained and dropped
  (``stdout_truncated`` / ``stderr_truncated``).

What is NOT isolated or limited
-------------------------------
* Total memory across processes (RLIMIT_AS is per process: up to ``max_procs`` × ``memory_bytes``) and the
  tmpfs's pages; total disk use of the work folder (only per-file size). A cgroup (systemd-run --scope, or a
  container backend) would bound both.
* The kernel is shared (no seccomp filter; a kernel bug is an escape). On a root host nested user namespaces
  are not disabled (bwrap's ``--disable-userns`` cannot be combined with ``--userns``); they grant nothing
  outside the sandbox.
* CPU time of child processes started by a cell, and of a C call that never returns to Python (so the
  CPU-limit error cannot be raised), is bounded only by the wall-time limit and the sweep.
* Read-only system files (/usr, the Python install, including any secrets someone put there) are readable;
  /proc/self/mountinfo shows the host paths of the mounted folders, /proc/cpuinfo and meminfo the host's.
* The worker protocol is trusted no further than its bounded JSON reply; files the sandbox writes are read
  back with :func:`safe_read` (no symlink following).
* The ``unsafe-local`` backend isolates nothing; it exists only behind ``allow_unsafe=True`` and logs a
  loud warning every time it starts a worker.

Scaling past one machine: ``Sandbox`` is a seam with one core method; a backend registered with
``@register_backend("name")`` can run cells on a remote Jupyter Kernel Gateway (one kernel per session,
files through its contents API) or in per-session containers (Docker/gVisor/Firecracker via an API) behind
the same ``run``/``add_file``/``read_file`` interface. Only the local bwrap backend is built.
"""

from __future__ import annotations

import logging
from pathlib import Path

from vtai.tools.sandbox.base import (
    BACKENDS,
    RunResult,
    Sandbox,
    SandboxLimits,
    SandboxUnavailableError,
    register_backend,
    sanitize_session,
)
from vtai.tools.sandbox.bwrap import BwrapSandbox, probe_bwrap
from vtai.tools.sandbox.unsafe import WARNING, UnsafeLocalSandbox

__all__ = ["BACKENDS", "BwrapSandbox", "RunResult", "Sandbox", "SandboxLimits", "SandboxUnavailableError",
           "UnsafeLocalSandbox", "create_sandbox", "probe_bwrap", "register_backend", "sanitize_session"]

log = logging.getLogger(__name__)


def create_sandbox(base_dir: Path, *, backend: str = "bwrap", limits: SandboxLimits | None = None,
                   allow_unsafe: bool = False) -> Sandbox:
    """The configured backend; refuses (``SandboxUnavailableError``) rather than run code unsandboxed,
    unless ``allow_unsafe`` — then it falls back to ``unsafe-local`` with a loud warning."""
    if backend not in BACKENDS:
        raise SandboxUnavailableError(f"Unknown sandbox backend {backend!r}; known: {', '.join(sorted(BACKENDS))}.")
    if backend == "unsafe-local" and not allow_unsafe:
        raise SandboxUnavailableError("The unsafe-local sandbox backend needs allow_unsafe=True.")
    if backend == "bwrap":
        problem = probe_bwrap()
        if problem:
            if not allow_unsafe:
                raise SandboxUnavailableError(f"Code execution is disabled: {problem}")
            log.warning("bwrap unavailable (%s). %s", problem, WARNING)
            backend = "unsafe-local"
    return BACKENDS[backend](Path(base_dir), limits)
