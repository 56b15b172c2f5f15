"""Media in the browser: a real `vtai serve` with OpenAI pointed at the fake server, driven in Chromium.

Upload an image and get an answer from a vision model; click Speak and get an audio element; ask for an image and
see it rendered; see reasoning in a collapsed Thinking step."""

from __future__ import annotations

import io

import pytest

from tests.e2e.conftest import send_message
from vtai.testing import Text

pytestmark = pytest.mark.slow


@pytest.fixture
def media_server(start_vtai, fake_server):
    return start_vtai(env={"OPENAI_API_KEY": "sk-test-media-0000", "OPENAI_BASE_URL": fake_server.base_url})


def last_answer(page):
    return page.locator('[data-step-type="assistant_message"]').last


def wait_done(page, timeout=60000):
    page.locator("text=Speak").last.wait_for(timeout=timeout)


def png(tmp_path):
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (120, 60), "white")
    ImageDraw.Draw(img).rectangle((10, 10, 60, 50), fill="red")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    path = tmp_path / "red-box.png"
    path.write_bytes(buf.getvalue())
    return path


def upload(page, path):
    """Chainlit refuses uploads (404) until the websocket session exists; the chat settings button shows it does."""
    page.locator("#chat-settings-open-modal").wait_for()
    with page.expect_response(lambda r: "/project/file" in r.url) as info:
        page.set_input_files("#upload-button-input", str(path))
    assert info.value.status == 200, info.value.text()


def test_upload_an_image_and_get_an_answer(media_server, fake_server, page, tmp_path):
    fake_server.enqueue(Text("I see a red box on white."))
    page.goto(media_server.url)
    page.locator("#chat-input").wait_for()
    upload(page, png(tmp_path))
    send_message(page, "What is in this picture?")
    wait_done(page)
    assert "I see a red box on white." in last_answer(page).inner_text()
    chat = fake_server.requests_to("chat")[-1]
    assert chat.images and chat.images[0].startswith("data:image/png;base64,")


def test_click_speak_and_get_an_audio_element(media_server, fake_server, page):
    fake_server.enqueue(Text("Here is a short answer to read aloud."))
    page.goto(media_server.url)
    send_message(page, "Tell me something short about the sea.")
    wait_done(page)
    page.locator("text=Speak").last.click()
    page.locator("audio").first.wait_for(state="attached", timeout=30000)
    assert fake_server.requests_to("speech")[-1].json["input"] == "Here is a short answer to read aloud."


def test_ask_for_an_image_and_see_it(media_server, fake_server, page):
    page.goto(media_server.url)
    send_message(page, "generate an image of a sunset over the mountains")
    wait_done(page)
    image = last_answer(page).locator("img").first
    image.wait_for()
    assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", image.element_handle())
    assert fake_server.requests_to("images")[-1].json["prompt"] == "generate an image of a sunset over the mountains"


def test_thinking_step_is_collapsed(media_server, fake_server, page):
    fake_server.enqueue(Text("So the answer is 42.", reasoning="Six times seven is forty-two."))
    page.goto(media_server.url)
    send_message(page, "think step by step: what is six times seven? reason carefully before answering")
    wait_done(page)
    step = page.locator("text=/Thought for/").first
    step.wait_for()
    assert "42" in last_answer(page).inner_text()
    assert not page.locator("text=Six times seven is forty-two.").is_visible()
    step.click()
    page.locator("text=Six times seven is forty-two.").wait_for()
