"""The explicit opt-in unsafe backend: the same stateful worker, run directly on the host. NOT a sandbox."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from vtai.tools.sandbox.base import SandboxLimits, register_backend
from vtai.tools.sandbox.process import LaunchSpec, WorkerSandbox

log = logging.getLogger(__name__)

WARNING = ("UNSAFE LOCAL CODE EXECUTION: code runs as your own user with full access to your files, network "
           "and processes. Only per-process rlimits apply (memory, CPU, file size). Never expose this to others.")


@register_backend("unsafe-local")
class UnsafeLocalSandbox(WorkerSandbox):
    """Runs the worker as a plain subprocess with rlimits only. Chosen only with ``allow_unsafe=True``."""

    isolated = False

    def __init__(self, base_dir: Path, limits: SandboxLimits | None = None, **_: object):
        super().__init__(base_dir, limits)
        log.warning(WARNING)

    async def _launch_spec(self, workdir: Path) -> LaunchSpec:
        log.warning(WARNING)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(workdir), "LANG": "C.UTF-8",
               "MPLBACKEND": "module://_vtai_inline", "MPLCONFIGDIR": str(workdir / ".matplotlib")}
        # Without a private PID namespace the worker must never sweep (kill(-1)) nor limit the user's process count.
        cfg = {"uid": None, "gid": None, "sweep": False, "procs": None}
        argv = ["/bin/sh", "-c", 'cd "$1" && shift && exec "$@"', "sh", str(workdir), sys.executable]
        return LaunchSpec(argv=argv, env=env, worker_cfg=cfg)
