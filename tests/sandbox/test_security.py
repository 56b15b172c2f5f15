"""Each test tries to break out of the sandbox and FAILS if it succeeds. Only loopback addresses are used."""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from pathlib import Path

import pytest

from vtai.errors import InputError
from vtai.tools.sandbox.bwrap import interpreter_paths


def _inside(result) -> dict:
    """The last stdout line of a probe is a JSON report."""
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def tcp_server():
    """A real TCP server on 127.0.0.1 that records every connection it accepts."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    srv.settimeout(0.2)
    accepted: list = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            accepted.append(conn)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield srv.getsockname()[1], accepted
    stop.set()
    thread.join()
    srv.close()


def _host_processes_with(token: str) -> list[int]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if token.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():
                found.append(int(pid))
        except OSError:
            continue
    return found


async def test_cannot_connect_to_a_host_loopback_server(hostile, tcp_server):
    port, accepted = tcp_server
    # Sanity: the server really accepts connections from the host.
    socket.create_connection(("127.0.0.1", port), timeout=2).close()
    time.sleep(0.3)
    assert len(accepted) == 1
    code = f"""
import json, socket, subprocess, sys, ctypes, struct
out = {{}}
for family, addr in ((socket.AF_INET, ("127.0.0.1", {port})), (socket.AF_INET6, ("::1", {port}))):
    try:
        socket.create_connection(addr, timeout=1).close(); out[str(family)] = "CONNECTED"
    except OSError as e:
        out[str(family)] = type(e).__name__
# the same from a child process
child = subprocess.run([sys.executable, "-c", "import socket; socket.create_connection(('127.0.0.1', {port}), 1)"],
                       capture_output=True, text=True)
out["subprocess"] = child.returncode
# raw libc connect() through ctypes
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
sa = struct.pack("!HH4s8x", socket.AF_INET, {port}, socket.inet_aton("127.0.0.1"))
sa = struct.pack("=H", socket.AF_INET) + sa[2:]
out["ctypes"] = libc.connect(fd, sa, len(sa))
# a raw packet socket needs CAP_NET_RAW
try:
    socket.socket(socket.AF_PACKET, socket.SOCK_RAW); out["raw"] = "OPENED"
except OSError as e:
    out["raw"] = type(e).__name__
out["interfaces"] = sorted(n for _, n in socket.if_nameindex())
print(json.dumps(out))
"""
    report = _inside(await hostile.run(code, "net"))
    time.sleep(0.3)
    assert len(accepted) == 1, "a connection from inside the sandbox reached the host server"
    assert report[str(int(socket.AF_INET))] == "ConnectionRefusedError"  # loopback inside is its own
    assert report[str(int(socket.AF_INET6))] != "CONNECTED"
    assert report["subprocess"] != 0 and report["ctypes"] == -1
    assert report["raw"] == "PermissionError"
    assert report["interfaces"] == ["lo"]


async def test_cannot_reach_host_abstract_unix_socket(hostile):
    name = f"vtai-test-{secrets.token_hex(6)}"
    srv = socket.socket(socket.AF_UNIX)
    srv.bind("\0" + name)  # abstract sockets are per network namespace
    srv.listen()
    try:
        code = f"import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect('\\0{name}')\nprint('CONNECTED')"
        result = await hostile.run(code, "unix")
        assert "CONNECTED" not in result.stdout and "ConnectionRefusedError" in result.stderr
    finally:
        srv.close()


async def test_cannot_resolve_hostnames(hostile):
    code = """
import socket
for host in ("example.com", "pypi.org"):
    try:
        print("RESOLVED", socket.getaddrinfo(host, 443))
    except socket.gaierror as e:
        print("failed", e.errno)
"""
    result = await hostile.run(code, "dns")
    assert "RESOLVED" not in result.stdout and result.stdout.count("failed") == 2


async def test_cannot_read_vtai_home_root_or_shadow(hostile, vtai_home):
    env_file = vtai_home / ".env"
    code = f"""
import json, os
out = {{}}
for path in ({str(env_file)!r}, "/workspace/../.env", "/.env", "/etc/shadow", "/root/.ssh", "/root/.bashrc",
             {str(vtai_home)!r}, {str(Path.home())!r} + "/.bashrc"):
    try:
        with open(path) as f:
            out[path] = "READ:" + f.read(100)
    except OSError as e:
        out[path] = type(e).__name__
out["root"] = sorted(os.listdir("/root")) if os.path.isdir("/root") else []
print(json.dumps(out))
"""
    report = _inside(await hostile.run(code, "secrets"))
    leaked = {k: v for k, v in report.items() if isinstance(v, str) and v.startswith("READ")}
    assert not leaked
    allowed = {Path(p).parts[2] for p in interpreter_paths() if p.startswith("/root/")}
    assert set(report["root"]) <= allowed  # only the Python install, if it lives under /root
    assert "sk-test-SECRET" not in json.dumps(report)


async def test_cannot_write_outside_the_work_folder(hostile, tmp_path):
    targets = ["/usr/evil", "/etc/evil", "/evil", "/proc/evil", str(tmp_path / "evil"),
               *(p + "/evil" for p in interpreter_paths())]
    code = f"""
import json
out = {{}}
for path in {targets!r}:
    try:
        open(path, "w").write("x"); out[path] = "WROTE"
    except OSError as e:
        out[path] = type(e).__name__
open("/tmp/private-marker", "w").write("x")
print(json.dumps(out))
"""
    report = _inside(await hostile.run(code, "write"))
    assert "WROTE" not in report.values(), report
    for path in targets:
        assert not os.path.exists(path)
    assert not os.path.exists("/tmp/private-marker")  # /tmp inside is private


async def test_cannot_see_other_sessions(hostile, vtai_home):
    await hostile.run("open('secret.txt', 'w').write('alice')", "alice")
    alice_dir = vtai_home / "sandbox" / "alice"
    assert (alice_dir / "secret.txt").read_text() == "alice"
    code = f"""
import json, os
out = {{"listing": sorted(os.listdir("/workspace"))}}
for path in ("/workspace/../alice/secret.txt", {str(alice_dir / 'secret.txt')!r}, "../alice/secret.txt"):
    try:
        out[path] = "READ:" + open(path).read()
    except OSError as e:
        out[path] = type(e).__name__
print(json.dumps(out))
"""
    report = _inside(await hostile.run(code, "bob"))
    assert report.pop("listing") == []
    assert not any(v.startswith("READ") for v in report.values()), report


async def test_cannot_see_host_processes(hostile):
    code = """
import json, os
pids = [p for p in os.listdir("/proc") if p.isdigit()]
cmds = []
for p in pids:
    try:
        cmds.append(open(f"/proc/{p}/cmdline", "rb").read().decode(errors="replace"))
    except OSError:
        pass
print(json.dumps({"pids": pids, "cmds": cmds}))
"""
    report = _inside(await hostile.run(code, "ps"))
    assert len(report["pids"]) <= 3  # bwrap's init, the worker (and maybe a reaper)
    host_cmdline = Path("/proc/self/cmdline").read_bytes().decode(errors="replace")
    assert host_cmdline not in report["cmds"]  # this test process is invisible
    assert not any(c.startswith(("/sbin/init", "/lib/systemd", "sshd")) for c in report["cmds"])


async def test_fork_bomb_is_contained(hostile):
    code = """
import os
n = 0
try:
    while True:
        if os.fork() == 0:
            import time; time.sleep(30); os._exit(0)
        n += 1
except OSError as e:
    print("stopped after", n, type(e).__name__)
"""
    result = await hostile.run(code, "bomb")
    assert "stopped after" in result.stdout, result.stderr
    assert int(result.stdout.split()[2]) < hostile.limits.max_procs
    # The children were killed with the cell, so the session still works.
    assert (await hostile.run("print('alive')", "bomb")).stdout == "alive\n"


async def test_recursive_fork_bomb_is_contained(hostile):
    result = await hostile.run("import os\nwhile True:\n    os.fork()", "bomb2")
    assert result.exit_code != 0
    assert (await hostile.run("print('alive')", "bomb2")).stdout == "alive\n"


async def test_allocating_10_gb_fails(hostile):
    await hostile.run("kept = 1", "mem")
    result = await hostile.run("block = bytearray(10 * 1024**3)", "mem")
    assert result.exit_code == 1 and "MemoryError" in result.stderr
    assert (await hostile.run("print(kept)", "mem")).stdout == "1\n"


async def test_spinning_cpu_forever_is_stopped(hostile):
    result = await hostile.run("while True:\n    pass", "cpu")
    assert result.exit_code != 0
    assert "CPU time limit exceeded" in result.stderr or result.timed_out
    assert result.duration_s < hostile.limits.wall_s + 2
    # The next cell gets a fresh CPU budget.
    after = await hostile.run("print(sum(range(10**6)))", "cpu")
    assert (after.stdout, after.exit_code) == ("499999500000\n", 0), after.stderr


async def test_printing_1_gb_is_truncated(hostile):
    code = "import sys\nchunk = 'x' * (1 << 20)\nfor _ in range(1024):\n    sys.stdout.write(chunk)"
    result = await hostile.run(code, "print")
    assert result.stdout_truncated
    assert len(result.stdout) == hostile.limits.output_bytes
    assert result.duration_s < hostile.limits.wall_s + 2


async def test_creating_a_10_gb_file_fails(hostile, vtai_home):
    code = """
import json
out = {}
with open("big.bin", "wb") as f:
    try:
        for _ in range(10 * 1024):
            f.write(b"\\0" * (1 << 20))
        out["write"] = "DONE"
    except OSError as e:
        out["write"] = e.strerror
with open("sparse.bin", "wb") as f:
    try:
        f.truncate(10 * 1024**3); out["truncate"] = "DONE"
    except OSError as e:
        out["truncate"] = e.strerror
print(json.dumps(out))
"""
    report = _inside(await hostile.run(code, "disk"))
    assert report == {"write": "File too large", "truncate": "File too large"}
    for name in ("big.bin", "sparse.bin"):
        assert (vtai_home / "sandbox" / "disk" / name).stat().st_size <= hostile.limits.file_bytes


async def test_background_processes_die_with_the_run(hostile):
    token = f"vtai-bg-{secrets.token_hex(6)}"
    code = f"""
import os, subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)  # {token}"], start_new_session=True)
if os.fork() == 0:          # classic double-fork daemon
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(120)", "{token}"])
    os._exit(0)
time.sleep(0.3)
print("started")
"""
    result = await hostile.run(code, "bg")
    assert result.stdout == "started\n", result.stderr
    time.sleep(0.2)
    assert _host_processes_with(token) == [], "a background process outlived the run"


async def test_symlinks_out_of_the_work_folder_are_not_followed_by_the_host(hostile, tmp_path, vtai_home):
    victim = tmp_path / "victim.txt"
    victim.write_text("host secret")
    code = f"""
import os
os.symlink({str(victim)!r}, "link.txt")
os.symlink("/etc/passwd", "passwd")
os.makedirs("d")
os.symlink({str(tmp_path)!r}, "d/escape")
print(os.path.exists("link.txt"))  # inside the sandbox the host path does not exist
"""
    result = await hostile.run(code, "links")
    assert result.stdout == "False\n", result.stderr
    assert result.files == []  # symlinks are never reported as files
    for path in ("link.txt", "passwd", "d/escape/victim.txt"):
        with pytest.raises(InputError):
            hostile.read_file("links", path)
    # An upload with the same name replaces the link; it never writes through it.
    await hostile.add_file("links", "link.txt", b"uploaded")
    assert victim.read_text() == "host secret"
    assert (vtai_home / "sandbox" / "links" / "link.txt").read_bytes() == b"uploaded"


async def test_cannot_gain_privileges(hostile):
    code = """
import json, os
out = {"uid": os.getuid(), "euid": os.geteuid()}
status = open("/proc/self/status").read()
out["caps"] = [l.split()[1] for l in status.splitlines() if l.startswith(("CapEff", "CapPrm", "CapBnd"))]
out["nnp"] = [l.split()[1] for l in status.splitlines() if l.startswith("NoNewPrivs")]
try:
    os.setuid(0); out["setuid"] = "BECAME ROOT"
except OSError as e:
    out["setuid"] = type(e).__name__
print(json.dumps(out))
"""
    report = _inside(await hostile.run(code, "priv"))
    assert report["uid"] != 0 and report["euid"] != 0
    assert report["caps"] == ["0000000000000000"] * 3
    assert report["nnp"] == ["1"] and report["setuid"] == "PermissionError"
