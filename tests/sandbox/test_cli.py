"""`vtai run-code` through click's runner: one JSON object; files persist across invocations."""

from __future__ import annotations

import json

from click.testing import CliRunner

from vtai.cli.run_code import run_code


def test_run_code_prints_one_json_object_and_files_persist(tmp_path, monkeypatch):
    monkeypatch.setenv("VTAI_HOME", str(tmp_path / "home"))
    script = tmp_path / "make.py"
    script.write_text("open('out.txt', 'w').write('hello')\nprint('made')")
    runner = CliRunner()
    first = runner.invoke(run_code, ["--session", "s1", str(script)])
    assert first.exit_code == 0, first.output
    result = json.loads(first.output)
    assert {"stdout", "stderr", "exit_code", "timed_out", "files", "images", "duration_s"} <= set(result)
    assert (result["stdout"], result["exit_code"], result["files"]) == ("made\n", 0, ["out.txt"])
    assert result["work_folder"] == str(tmp_path / "home" / "sandbox" / "s1")

    second = runner.invoke(run_code, ["--session", "s1", "-"], input="print(open('out.txt').read())")
    assert json.loads(second.output)["stdout"] == "hello\n"
    other = runner.invoke(run_code, ["--session", "s2", "-"], input="import os\nprint(os.listdir('.'))")
    assert json.loads(other.output)["stdout"] == "[]\n"


def test_run_code_reports_errors_and_timeouts(tmp_path, monkeypatch):
    monkeypatch.setenv("VTAI_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    failed = json.loads(runner.invoke(run_code, ["-"], input="raise ValueError('bad input')").output)
    assert failed["exit_code"] == 1 and "ValueError: bad input" in failed["stderr"]
    slow = json.loads(runner.invoke(run_code, ["--timeout", "1", "-"], input="import time; time.sleep(30)").output)
    assert slow["timed_out"] is True and slow["exit_code"] != 0
