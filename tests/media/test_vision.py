"""Vision: uploads and links as data-URL image parts over real HTTP; bad images; OCR fallback."""

from __future__ import annotations

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from vtai.errors import InputError
from vtai.events import Done, Error, ModelChosen, RouteChosen, Status, TextDelta
from vtai.media.config import MediaConfig
from vtai.media.images import fetch_image, image_urls, ocr_image, validate_image
from vtai.messages import ImagePart
from vtai.settings import load_settings

from .conftest import make_engine, png_with_text, run, user

PNG = png_with_text("hi", (64, 32))


class _Handler(BaseHTTPRequestHandler):
    routes: dict = {}

    def do_GET(self):  # noqa: N802
        status, ctype, body, extra = self.routes.get(self.path, (404, "text/plain", b"nope", {}))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def image_site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    _Handler.routes = {
        "/cat.png": (200, "image/png", PNG, {}),
        "/page.png": (200, "text/html", b"<html>not an image</html>", {}),
        "/fake.png": (200, "image/png", b"GIF89a-not-really", {}),
        "/huge.png": (200, "image/png", PNG + bytes(3_000_000), {}),
        "/moved.png": (302, "text/plain", b"", {"Location": "/cat.png"}),
        "/away.png": (302, "text/plain", b"", {"Location": "http://10.1.2.3/cat.png"}),
    }
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def loopback_ok() -> dict[str, MediaConfig]:
    """Services with a media config that lets image links reach the loopback test server."""
    return {"media": MediaConfig.from_settings(load_settings(allow_private_urls=True, max_file_mb=2))}


async def test_uploaded_image_reaches_the_vision_model_as_a_data_url(provider_env):
    engine, _ = make_engine("vision", preferred=["gpt-4o"], wire=True)
    provider_env.enqueue(Text("A white picture with the word hi."))
    events, conv = await run(engine, user("What is in this picture?", ImagePart("image/png", PNG, name="pic.png")))
    assert next(e for e in events if isinstance(e, RouteChosen)).model == "gpt-4o"
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "A white picture with the word hi."
    req = provider_env.requests_to("chat")[-1]
    assert req.json["model"] == "gpt-4o"
    assert req.images == [f"data:image/png;base64,{base64.b64encode(PNG).decode()}"]
    assert conv.messages[-1].role == "assistant"


async def test_image_link_is_fetched_and_sent_as_image_part(provider_env, image_site):
    engine, _ = make_engine("vision", preferred=["gpt-4o-mini"], wire=True, services=loopback_ok())
    events, _ = await run(engine, f"Describe {image_site}/moved.png please")
    assert isinstance(events[-1], Done) and not events[-1].interrupted, events
    assert provider_env.requests_to("chat")[-1].images[0].startswith("data:image/png;base64,")


@pytest.mark.parametrize("path, expected", [
    ("/missing.png", "not found (HTTP 404)"),
    ("/page.png", "not an image (content type text/html)"),
    ("/fake.png", "not an image VT.ai can read"),
    ("/huge.png", "limit"),
    ("/away.png", "private or local network"),
])
async def test_bad_image_links_get_clear_messages(image_site, path, expected):
    engine, llm = make_engine("vision", services=loopback_ok())
    events, conv = await run(engine, f"look at {image_site}{path}")
    error = next(e for e in events if isinstance(e, Error))
    assert expected in error.message, events
    assert llm.requests == []
    events, _ = await run(engine, "hello again", conv, dynamic_routing=False)
    assert isinstance(events[-1], Done) and not events[-1].interrupted
    assert [m.content for m in conv.messages[-2:]] == ["hello again", "Echo: hello again"]


async def test_private_and_non_http_links_are_refused_before_connecting():
    for url in ("http://127.0.0.1:9/x.png", "http://10.0.0.8/x.png", "http://169.254.169.254/latest.png",
                "ftp://example.org/x.png", "file:///etc/passwd"):
        with pytest.raises(InputError, match="private or local|Only http"):
            await fetch_image(url, max_bytes=1000)
    assert image_urls("see https://a.org/x.PNG, and http://b.io/p.jpg?s=1 not https://c.org/page") == [
        "https://a.org/x.PNG", "http://b.io/p.jpg?s=1"]


async def test_uploads_that_are_not_images_are_refused_and_the_chat_goes_on():
    engine, llm = make_engine("vision")
    for data, expected in [(b"", "empty"), (b"%PDF-1.4 not an image", "not an image"),
                           (PNG[:60], "corrupt or truncated"), (b"BM" + bytes(100), "corrupt")]:
        events, conv = await run(engine, user("what's this?", ImagePart("image/png", data, name="x.png")))
        assert isinstance(events[0], Error) and expected in events[0].message, (data[:10], events)
    assert llm.requests == []
    with pytest.raises(InputError, match="too large"):
        validate_image(png_with_text("x", (400, 300)), "big.png", max_pixels=1000)
    events, _ = await run(engine, "are you there?", conv, dynamic_routing=False)
    assert isinstance(events[-1], Done) and not events[-1].interrupted


async def test_declared_type_is_replaced_by_the_real_one(provider_env):
    engine, _ = make_engine("vision", preferred=["gpt-4o"], wire=True)
    await run(engine, user("what?", ImagePart("image/jpeg", PNG, name="lying.jpg")))
    assert provider_env.requests_to("chat")[-1].images[0].startswith("data:image/png;base64,")


@pytest.mark.slow
async def test_ocr_reads_rendered_text():
    text = await ocr_image(png_with_text("Invoice total 4217"))
    assert "Invoice total 4217" in text


@pytest.mark.slow
async def test_without_a_vision_model_ocr_answers_labelled():
    engine, llm = make_engine("vision")  # no keys: the local chat model (FakeLLM here) has no vision
    events, _ = await run(engine, user("What is the total?",
                                       ImagePart("image/png", png_with_text("Invoice total 4217"), name="bill.png")))
    statuses = [e.text for e in events if isinstance(e, Status)]
    assert any("No vision model is usable" in s and "OPENAI_API_KEY" in s for s in statuses)
    assert any("[OCR text of image 1 'bill.png']\nInvoice total 4217" in s for s in statuses)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text.startswith("_(No vision model is usable — answered from the image's text read by offline OCR.)_")
    sent = llm.requests[-1].messages[-1]["content"]
    assert isinstance(sent, str) and "Invoice total 4217" in sent and "OCR" in sent
    assert not any(isinstance(e, ModelChosen) and e.model == "gpt-4o" for e in events)


from vtai.testing import Text  # noqa: E402
