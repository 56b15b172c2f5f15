"""Images, speech, transcription, embeddings and models: real bytes, checked by real decoders."""

from __future__ import annotations

import base64
import io
import math
import os
import wave

import httpx
import openai
import pytest
from PIL import Image

from vtai.testing import Fault, Text

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


@pytest.fixture
def client(server):
    with openai.OpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as c:
        yield c


def _png(size=(32, 24)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, "red").save(buf, format="PNG")
    return buf.getvalue()


def test_image_generation_returns_a_png_of_the_requested_size(server, client):
    r = client.images.generate(model="gpt-image-1", prompt="a red fox", size="256x256")
    image = Image.open(io.BytesIO(base64.b64decode(r.data[0].b64_json)))
    assert (image.format, image.size) == ("PNG", (256, 256))
    assert server.requests[0].json["prompt"] == "a red fox"


def test_image_generation_as_url_is_served_by_the_fake(server, client):
    r = client.images.generate(model="dall-e-3", prompt="a fox", size="128x64", response_format="url", n=2)
    assert len(r.data) == 2 and r.data[0].url.startswith(server.url + "/files/")
    images = [Image.open(io.BytesIO(httpx.get(d.url).content)) for d in r.data]
    assert [i.size for i in images] == [(128, 64), (128, 64)]
    assert images[0].tobytes() != images[1].tobytes()  # n images are n different pictures


def test_image_output_format_and_bad_size(client):
    r = client.images.generate(model="gpt-image-1", prompt="x", size="64x64", output_format="jpeg")
    assert Image.open(io.BytesIO(base64.b64decode(r.data[0].b64_json))).format == "JPEG"
    with pytest.raises(openai.BadRequestError):
        client.images.generate(model="gpt-image-1", prompt="x", size="big")


def test_image_edit_keeps_the_input_size_and_rejects_non_images(server, client):
    r = client.images.edit(model="gpt-image-1", image=("in.png", _png(), "image/png"), prompt="make it blue")
    assert Image.open(io.BytesIO(base64.b64decode(r.data[0].b64_json))).size == (32, 24)
    assert server.requests[0].form["prompt"] == "make it blue"
    assert server.requests[0].files["image"].filename == "in.png"
    with pytest.raises(openai.BadRequestError):
        client.images.edit(model="gpt-image-1", image=("x.png", b"not a png", "image/png"), prompt="x")


def test_speech_wav_is_a_real_sine_tone(server, client):
    audio = client.audio.speech.create(model="tts-1", voice="nova", input="Hello there, world", response_format="wav")
    with wave.open(io.BytesIO(audio.content)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 24_000)
        seconds = w.getnframes() / w.getframerate()
        frames = w.readframes(w.getnframes())
    assert 0.3 <= seconds <= 3.0
    samples = [int.from_bytes(frames[i : i + 2], "little", signed=True) for i in range(0, 4800, 2)]
    crossings = sum(1 for a, b in zip(samples, samples[1:], strict=False) if a < 0 <= b)
    assert math.isclose(crossings / (len(samples) / 24_000), 440, rel_tol=0.05)  # it is a 440 Hz tone
    assert server.requests[0].json == {
        "model": "tts-1",
        "voice": "nova",
        "input": "Hello there, world",
        "response_format": "wav",
    }


def test_speech_mp3_and_pcm(client):
    mp3 = client.audio.speech.create(model="tts-1", voice="alloy", input="hi")
    assert mp3.response.headers["content-type"] == "audio/mpeg"
    assert mp3.content[:2] == b"\xff\xfb" and len(mp3.content) % 417 == 0  # whole MPEG-1 Layer III frames
    pcm = client.audio.speech.create(model="tts-1", voice="alloy", input="hi", response_format="pcm")
    assert len(pcm.content) == int(0.3 * 24_000) * 2


def test_speech_requires_input(client):
    with pytest.raises(openai.BadRequestError):
        client.audio.speech.create(model="tts-1", voice="alloy", input="")


def test_transcription_default_scripted_and_formats(server, client):
    audio = ("clip.wav", b"RIFF" + bytes(96), "audio/wav")
    r = client.audio.transcriptions.create(model="whisper-1", file=audio)
    assert r.text == "fake transcript of clip.wav (100 bytes)"
    server.enqueue(Text("hello from the script"))
    text = client.audio.transcriptions.create(model="whisper-1", file=audio, response_format="text")
    assert text.strip() == "hello from the script"
    verbose = client.audio.transcriptions.create(model="whisper-1", file=audio, response_format="verbose_json")
    assert verbose.segments[0].text == verbose.text and verbose.duration > 0
    assert server.requests[0].files["file"].size == 100 and server.requests[0].form["model"] == "whisper-1"


def test_embeddings_are_deterministic_unit_vectors(server, client):
    a = client.embeddings.create(model="text-embedding-3-small", input=["cat", "dog", "cat"])  # base64 on the wire
    vectors = [d.embedding for d in a.data]
    assert [len(v) for v in vectors] == [384] * 3
    assert vectors[0] == vectors[2] and vectors[0] != vectors[1]
    assert math.isclose(sum(x * x for x in vectors[1]), 1.0, rel_tol=1e-4)
    floats = client.embeddings.create(model="m", input="cat", encoding_format="float", dimensions=64)
    assert len(floats.data[0].embedding) == 64
    assert server.requests[0].json["encoding_format"] == "base64"


def test_embedding_dimension_is_settable_per_server():
    from vtai.testing import FakeOpenAIServer

    with FakeOpenAIServer(embedding_dim=8) as server, httpx.Client(base_url=server.base_url) as c:
        r = c.post("/embeddings", json={"model": "m", "input": "x", "encoding_format": "float"}).json()
    assert len(r["data"][0]["embedding"]) == 8


def test_models_list_and_lookup(client):
    assert "gpt-4o-mini" in [m.id for m in client.models.list()]
    assert client.models.retrieve("whisper-1").id == "whisper-1"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("nope")


@pytest.mark.parametrize("endpoint", ["images", "speech", "transcriptions", "embeddings"])
def test_faults_apply_to_media_endpoints(server, client, endpoint):
    server.enqueue(Fault("status", status=503), endpoint=endpoint)
    with pytest.raises(openai.InternalServerError) as info:
        if endpoint == "images":
            client.images.generate(model="gpt-image-1", prompt="x", size="16x16")
        elif endpoint == "speech":
            client.audio.speech.create(model="tts-1", voice="alloy", input="x")
        elif endpoint == "transcriptions":
            client.audio.transcriptions.create(model="whisper-1", file=("a.wav", b"x", "audio/wav"))
        else:
            client.embeddings.create(model="m", input="x")
    assert info.value.status_code == 503


def test_cut_mid_body_on_a_media_endpoint(server, client):
    server.enqueue(Fault("cut_mid_stream"), endpoint="images")
    with pytest.raises(openai.APIConnectionError):
        client.images.generate(model="gpt-image-1", prompt="x", size="64x64")


@pytest.mark.filterwarnings("ignore:Items? .* `ReadOnly` qualifier:UserWarning")
async def test_litellm_media_calls_work_against_the_fake(server):
    import litellm

    common = {"api_base": server.base_url, "api_key": "sk-test"}
    image = await litellm.aimage_generation(model="openai/gpt-image-1", prompt="a fox", size="256x256", **common)
    assert Image.open(io.BytesIO(base64.b64decode(image.data[0].b64_json))).size == (256, 256)
    speech = await litellm.aspeech(model="openai/tts-1", voice="alloy", input="hi", response_format="wav", **common)
    assert speech.content[:4] == b"RIFF"
    transcript = await litellm.atranscription(model="openai/whisper-1", file=("a.wav", b"RIFF1234"), **common)
    assert transcript.text == "fake transcript of a.wav (8 bytes)"
    embedding = await litellm.aembedding(model="openai/text-embedding-3-small", input=["x"], **common)
    assert len(embedding.data[0]["embedding"]) == 384


@pytest.mark.parametrize(("fmt", "marker"), [("srt", "00:00:00,000 -->"), ("vtt", "WEBVTT")])
def test_subtitle_formats_and_translations(server, fmt, marker):
    files = {"file": ("a.mp3", b"abc", "audio/mpeg")}
    with httpx.Client(base_url=server.base_url) as c:
        subtitles = c.post("/audio/transcriptions", data={"model": "whisper-1", "response_format": fmt}, files=files)
        translated = c.post("/audio/translations", data={"model": "whisper-1"}, files=files)
    assert marker in subtitles.text and "fake transcript of a.mp3 (3 bytes)" in subtitles.text
    assert translated.json() == {"text": "fake transcript of a.mp3 (3 bytes)"}
    assert [r.endpoint for r in server.requests] == ["transcriptions", "translations"]
