"""End-to-end fixtures: real `vtai` processes and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from vtai.llm.local import free_port

CHROMIUM = os.environ.get("VTAI_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VTAI = [sys.executable, "-m", "vtai.cli"]


@dataclass
class VtaiServer:
    url: str
    port: int
    proc: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def vtai_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.endswith("_API_BASE")}
    env.update({"VTAI_HOME": str(home), "LITELLM_LOCAL_MODEL_COST_MAP": "True", "HF_HUB_OFFLINE": "1"})
    env.update(extra)
    return env


@pytest.fixture
def start_vtai(tmp_path, vtai_home):
    """``start_vtai(*args, env={...})`` runs ``vtai serve --port N *args`` and waits for /api/health."""
    started: list[VtaiServer] = []

    def start(*args: str, env: dict[str, str] | None = None, command: str = "serve", timeout: float = 90) -> VtaiServer:
        port = free_port()
        log = tmp_path / f"vtai-{port}.log"
        logf = open(log, "wb")  # noqa: SIM115
        proc = subprocess.Popen([*VTAI, command, "--port", str(port), *args], stdout=logf, stderr=subprocess.STDOUT,
                                env=vtai_env(vtai_home, **(env or {})), start_new_session=True)
        logf.close()
        server = VtaiServer(f"http://127.0.0.1:{port}", port, proc, log)
        started.append(server)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"vtai {command} exited early:\n{server.output()}")
            try:
                if httpx.get(f"{server.url}/api/health", timeout=1).status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"vtai {command} did not become healthy:\n{server.output()}")

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (scripts/install --test does)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    pg = context.new_page()
    pg.set_default_timeout(30000)
    yield pg
    context.close()


def send_message(page, text: str) -> None:
    """Type into Chainlit's composer and send; wait until the message shows as sent."""
    box = page.locator("#chat-input")
    box.wait_for()
    page.locator("#chat-submit").wait_for()
    page.wait_for_timeout(500)
    before = page.locator('[data-step-type="user_message"]').count()
    box.click()
    page.keyboard.type(text)
    for _ in range(20):  # the socket may still be connecting on a busy machine: the button stays disabled
        if page.locator("#chat-submit").is_enabled():
            break
        page.wait_for_timeout(250)
    page.keyboard.press("Enter")
    try:
        page.wait_for_function("([sel, n]) => document.querySelectorAll(sel).length > n",
                               arg=['[data-step-type="user_message"]', before], timeout=15000)
    except Exception:  # noqa: BLE001 - a second try with the button, then let the caller's wait fail clearly
        page.locator("#chat-submit").click()
