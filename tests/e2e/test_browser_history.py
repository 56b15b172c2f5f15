"""Persistent history in the browser: send, reload, reopen the thread from the sidebar, continue it; the rows are
in the database and `vtai threads` sees them."""

import subprocess

import pytest

from tests.e2e.conftest import VTAI, send_message, vtai_env
from vtai.testing import Text

pytestmark = pytest.mark.slow


def test_history_resume_and_continue(start_vtai, page, fake_server, vtai_home):
    fake_server.enqueue(Text("Pineapples are berries, botanically."))
    env = {"OPENAI_API_KEY": "sk-test-hist-0001", "OPENAI_BASE_URL": fake_server.base_url}
    server = start_vtai("--model", "gpt-4o-mini", env=env)
    page.goto(server.url)
    send_message(page, "Tell me a pineapple fact")
    page.get_by_text("Pineapples are berries, botanically.").wait_for()
    page.wait_for_timeout(1000)  # let the final write land

    page.reload()
    page.get_by_text("Tell me a pineapple fact").first.wait_for()  # the thread is listed in the sidebar
    page.get_by_text("Tell me a pineapple fact").first.click()
    page.get_by_text("Pineapples are berries, botanically.").wait_for()

    fake_server.enqueue(Text("Yes, and bananas too."))
    send_message(page, "Are there other surprising berries?")
    page.get_by_text("Yes, and bananas too.").wait_for()
    # The model saw the resumed history.
    sent = fake_server.requests_to("chat")[-1].json["messages"]
    assert [m["content"] for m in sent if m["role"] != "system"] == [
        "Tell me a pineapple fact", "Pineapples are berries, botanically.", "Are there other surprising berries?"]

    server.stop()
    out = subprocess.run([*VTAI, "threads", "list"], capture_output=True, text=True, env=vtai_env(vtai_home))
    assert out.returncode == 0, out.stderr
    assert "Tell me a pineapple fact" in out.stdout
