"""Image generation over real HTTP (LiteLLM → fake OpenAI server); images land under $VTAI_HOME."""

from __future__ import annotations

import io

from PIL import Image as PILImage

from vtai.events import Done, Error, Image, RouteChosen
from vtai.handlers.image import _image_bytes, image_params
from vtai.testing import Fault

from .conftest import files_under, make_engine, run

GPT_IMAGE_SETTINGS = {"image_size": "1024x1536", "image_quality": "low", "image_background": "opaque",
                      "image_output_format": "jpeg", "image_compression": 55}


async def test_gpt_image_1_settings_reach_the_provider_and_the_file_is_saved(provider_env, home):
    engine, _ = make_engine("image", preferred=["gpt-image-1", "dall-e-3"], wire=True)
    events, conv = await run(engine, "a lighthouse at dusk", extra=dict(GPT_IMAGE_SETTINGS))
    assert next(e for e in events if isinstance(e, RouteChosen)).model == "gpt-image-1"
    body = provider_env.requests_to("images")[-1].json
    assert body["prompt"] == "a lighthouse at dusk" and body["model"] == "gpt-image-1"
    assert (body["size"], body["quality"], body["background"], body["output_format"], body["output_compression"]) \
        == ("1024x1536", "low", "opaque", "jpeg", 55)
    image = next(e for e in events if isinstance(e, Image))
    assert image.mime == "image/jpeg" and image.prompt == "a lighthouse at dusk" and image.path.endswith(".jpg")
    with PILImage.open(image.path) as img:
        assert img.size == (1024, 1536) and img.format == "JPEG"
    assert files_under(home / "files") == [home / "files" / "user-1" / "thread-1" / image.path.rsplit("/", 1)[1]]
    assert [m.role for m in conv.messages] == ["user", "assistant"]
    assert conv.messages[0].content == "a lighthouse at dusk" and "gpt-image-1" in conv.messages[1].content
    assert isinstance(events[-1], Done) and events[-1].model == "gpt-image-1"


async def test_dall_e_3_gets_only_the_settings_it_accepts(provider_env):
    engine, _ = make_engine("image", preferred=["dall-e-3"], wire=True)
    events, _ = await run(engine, "a red fox", extra={**GPT_IMAGE_SETTINGS, "image_size": "1792x1024",
                                                     "image_quality": "hd"})
    body = provider_env.requests_to("images")[-1].json
    assert body["model"] == "dall-e-3" and body["size"] == "1792x1024" and body["quality"] == "hd"
    assert "background" not in body and "output_format" not in body and "output_compression" not in body
    image = next(e for e in events if isinstance(e, Image))
    with PILImage.open(image.path) as img:
        assert img.size == (1792, 1024) and img.format == "PNG"


async def test_image_url_answers_are_downloaded(provider_env):
    """Some OpenAI-compatible servers answer with a link instead of base64: the handler downloads it."""
    engine, llm = make_engine("image", wire=True)
    model = engine.catalogue.get("dall-e-3")
    assert image_params(model, {})["response_format"] == "b64_json"
    response = await llm.call("aimage_generation", model, prompt="a linked image", response_format="url")
    assert response.data[0].url.startswith(provider_env.url)
    with PILImage.open(io.BytesIO(await _image_bytes(response.data[0]))) as img:
        assert img.format == "PNG"


async def test_two_requests_never_share_a_file(provider_env):
    engine, _ = make_engine("image", preferred=["gpt-image-1"], wire=True)
    a, conv = await run(engine, "same prompt")
    b, _ = await run(engine, "same prompt", conv)
    assert next(e for e in a if isinstance(e, Image)).path != next(e for e in b if isinstance(e, Image)).path


async def test_no_image_model_names_the_keys():
    engine, llm = make_engine("image")
    events, _ = await run(engine, "a cat in a hat")
    err = next(e for e in events if isinstance(e, Error))
    assert "OPENAI_API_KEY" in err.message and "GEMINI_API_KEY" in err.message and "imagen-4" in err.message
    assert llm.requests == []


async def test_provider_refusal_is_a_clear_error_and_nothing_is_saved(provider_env, home):
    engine, _ = make_engine("image", preferred=["gpt-image-1"], wire=True)
    provider_env.enqueue(Fault("status", status=400), endpoint="images")
    events, _ = await run(engine, "something refused")
    err = next(e for e in events if isinstance(e, Error))
    assert err.status == 400 and err.error_type == "provider"
    provider_env.enqueue(Fault("empty_completion"), endpoint="images")
    events, _ = await run(engine, "nothing comes back")
    assert "returned no image" in next(e for e in events if isinstance(e, Error)).message
    assert not (home / "files").exists() or files_under(home / "files") == []


def test_quality_values_go_only_to_models_that_take_them():
    from vtai.llm.catalogue import load_catalogue

    cat = load_catalogue()
    assert "quality" not in image_params(cat.get("gpt-image-1"), {"image_quality": "hd"})
    assert image_params(cat.get("gpt-image-1"), {"image_quality": "high"})["quality"] == "high"
    assert "quality" not in image_params(cat.get("dall-e-3"), {"image_quality": "low"})
    assert "output_compression" not in image_params(cat.get("gpt-image-1"), {"image_compression": 50,
                                                                            "image_output_format": "png"})
