"""The `vtai` command as a user runs it: version, help of every command, port in use."""

import socket
import subprocess

from click.testing import CliRunner

from tests.e2e.conftest import VTAI, vtai_env
from vtai import __version__
from vtai.cli import main


def test_version_and_help_for_every_command():
    runner = CliRunner()
    assert runner.invoke(main, ["--version"]).output.strip() == f"vtai, version {__version__}"
    top = runner.invoke(main, ["--help"])
    assert top.exit_code == 0
    names = list(main.commands)
    for name in ["serve", "chat", "models", "keys"]:
        assert name in names and name in top.output
    for name, cmd in main.commands.items():
        result = runner.invoke(main, [name, "--help"], prog_name="vtai")
        assert result.exit_code == 0, name
        assert "Usage: vtai " + name in result.output
        for sub in getattr(cmd, "commands", {}):
            sub_result = runner.invoke(main, [name, sub, "--help"], prog_name="vtai")
            assert sub_result.exit_code == 0, f"{name} {sub}"


def test_serve_on_a_busy_port_says_so(vtai_home):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        result = subprocess.run([*VTAI, "serve", "--port", str(port)], capture_output=True, text=True,
                                env=vtai_env(vtai_home), timeout=60)
    assert result.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_bare_vtai_means_serve():
    for argv in ([], ["--port", "9123"], ["--host", "0.0.0.0"]):
        ctx = main.make_context("vtai", list(argv))
        assert ctx._protected_args == ["serve"] and ctx.args == argv
    assert main.make_context("vtai", ["models"])._protected_args == ["models"]
