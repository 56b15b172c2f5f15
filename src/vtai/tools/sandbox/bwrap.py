"""The local backend: each session's worker runs under bubblewrap (``bwrap``) in fresh namespaces.

Two launch modes, chosen by who runs VT.ai:

* **ordinary user**: ``bwrap --unshare-user --disable-userns --uid 1000``. The sandbox user is the host user
  mapped into a new user namespace, so RLIMIT_NPROC counts only the sandbox's own processes.
* **root** (servers, containers, CI): the kernel never applies RLIMIT_NPROC to real root, so the worker must
  not run as root. A helper user namespace is made with the map ``0→0, 1000→host_uid`` (65534, "nobody",
  by default); bwrap enters it (``--userns``), sets up the mounts as root (so an interpreter under /root can be
  bound), and the worker then drops to uid 1000 (host uid 65534) with no capabilities and no_new_privs before
  it reads any code. bwrap 0.8 cannot drop to another uid itself in ``--userns`` mode without losing the
  capabilities it needs for the mounts, hence the drop in the worker.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

from vtai.tools.sandbox.base import SandboxLimits, SandboxUnavailableError, register_backend
from vtai.tools.sandbox.process import LaunchSpec, WorkerSandbox

WORKDIR = "/workspace"
SANDBOX_UID = 1000
_ROOT_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "fonts", "mime.types")
_INSTALL_HINT = ("Install bubblewrap (Debian/Ubuntu: `apt install bubblewrap`) and make sure user namespaces "
                 "are enabled, or opt in to the unsafe local mode (no isolation).")


def find_bwrap() -> str:
    path = shutil.which("bwrap")
    if not path:
        raise SandboxUnavailableError(f"bubblewrap (`bwrap`) was not found. {_INSTALL_HINT}")
    return path


def probe_bwrap() -> str | None:
    """None when bwrap can create the namespaces we need here, else the reason it cannot."""
    try:
        bwrap = find_bwrap()
    except SandboxUnavailableError as exc:
        return str(exc)
    argv = [bwrap, "--unshare-all", "--unshare-user", "--die-with-parent", "--ro-bind", "/", "/",
            "--proc", "/proc", "--dev", "/dev", "--", "true"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not run: {exc}"
    if done.returncode != 0:
        return f"bwrap failed here: {done.stderr.strip()[:500]} {_INSTALL_HINT}"
    if os.geteuid() == 0 and not shutil.which("unshare"):
        return "`unshare` (util-linux) is needed to sandbox code when VT.ai runs as root."
    return None


def interpreter_paths() -> list[str]:
    """Directories the worker's Python needs (venv + base install), minus what /usr already covers."""
    exe_root = os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))
    candidates = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix,
                                                 sys.base_exec_prefix, exe_root)}
    candidates |= {os.path.abspath(p) for p in (sys.prefix, sys.base_prefix)}
    chosen: list[str] = []
    for path in sorted(candidates, key=len):
        if path in ("/", "/usr") or path.startswith("/usr/"):
            continue
        if any(path == c or path.startswith(c + "/") for c in chosen):
            continue
        chosen.append(path)
    for path in chosen:
        if path == WORKDIR or path.startswith(WORKDIR + "/"):
            raise SandboxUnavailableError(f"Python lives under {WORKDIR}, the sandbox's work folder path.")
    return chosen


def _parents(path: str) -> list[str]:
    parts = Path(path).parts[1:-1]
    return ["/" + "/".join(parts[: i + 1]) for i in range(len(parts))]


def mount_args(workdir: Path, limits: SandboxLimits) -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in _ROOT_LINKS:
        host = f"/{name}"
        if os.path.islink(host):
            args += ["--symlink", os.readlink(host), host]
        elif os.path.isdir(host):
            args += ["--ro-bind", host, host]
    args += ["--perms", "0755", "--dir", "/etc"]
    for name in _ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    # /tmp first: the interpreter may live under /tmp (a CI checkout's venv) and is bound on top of it.
    args += ["--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    made: set[str] = set()
    for path in interpreter_paths():
        for parent in _parents(path):  # bwrap would copy the host's modes (/root is 0700)
            if parent not in made:
                made.add(parent)
                args += ["--perms", "0755", "--dir", parent]
        args += ["--ro-bind", path, path]
    args += ["--bind", str(workdir), WORKDIR]  # the worker chdirs there once it dropped to its uid
    return args


def sandbox_env() -> dict[str, str]:
    threads = str(min(4, os.cpu_count() or 1))
    env = {
        "PATH": f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin",
        "HOME": WORKDIR, "TMPDIR": "/tmp", "USER": "sandbox", "LOGNAME": "sandbox", "LANG": "C.UTF-8",
        "MPLBACKEND": "module://_vtai_inline", "MPLCONFIGDIR": "/tmp/matplotlib", "XDG_CACHE_HOME": "/tmp/.cache",
    }
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        env[name] = threads  # every thread counts against the process limit
    return env


class _RootUserns:
    """A user namespace owned by root with uids 0→0 and 1000→host_uid, kept alive until bwrap entered it."""

    def __init__(self, host_uid: int, host_gid: int):
        self.host_uid, self.host_gid = host_uid, host_gid
        self.helper: subprocess.Popen | None = None

    async def open(self) -> int:
        unshare = shutil.which("unshare")
        if not unshare:
            raise SandboxUnavailableError("`unshare` (util-linux) is needed to sandbox code when running as root.")
        self.helper = subprocess.Popen([unshare, "--user", "--", "sleep", "300"], stdin=subprocess.DEVNULL)
        mine = os.readlink("/proc/self/ns/user")
        ns = f"/proc/{self.helper.pid}/ns/user"
        for _ in range(4000):
            if self.helper.poll() is not None:
                raise SandboxUnavailableError("Could not create a user namespace (`unshare --user` failed).")
            if os.readlink(ns) != mine:
                break
            await asyncio.sleep(0.0005)
        else:
            self.close()
            raise SandboxUnavailableError("Timed out creating a user namespace for the sandbox.")
        for kind, host_id in (("uid_map", self.host_uid), ("gid_map", self.host_gid)):
            with open(f"/proc/{self.helper.pid}/{kind}", "w") as handle:  # one write: the kernel takes one
                handle.write(f"0 0 1\n{SANDBOX_UID} {host_id} 1\n")
        return os.open(ns, os.O_RDONLY)

    def close(self) -> None:
        if self.helper and self.helper.poll() is None:
            self.helper.kill()
            self.helper.wait()


@register_backend("bwrap")
class BwrapSandbox(WorkerSandbox):
    """Runs each session's worker in bubblewrap: no network, read-only system, private work folder."""

    def __init__(self, base_dir: Path, limits: SandboxLimits | None = None, *, host_uid: int = 65534,
                 host_gid: int = 65534):
        super().__init__(base_dir, limits)
        self.as_root = os.geteuid() == 0
        self.host_uid, self.host_gid = host_uid, host_gid

    def _workdir_owner(self) -> tuple[int, int] | None:
        return (self.host_uid, self.host_gid) if self.as_root else None

    async def _launch_spec(self, workdir: Path) -> LaunchSpec:
        bwrap = find_bwrap()
        common = ["--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
                  "--hostname", "sandbox", "--die-with-parent", "--new-session", "--clearenv"]
        for key, value in sandbox_env().items():
            common += ["--setenv", key, value]
        mounts = mount_args(workdir, self.limits)
        cfg = {"uid": SANDBOX_UID, "gid": SANDBOX_UID, "sweep": True}
        python = [sys.executable]
        if not self.as_root:
            argv = [bwrap, "--unshare-user", "--disable-userns", "--uid", str(SANDBOX_UID),
                    "--gid", str(SANDBOX_UID), *common, "--cap-drop", "ALL", *mounts, "--", *python]
            return LaunchSpec(argv=argv, env={"PATH": "/usr/bin:/bin"}, worker_cfg=cfg)
        userns = _RootUserns(self.host_uid, self.host_gid)
        ns_fd = await userns.open()
        argv = [bwrap, "--userns", str(ns_fd), *common, "--cap-drop", "ALL", "--cap-add", "CAP_SETUID",
                "--cap-add", "CAP_SETGID", "--cap-add", "CAP_SETPCAP", *mounts, "--", *python]
        return LaunchSpec(argv=argv, env={"PATH": "/usr/bin:/bin"}, pass_fds=(ns_fd,), extra_groups=[],
                          worker_cfg=cfg, cleanup=userns.close)
