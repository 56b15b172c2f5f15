"""A real `vtai serve` driven in Debian's Chromium: the page loads with no third-party requests and a message gets
a streamed answer from the bundled local model."""

import time

import httpx
import pytest

from tests.e2e.conftest import send_message

pytestmark = pytest.mark.slow


def assistant_text(page) -> str:
    return page.evaluate("""() => {
        const steps = [...document.querySelectorAll('[data-step-type="assistant_message"]')];
        return steps.length ? steps[steps.length - 1].innerText : '';
    }""")


def test_chat_in_the_browser_with_the_local_model(start_vtai, page):
    server = start_vtai()
    health = httpx.get(f"{server.url}/api/health").json()
    assert health["status"] == "ok" and health["version"]

    hosts = set()
    page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
    page.goto(server.url)
    send_message(page, "Hello! Tell me a fun fact about cats.")

    # Streamed: the answer is seen growing before it is complete.
    lengths = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        lengths.append(len(assistant_text(page)))
        if lengths[-1] and len(lengths) > 3 and lengths[-1] == lengths[-2] == lengths[-3] and page.locator(
                "text=Speak").count():
            break
        page.wait_for_timeout(100)
    final = assistant_text(page)
    assert len(final.strip()) > 10, page.inner_text("body")
    growing = sorted({n for n in lengths if 0 < n < len(final)})
    assert len(growing) >= 2, f"no intermediate streamed states seen: {lengths[:50]}"
    assert hosts == {f"127.0.0.1:{server.port}"}, f"third-party requests: {hosts}"
    page.screenshot(path=str(server.log.parent / "chat.png"))
