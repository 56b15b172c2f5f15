"""A real `vtai serve` in Chromium: the Assistant profile, a scripted run_python call (fake provider) in the
real bwrap sandbox, and the plot shown inline in the answer."""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import send_message
from vtai.testing import FakeOpenAIServer, Text, ToolCalls, ToolCallSpec

pytestmark = pytest.mark.slow

PLOT = """import numpy as np
import matplotlib.pyplot as plt
x = np.linspace(-3, 3, 61)
plt.plot(x, x ** 2)
plt.title("y = x^2")
plt.show()
print("min", (x ** 2).min(), "max", (x ** 2).max())
"""


def wait_for_images(page, answer_text: str, timeout: float = 60) -> list[dict]:
    """Poll until an inline image and the answer text are both shown (or time runs out); the images seen."""
    deadline = time.monotonic() + timeout
    images: list[dict] = []
    while time.monotonic() < deadline:
        images = inline_images(page)
        if images and page.locator(f"text={answer_text}").count():
            break
        page.wait_for_timeout(250)
    return images


def inline_images(page) -> list[dict]:
    """Loaded inline image elements of assistant messages (not avatars)."""
    return page.evaluate("""() => [
        ...document.querySelectorAll('[data-step-type="assistant_message"] img.inline-image')]
        .filter(img => img.complete && img.naturalWidth > 0)
        .map(img => ({src: img.src, width: img.naturalWidth, height: img.naturalHeight}))""")


def test_plot_from_the_code_tool_shows_inline(start_vtai, page):
    with FakeOpenAIServer() as fake:
        fake.enqueue(ToolCalls([ToolCallSpec("run_python", {"code": PLOT}, id="call_plot")]))
        fake.enqueue(Text("Here is y = x² from -3 to 3: a parabola with its minimum 0 at x = 0."))
        server = start_vtai(env={"OPENAI_API_KEY": "sk-test-e2e-000000", "OPENAI_BASE_URL": fake.base_url,
                                 "VTAI_MODEL": "gpt-4o-mini", "VTAI_DYNAMIC_ROUTING": "false"})
        page.goto(server.url)
        page.locator("#chat-profiles").click()
        page.locator('[data-test="select-item:Assistant"]').click()
        send_message(page, "plot y = x^2 from -3 to 3")

        images = wait_for_images(page, "a parabola with its minimum")
        page.screenshot(path=str(server.log.parent / "tools-plot.png"))
        body = page.inner_text("body")
        assert images, f"no inline image; page says:\n{body}\n--- server log:\n{server.output()[-3000:]}"
        assert len(images) == 1 and images[0]["width"] >= 300 and images[0]["height"] >= 200, images
        assert "/project/file/" in images[0]["src"], images  # served by the app, not a data: or remote URL
        assert "run_python" in body  # the tool call is shown as a step
        chats = fake.requests_to("chat")
        assert [t["function"]["name"] for t in chats[0].json["tools"]].count("run_python") == 1
        tool_msg = next(m for m in chats[1].json["messages"] if m["role"] == "tool")
        assert "min 0.0 max 9.0" in tool_msg["content"]


SALES = """import pandas as pd
import matplotlib.pyplot as plt
df = pd.read_csv("sales.csv", parse_dates=["date"])
monthly = df.groupby(df["date"].dt.strftime("%Y-%m"))["sales"].sum()
monthly.plot(kind="bar", title="Sales by month")
plt.show()
print(monthly.to_dict())
"""


def test_uploaded_csv_is_plotted_in_the_sandbox(start_vtai, page, tmp_path):
    csv = tmp_path / "sales.csv"
    csv.write_text("date,sales\n2025-01-05,10\n2025-01-20,5\n2025-02-03,7\n2025-03-11,1\n2025-03-12,2\n")
    with FakeOpenAIServer() as fake:
        fake.enqueue(ToolCalls([ToolCallSpec("run_python", {"code": SALES})]))
        fake.enqueue(Text("January had the most sales (15)."))
        server = start_vtai(env={"OPENAI_API_KEY": "sk-test-e2e-000000", "OPENAI_BASE_URL": fake.base_url,
                                 "VTAI_MODEL": "gpt-4o-mini", "VTAI_DYNAMIC_ROUTING": "false"})
        page.goto(server.url)
        page.locator("#chat-profiles").click()
        page.locator('[data-test="select-item:Assistant"]').click()
        page.locator("#chat-input").wait_for()
        page.wait_for_timeout(2000)  # an upload before the new profile's session exists fails ("Session not found")
        page.locator("#upload-button-input").set_input_files(str(csv))
        page.locator("text=sales.csv").first.wait_for()
        page.wait_for_timeout(500)
        assert not page.locator("text=Failed to upload").count(), page.inner_text("body")
        send_message(page, "plot sales by month")

        images = wait_for_images(page, "January had the most sales")
        page.screenshot(path=str(server.log.parent / "tools-csv.png"))
        body = page.inner_text("body")
        tool_msg = next(m for m in fake.requests_to("chat")[1].json["messages"] if m["role"] == "tool")
        assert len(images) == 1, f"no inline plot; page says:\n{body}\n--- tool result:\n{tool_msg['content']}"
        assert "{'2025-01': 15, '2025-02': 7, '2025-03': 3}" in tool_msg["content"]
