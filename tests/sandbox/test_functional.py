"""The code interpreter works like a notebook: state, files, plots, data stack, errors, timeouts."""

from __future__ import annotations

import asyncio
import logging

import pytest

from vtai.errors import InputError
from vtai.tools.sandbox import (
    BwrapSandbox,
    SandboxLimits,
    SandboxUnavailableError,
    UnsafeLocalSandbox,
    create_sandbox,
)
from vtai.tools.sandbox.base import sanitize_session


async def test_variables_and_files_persist_between_runs(sandbox):
    first = await sandbox.run("x = 41\nopen('note.txt', 'w').write('kept')", "s")
    assert first.exit_code == 0, first.stderr
    assert first.files == ["note.txt"]
    second = await sandbox.run("print(x + 1, open('note.txt').read())", "s")
    assert (second.stdout, second.exit_code, second.files) == ("42 kept\n", 0, [])


async def test_files_in_subfolders_come_back_and_can_be_read(sandbox):
    result = await sandbox.run("import os\nos.makedirs('out/csv')\nopen('out/csv/r.csv', 'w').write('a,b')", "f")
    assert result.files == ["out/csv/r.csv"] and result.images == []
    assert sandbox.read_file("f", "out/csv/r.csv") == b"a,b"
    with pytest.raises(InputError):
        sandbox.read_file("f", "../f/out/csv/r.csv")


async def test_trailing_expression_is_echoed(sandbox):
    result = await sandbox.run("a = [1, 2]\na + [3]", "s")
    assert result.stdout == "[1, 2, 3]\n"


async def test_plot_comes_back_as_image(sandbox):
    code = "import matplotlib.pyplot as plt\nplt.plot([-3, 0, 3], [9, 0, 9])\nplt.show()"
    result = await sandbox.run(code, "plots")
    assert result.exit_code == 0, result.stderr
    assert result.images == ["figure-1.png"] and result.files == ["figure-1.png"]
    assert sandbox.read_file("plots", "figure-1.png").startswith(b"\x89PNG")
    # A figure left open (no show) is saved too, without overwriting the first one.
    again = await sandbox.run("plt.figure(); plt.bar([1, 2], [3, 4])", "plots")
    assert again.images == ["figure-2.png"], again.stderr


async def test_uploaded_csv_is_analysed_with_pandas_and_numpy(sandbox):
    name = await sandbox.add_file("data", "../../sales.csv", b"month,sales\n1,10\n2,30\n")
    assert name == "sales.csv"
    code = "import numpy as np, pandas as pd\ndf = pd.read_csv('sales.csv')\nprint(int(np.sum(df.sales)))"
    result = await sandbox.run(code, "data")
    assert (result.stdout, result.exit_code) == ("40\n", 0), result.stderr


async def test_syntax_error_is_reported(sandbox):
    result = await sandbox.run("def broken(:\n    pass", "s")
    assert result.exit_code != 0
    assert "SyntaxError" in result.stderr and "<cell" in result.stderr


async def test_exception_gives_traceback_and_keeps_state(sandbox):
    await sandbox.run("kept = 'yes'", "s")
    result = await sandbox.run("def f():\n    return 1 / 0\nf()", "s")
    assert result.exit_code == 1
    assert "ZeroDivisionError" in result.stderr and "return 1 / 0" in result.stderr
    assert "_worker" not in result.stderr  # the kernel's own frames are not shown
    assert (await sandbox.run("print(kept)", "s")).stdout == "yes\n"


async def test_sys_exit_code_is_returned(sandbox):
    result = await sandbox.run("import sys\nsys.exit(3)", "s")
    assert result.exit_code == 3


async def test_timeout_restarts_session_but_keeps_files(vtai_home):
    box = BwrapSandbox(vtai_home / "sandbox", SandboxLimits(wall_s=1.5, cpu_s=30))
    try:
        await box.run("v = 1\nopen('f.txt', 'w').write('x')", "t")
        result = await box.run("import time\nprint('started', flush=True)\ntime.sleep(60)", "t")
        assert result.timed_out and result.exit_code != 0
        assert result.stdout == "started\n"  # output before the kill is kept
        assert 1.4 < result.duration_s < 5
        after = await box.run("import os\nprint(os.path.exists('f.txt'), 'v' in globals())", "t")
        assert after.stdout == "True False\n"
    finally:
        await box.close()


async def test_dead_worker_is_restarted(sandbox):
    died = await sandbox.run("import os\nos._exit(7)", "d")
    assert died.exit_code == 7 and "exited" in died.stderr
    again = await sandbox.run("print('back')", "d")
    assert again.stdout == "back\n" and again.exit_code == 0


async def test_sessions_run_concurrently_and_close_kills_workers(sandbox):
    results = await asyncio.gather(*(sandbox.run(f"print({i})", f"c{i}") for i in range(3)))
    assert [r.stdout for r in results] == ["0\n", "1\n", "2\n"]
    procs = [w.proc for w in sandbox._workers.values()]
    await sandbox.close()
    assert all(p.returncode is not None for p in procs)


async def test_idle_sessions_are_reaped(vtai_home):
    box = BwrapSandbox(vtai_home / "sandbox", SandboxLimits(idle_s=0.2))
    try:
        await box.run("x = 1", "idle")
        proc = box._workers["idle"].proc
        for _ in range(60):  # no further call: the background reaper stops it
            await asyncio.sleep(0.1)
            if proc.returncode is not None:
                break
        assert proc.returncode is not None and "idle" not in box._workers
        again = await box.run("print('x' in globals())", "idle")
        assert again.stdout == "False\n"
    finally:
        await box.close()


def test_session_names_cannot_escape_the_base_dir(tmp_path):
    assert sanitize_session("../../etc") == "etc"
    assert sanitize_session("a/b\\c d") == "a-b-c-d"
    with pytest.raises(InputError):
        sanitize_session("../..")
    box = BwrapSandbox(tmp_path / "base")
    assert box.workdir("../../../x").parent == tmp_path / "base"


def test_refuses_without_bwrap_unless_unsafe_opt_in(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on PATH
    with pytest.raises(SandboxUnavailableError, match="bubblewrap"):
        create_sandbox(tmp_path / "sb")
    with pytest.raises(SandboxUnavailableError):
        create_sandbox(tmp_path / "sb", backend="unsafe-local")
    with caplog.at_level(logging.WARNING):
        box = create_sandbox(tmp_path / "sb", allow_unsafe=True)
    assert isinstance(box, UnsafeLocalSandbox) and not box.isolated
    assert "UNSAFE" in caplog.text


async def test_unsafe_local_mode_still_runs_code_statefully(tmp_path):
    box = UnsafeLocalSandbox(tmp_path / "sb")
    try:
        await box.run("x = 2", "u")
        assert (await box.run("print(x * 21)", "u")).stdout == "42\n"
    finally:
        await box.close()
