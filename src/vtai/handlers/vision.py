"""The vision handler: attached images and image links, sent as data-URL image parts to a vision model.

With no usable vision model it says so, reads the image's text with offline OCR and lets the chat model answer
from that text, labelled as OCR.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from vtai.engine import Turn
from vtai.errors import InputError
from vtai.events import Event, ModelChosen, Status, TextDelta
from vtai.handlers import handler
from vtai.handlers.chat import chat_request, stream_answer
from vtai.media.config import media_config
from vtai.media.images import fetch_image, image_urls, ocr_image, validate_image
from vtai.messages import ImagePart

OCR_NOTE = "_(No vision model is usable — answered from the image's text read by offline OCR.)_\n\n"
ENABLE_HINT = "set OPENAI_API_KEY (gpt-4o), ANTHROPIC_API_KEY (Claude) or GEMINI_API_KEY (Gemini), or run a " \
              "vision model in Ollama (ollama/llava)"


async def collect_images(turn: Turn) -> list[ImagePart]:
    """The message's images: uploads (validated) plus image links in its text (fetched and validated)."""
    config = media_config(turn.engine)
    images = [p for p in turn.message.parts if isinstance(p, ImagePart)]
    for part in images:
        if part.data is None and part.url:
            fetched = await fetch_image(part.url, max_bytes=int(config.max_file_mb * 1024 * 1024),
                                        allow_private=config.allow_private_urls, max_pixels=config.max_image_pixels)
            part.data, part.mime = fetched.data, fetched.mime
        elif part.data is not None:
            part.mime = validate_image(part.data, part.name, config.max_image_pixels).mime
    known = {p.url for p in images if p.url}
    for url in image_urls(turn.message.content):
        if url not in known:
            part = await fetch_image(url, max_bytes=int(config.max_file_mb * 1024 * 1024),
                                     allow_private=config.allow_private_urls, max_pixels=config.max_image_pixels)
            turn.message.parts.append(part)
            images.append(part)
    return images


def vision_model(turn: Turn):
    if turn.model.can("vision") and turn.engine.usable(turn.model):
        return turn.model
    return next((m for m in turn.engine.catalogue.with_capability("vision") if turn.engine.usable(m)), None)


@handler("vision", needs="vision")
async def vision(turn: Turn) -> AsyncIterator[Event]:
    images = await collect_images(turn)
    if not images:
        raise InputError("Attach an image (PNG, JPEG, WebP or GIF) or paste a link to one, then ask about it.")
    model = vision_model(turn)
    if model is not None:
        if model is not turn.model:
            turn.model = model
            yield ModelChosen(model.id, "the first usable vision model")
        async for event in stream_answer(turn, chat_request(turn)):
            yield event
        return
    yield Status(f"No vision model is usable ({ENABLE_HINT}); reading the image text with offline OCR…")
    blocks = []
    for i, image in enumerate(images, 1):
        text = (await ocr_image(image.data or b"")).strip()
        blocks.append(f"[OCR text of image {i} '{image.name}']\n{text or '(no text found)'}")
    ocr = "\n\n".join(blocks)
    yield Status(ocr)
    request = chat_request(turn)
    last = request.messages[-1]
    question = turn.message.content or "What does this image say?"
    last["content"] = (f"{question}\n\nI cannot see the image itself; its text was read by OCR. Answer from "
                       f"this OCR text and say that you did:\n\n{ocr}")
    yield TextDelta(OCR_NOTE)
    async for event in stream_answer(turn, request):
        yield event
