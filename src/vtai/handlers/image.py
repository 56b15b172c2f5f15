"""The image-generation handler: LiteLLM's async image API; images saved under ``$VTAI_HOME/files/…``.

Chat options (``ChatOptions.extra``) it reads — each is sent only to models that accept it:
``image_size`` ("1024x1024", "1536x1024", "1024x1536", "1792x1024", "auto" …), ``image_quality``
(gpt-image-1: low/medium/high/auto; dall-e-3: standard/hd), ``image_background`` (gpt-image-1:
transparent/opaque/auto), ``image_output_format`` (gpt-image-1: png/jpeg/webp), ``image_compression``
(gpt-image-1, jpeg/webp: 0–100), ``image_model`` (a catalogue id).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx

from vtai.engine import Turn
from vtai.errors import InputError, ProviderError, UserError
from vtai.events import Done, Event, Image, ModelChosen, TextDelta
from vtai.handlers import handler
from vtai.llm.catalogue import Model
from vtai.media.images import validate_image
from vtai.media.speech import pick_media_model
from vtai.media.storage import new_media_path
from vtai.messages import Message

ENABLE_HINT = ("No image model is usable. Set OPENAI_API_KEY for gpt-image-1 / dall-e-3 or GEMINI_API_KEY for "
               "imagen-4 (`vtai keys set openai` / `vtai keys set gemini`).")
EXT = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}


def image_params(model: Model, extra: dict[str, Any]) -> dict[str, Any]:
    """LiteLLM ``aimage_generation`` arguments for ``model`` from the chat's image settings."""
    size = extra.get("image_size")
    quality = extra.get("image_quality")
    kw: dict[str, Any] = {"n": 1}
    if size and size != "auto" and model.provider != "gemini":
        kw["size"] = size
    if model.name.startswith("gpt-image"):
        if quality in ("low", "medium", "high", "auto"):  # dall-e-3's standard/hd would be refused
            kw["quality"] = quality
        for key, arg in (("image_background", "background"), ("image_output_format", "output_format")):
            if extra.get(key):
                kw[arg] = extra[key]
        compression = extra.get("image_compression")
        if compression is not None and extra.get("image_output_format") in ("jpeg", "webp"):
            kw["output_compression"] = max(0, min(100, int(compression)))
    elif model.name.startswith("dall-e"):
        kw["response_format"] = "b64_json"
        if quality in ("standard", "hd"):
            kw["quality"] = quality
    return kw


async def _image_bytes(item: Any) -> bytes:
    b64 = getattr(item, "b64_json", None) or (item.get("b64_json") if isinstance(item, dict) else None)
    if b64:
        return base64.b64decode(b64)
    url = getattr(item, "url", None) or (item.get("url") if isinstance(item, dict) else None)
    if not url:
        raise ProviderError("The image model returned no image.")
    async with httpx.AsyncClient(timeout=60) as client:  # the provider's own storage link
        resp = await client.get(url)
    if resp.status_code != 200:
        raise ProviderError(f"Downloading the generated image failed (HTTP {resp.status_code}).",
                            status=resp.status_code)
    return resp.content


def _prompt(turn: Turn) -> str:
    prompt = turn.message.content.strip()
    if not prompt:
        raise InputError("Describe the image you want.")
    return prompt


@handler("image", needs="image_generation")
async def image(turn: Turn) -> AsyncIterator[Event]:
    extra = turn.options.extra
    model = pick_media_model(turn.engine.catalogue, turn.settings, "image_generation",
                             extra.get("image_model") or (turn.model if turn.model.can("image_generation") else None))
    if model is None or not hasattr(turn.llm, "call"):
        raise UserError(ENABLE_HINT)
    if model is not turn.model:
        yield ModelChosen(model.id, "image model")
    prompt = _prompt(turn)
    response = await turn.llm.call("aimage_generation", model, prompt=prompt, **image_params(model, extra))
    items = list(getattr(response, "data", None) or [])
    if not items:
        raise ProviderError(f"{model.id} returned no image (the prompt may have been refused).", model=model.id)
    conv = turn.conversation
    saved = []
    for item in items:
        data = await _image_bytes(item)
        info = validate_image(data, "generated image")
        path = new_media_path(turn.settings.home, conv.user_id, conv.id, "image", EXT.get(info.mime, "png"))
        await asyncio.to_thread(path.write_bytes, data)
        saved.append(path)
        yield Image(str(path), info.mime, prompt)
    revised = getattr(items[0], "revised_prompt", None)
    note = f"Image generated with {model.id}" + (f" (revised prompt: {revised})" if revised and revised != prompt
                                                  else "") + "."
    yield TextDelta(note)
    conv.add(Message.text("assistant", f"{note} Saved to: {', '.join(p.name for p in saved)}"))
    yield Done(model=model.id)
