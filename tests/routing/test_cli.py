"""`vtai route` through click's runner, with the real encoder and a per-test VTAI_HOME."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from click.testing import CliRunner

from vtai.cli.route import route

DATA = Path(__file__).parent / "data"


def run(*args, input=None):
    result = CliRunner().invoke(route, list(args), input=input, catch_exceptions=False)
    return result


def test_single_message_prints_choice_and_model():
    result = run("generate a picture of a red fox in the snow")
    assert result.exit_code == 0, result.output
    lines = dict(line.split(":", 1) for line in result.output.strip().splitlines())
    assert lines["route"].strip() == "image-generation"
    assert float(lines["score"]) > 0
    assert lines["handler"].strip() == "image"
    assert lines["model"].strip()  # the engine's pick (or the route's first preferred model)
    assert "runner-up" in lines


def test_stdin_writes_one_json_object_per_line():
    result = run("--stdin", input="hi there!\nwhat's the bitcoin price right now\n\n")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert [r["route"] for r in records] == ["casual-conversation", "web-search", "casual-conversation"]
    assert [r["fallback"] for r in records] == [False, False, True]
    assert records[1]["text"] == "what's the bitcoin price right now"
    assert all({"text", "route", "score", "fallback", "model"} <= set(r) for r in records)


def test_eval_prints_accuracy_f1_and_confusion():
    result = run("--eval", str(DATA / "heldout_set.jsonl"))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("accuracy: 0.9")
    assert "text-to-speech" in result.output and "confusion" in result.output


def test_fit_writes_thresholds_to_user_routes_file(vtai_home, tmp_path):
    labelled = tmp_path / "mine.jsonl"
    labelled.write_text("\n".join(json.dumps(r) for r in [
        {"text": "yo what's up", "route": "casual-conversation"},
        {"text": "paint a fox", "route": "image-generation"},
        {"text": "weather in rome tomorrow", "route": "web-search"}]))
    result = run("--fit", str(labelled), "--seed", "1")
    assert result.exit_code == 0, result.output
    written = yaml.safe_load((vtai_home / "routes.yaml").read_text())
    assert {r["name"] for r in written["routes"]} >= {"coding", "web-search"}
    assert all(0 <= r["threshold"] <= 1 for r in written["routes"])
    again = run("--fit", str(labelled), "--seed", "1")
    assert yaml.safe_load((vtai_home / "routes.yaml").read_text()) == written
    assert "thresholds written to" in again.output


def test_usage_errors():
    assert run().exit_code == 2
    assert run("hi", "--stdin").exit_code == 2
