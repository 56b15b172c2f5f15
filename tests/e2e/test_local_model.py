"""The bundled local model for real: llama.cpp server + SmolLM2 GGUF, through `vtai chat`."""

import subprocess

import pytest

from tests.e2e.conftest import VTAI, vtai_env

pytestmark = pytest.mark.slow


def test_vtai_chat_answers_with_the_local_model(vtai_home):
    result = subprocess.run([*VTAI, "chat", "--no-route", "What is 2+2?"], capture_output=True, text=True,
                            env=vtai_env(vtai_home), timeout=240)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.strip()) > 5
    assert "[model: local/smollm2-135m]" in result.stderr
    assert "Starting the local model" in result.stderr
    assert "tokens]" in result.stderr


def test_interactive_chat_keeps_history_and_exits_on_ctrl_d(vtai_home):
    result = subprocess.run([*VTAI, "chat", "--no-route", "--system", "Answer in one short sentence."],
                            input="Hi, my name is Ada.\nSay hello to me.\n", capture_output=True, text=True,
                            env=vtai_env(vtai_home), timeout=240)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("[model: local/smollm2-135m]") == 2
    assert result.stdout.count("you>") == 3  # two messages, then Ctrl-D at the third prompt
