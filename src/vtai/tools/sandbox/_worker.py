"""The process that runs *inside* the sandbox: executes code cells like a notebook kernel.

Standard library only (it starts before the data stack is imported). The host sends one JSON request per line
on stdin and reads one JSON reply per line on fd ``ctl``; the cells' own stdout/stderr go to fds 1 and 2, and
after each cell an end marker is written to both so the host knows their output is complete.

Started as ``python -I -B -c <this source> <json config>``; it never imports anything from ``vtai``.
"""

import ast
import builtins
import ctypes
import importlib.abc
import importlib.util
import json
import linecache
import math
import os
import resource
import signal
import sys
import time
import traceback

PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".svg", ".gif")


class CpuLimitExceeded(BaseException):
    """Raised in the cell when its CPU-time budget runs out (SIGXCPU)."""


def _on_sigxcpu(signum, frame):
    raise CpuLimitExceeded("CPU time limit exceeded")


def drop_privileges(cfg):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if cfg["uid"] is None:
        return  # unsafe local mode: runs as the host user, nothing to drop
    if os.getuid() == 0:  # root-host mode: we hold CAP_SETUID/SETGID/SETPCAP only in our own user namespace
        for cap in range(64):  # empty the bounding set too, while we still hold CAP_SETPCAP
            libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
        os.setgroups([])
        os.setgid(cfg["gid"])
        os.setuid(cfg["uid"])
    if os.getuid() == 0 or os.geteuid() == 0:
        raise SystemExit("sandbox worker refuses to run as root")


def set_limits(cfg):
    for name, value in (("RLIMIT_AS", cfg["memory"]), ("RLIMIT_NPROC", cfg["procs"]),
                        ("RLIMIT_FSIZE", cfg["fsize"]), ("RLIMIT_CORE", 0)):
        if value is not None:
            resource.setrlimit(getattr(resource, name), (value, value))


class _InlineBackendFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``MPLBACKEND=module://_vtai_inline``: Agg, with ``plt.show()`` saving figures into the work folder."""

    name = "_vtai_inline"

    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.name:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        from matplotlib.backend_bases import FigureManagerBase
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        module.FigureCanvas = FigureCanvasAgg
        module.FigureManager = FigureManagerBase
        module.show = lambda *args, **kwargs: save_open_figures()


def _free_name(index):
    while True:
        name = f"figure-{index}.png"
        if not os.path.lexists(name):
            return name
        index += 1


_figure_counter = [1]


def save_open_figures():
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return
    for number in pyplot.get_fignums():
        name = _free_name(_figure_counter[0])
        _figure_counter[0] = int(name[7:-4]) + 1
        pyplot.figure(number).savefig(name, bbox_inches="tight")
        pyplot.close(number)


def compile_cell(code, filename):
    """Compile a cell; a trailing expression is echoed like a notebook (``repr`` unless None)."""
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    tree = ast.parse(code, filename, "exec")
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    return compile(tree, filename, "exec"), (compile(last, filename, "eval") if last else None)


def format_exception(exc, skip_frames):
    tb = exc.__traceback__
    for _ in range(skip_frames):
        if tb is not None:
            tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def run_cell(code, filename, namespace, cpu_seconds):
    used = resource.getrusage(resource.RUSAGE_SELF)
    budget = math.ceil(used.ru_utime + used.ru_stime) + cpu_seconds  # whole seconds: never less than asked
    resource.setrlimit(resource.RLIMIT_CPU, (budget, resource.RLIM_INFINITY))
    exit_code = 0
    try:
        try:
            body, last = compile_cell(code, filename)
        except SyntaxError as exc:
            sys.stderr.write("".join(traceback.format_exception_only(type(exc), exc)))
            return 1
        exec(body, namespace)
        if last is not None:
            value = eval(last, namespace)
            if value is not None:
                namespace["_"] = value
                print(repr(value))
    except SystemExit as exc:
        exit_code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if exc.code is not None and not isinstance(exc.code, int):
            sys.stderr.write(f"{exc.code}\n")
    except CpuLimitExceeded:
        sys.stderr.write(f"CPU time limit exceeded ({cpu_seconds} s)\n")
        exit_code = 137
    except BaseException as exc:  # the cell's own error: report it, keep the kernel alive
        sys.stderr.write(format_exception(exc, 1))
        exit_code = 1
    finally:
        resource.setrlimit(resource.RLIMIT_CPU, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    return exit_code


def sweep(cfg):
    """Kill every other process in our PID namespace: nothing a cell starts outlives the cell."""
    if not cfg["sweep"] or os.readlink("/proc/self/ns/pid") == cfg["host_pidns"]:
        return  # never kill(-1) outside a private PID namespace
    for _ in range(50):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            break
        time.sleep(0.001)
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break


def restore_std_fds(saved_out, saved_err):
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os.dup2(saved_out, 1)
    os.dup2(saved_err, 2)
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
    os.chdir(os.environ.get("HOME", "/"))


def main():
    cfg = json.loads(sys.argv[1])
    drop_privileges(cfg)
    set_limits(cfg)
    os.chdir(os.environ.get("HOME", "/"))
    signal.signal(signal.SIGXCPU, _on_sigxcpu)
    ctl_in = os.fdopen(os.dup(0), "r", encoding="utf-8")
    ctl_out = os.fdopen(cfg["ctl"], "w", encoding="utf-8")
    os.set_inheritable(ctl_in.fileno(), False)
    os.set_inheritable(ctl_out.fileno(), False)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    saved_out, saved_err = os.dup(1), os.dup(2)
    sys.stdout.reconfigure(line_buffering=True)
    sys.meta_path.insert(0, _InlineBackendFinder())
    sys.path.insert(0, os.environ.get("HOME", "/"))
    del sys.argv[1:]
    sys.argv[0] = ""
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    ctl_out.write(json.dumps({"ready": True}) + "\n")
    ctl_out.flush()
    main_pid = os.getpid()
    for line in ctl_in:
        request = json.loads(line)
        exit_code = run_cell(request["code"], f"<cell {request['id']}>", namespace, request["cpu"])
        if os.getpid() != main_pid:  # a process the cell forked fell out of the cell: it must not serve requests
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            os._exit(exit_code & 0xFF)
        try:
            save_open_figures()
        except Exception as exc:  # a broken figure must not kill the kernel
            sys.stderr.write(f"could not save figure: {exc}\n")
        restore_std_fds(saved_out, saved_err)
        sweep(cfg)
        marker = f"\x00{request['nonce']}\x00".encode()
        os.write(1, marker)
        os.write(2, marker)
        ctl_out.write(json.dumps({"id": request["id"], "exit_code": exit_code}) + "\n")
        ctl_out.flush()


main()
