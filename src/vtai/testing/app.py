"""The fake server's ASGI app: every endpoint records its request, asks the state for a scripted reply,
and answers (or fails) the way OpenAI does. Routes answer both with and without the ``/v1`` prefix."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from vtai.testing import chat, media, wire
from vtai.testing.replies import Fault, Text, reply_from_dict
from vtai.testing.state import RecordedRequest, ServerState, UploadedFile


def _error(status: int, message: str) -> JSONResponse:
    return wire.status_response(Fault("status", status=status, message=message))


async def _record(request: Request, state: ServerState, endpoint: str | None) -> RecordedRequest:
    json_body: Any = None
    form: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        async with request.form(max_part_size=64 * 1024 * 1024) as data:
            for key, value in data.multi_items():
                if isinstance(value, UploadFile):
                    name = key if key not in files else f"{key}[{len(files)}]"
                    files[name] = UploadedFile(value.filename, value.content_type, await value.read())
                else:
                    form[key] = value
    else:
        raw = await request.body()
        if raw:
            try:
                json_body = json.loads(raw)
            except ValueError:
                json_body = raw.decode("utf-8", "replace")
    recorded = RecordedRequest(
        method=request.method,
        path=request.url.path,
        endpoint=endpoint,
        headers=dict(request.headers),
        query=dict(request.query_params),
        json=json_body,
        form=form,
        files=files,
    )
    state.record(recorded)
    return recorded


class Endpoints:
    def __init__(self, state: ServerState, stopping: asyncio.Event):
        self.state, self.stopping = state, stopping

    async def _begin(self, request: Request, endpoint: str) -> tuple[RecordedRequest, Any, Response | None]:
        """Record, pick the scripted reply, and apply the faults that strike before any byte."""
        recorded = await _record(request, self.state, endpoint)
        scripted = self.state.pick(recorded)
        fault = scripted if isinstance(scripted, Fault) else None
        early = await wire.before_response(fault, request.scope, self.stopping)
        if early is None and fault is not None and fault.kind == "slow":
            await asyncio.sleep(0.1 if fault.delay_s is None else fault.delay_s)
        return recorded, scripted, early

    def _deliver(self, request: Request, scripted: Any, body: bytes, media_type: str, **kw: Any) -> Response:
        if isinstance(scripted, Fault) and scripted.kind in wire.MID_STREAM:
            return wire.split_body(scripted, body, media_type, request.scope, self.stopping)
        return Response(body, media_type=media_type, **kw)

    async def chat(self, request: Request) -> Response:
        recorded = await _record(request, self.state, "chat")
        if not isinstance(recorded.json, dict) or not recorded.messages:
            return _error(400, "'messages' is required and must be a non-empty array")
        return await chat.respond(recorded, self.state.pick(recorded), request.scope, self.stopping)

    async def _images_payload(self, request: Request, prompt: str, size: tuple[int, int], body: dict) -> dict:
        fmt = (body.get("output_format") or "png").lower()
        n = int(body.get("n") or 1)
        model = body.get("model") or ""
        as_url = body.get("response_format") == "url" or (
            body.get("response_format") is None and not model.startswith("gpt-image")
        )
        data = []
        for i in range(n):
            # Pillow off the event loop: a 1024² image takes long enough to delay other streams' tokens.
            png = await asyncio.to_thread(media.image_bytes, f"{prompt}#{i}", size, fmt)
            if as_url:
                name = f"{uuid.uuid4().hex}.{fmt}"
                self.state.files[name] = (png, f"image/{'jpeg' if fmt == 'jpg' else fmt}")
                data.append({"url": f"{str(request.base_url).rstrip('/')}/files/{name}", "revised_prompt": prompt})
            else:
                data.append({"b64_json": base64.b64encode(png).decode(), "revised_prompt": prompt})
        words = len(prompt.split())
        usage = {
            "input_tokens": words,
            "output_tokens": 100 * n,
            "total_tokens": words + 100 * n,
            "input_tokens_details": {"text_tokens": words, "image_tokens": 0},
        }
        return {"created": int(time.time()), "data": data, "usage": usage}

    async def images(self, request: Request) -> Response:
        recorded, scripted, early = await self._begin(request, "images")
        if early is not None:
            return early
        body = recorded.json if isinstance(recorded.json, dict) else {}
        if not body.get("prompt"):
            return _error(400, "'prompt' is required")
        try:
            size = media.parse_size(body.get("size"))
        except ValueError:
            return _error(400, f"Invalid value for 'size': {body.get('size')!r}")
        if isinstance(scripted, Fault) and scripted.kind == "empty_completion":
            return JSONResponse({"created": int(time.time()), "data": []})
        payload = await self._images_payload(request, body["prompt"], size, body)
        return self._deliver(request, scripted, json.dumps(payload).encode(), "application/json")

    async def image_edits(self, request: Request) -> Response:
        recorded, scripted, early = await self._begin(request, "image_edits")
        if early is not None:
            return early
        images = [f for name, f in recorded.files.items() if name.startswith("image")]
        if not images or not recorded.form.get("prompt"):
            return _error(400, "'image' and 'prompt' are required")
        from PIL import Image, UnidentifiedImageError

        try:
            source = Image.open(io.BytesIO(images[0].data)).size
        except UnidentifiedImageError:
            return _error(400, "Invalid image file or mode for image 1, please check your image file.")
        size = media.parse_size(recorded.form.get("size"), default=source)
        payload = await self._images_payload(request, recorded.form["prompt"], size, dict(recorded.form))
        return self._deliver(request, scripted, json.dumps(payload).encode(), "application/json")

    async def speech(self, request: Request) -> Response:
        recorded, scripted, early = await self._begin(request, "speech")
        if early is not None:
            return early
        body = recorded.json if isinstance(recorded.json, dict) else {}
        if not body.get("input") or not body.get("voice"):
            return _error(400, "'input' and 'voice' are required")
        if len(body["input"]) > 4096:
            return _error(400, "'input' is too long: at most 4096 characters")
        if isinstance(scripted, Fault) and scripted.kind == "empty_completion":
            return Response(b"", media_type="audio/mpeg")
        audio, media_type, fmt = media.speech_audio(body["input"], body.get("response_format") or "mp3")
        return self._deliver(request, scripted, audio, media_type, headers={"x-fake-audio-format": fmt})

    async def transcriptions(self, request: Request, endpoint: str = "transcriptions") -> Response:
        recorded, scripted, early = await self._begin(request, endpoint)
        if early is not None:
            return early
        upload = recorded.files.get("file")
        if upload is None or not recorded.form.get("model"):
            return _error(400, "'file' and 'model' are required")
        if isinstance(scripted, Text):
            text = scripted.text
        elif isinstance(scripted, Fault) and scripted.kind == "empty_completion":
            text = ""
        else:
            text = f"fake transcript of {upload.filename} ({upload.size} bytes)"
        body, media_type = _transcript(text, recorded.form.get("response_format") or "json", endpoint)
        return self._deliver(request, scripted, body, media_type)

    async def translations(self, request: Request) -> Response:
        return await self.transcriptions(request, "translations")

    async def embeddings(self, request: Request) -> Response:
        recorded, scripted, early = await self._begin(request, "embeddings")
        if early is not None:
            return early
        body = recorded.json if isinstance(recorded.json, dict) else {}
        texts = _embedding_inputs(body.get("input"))
        if texts is None:
            return _error(400, "'input' must be a string, an array of strings or an array of token arrays")
        dim = int(body.get("dimensions") or self.state.embedding_dim)
        as_b64 = body.get("encoding_format") == "base64"
        data = []
        for i, text in enumerate(texts):
            vector = media.embedding(text, dim)
            data.append(
                {"object": "embedding", "index": i, "embedding": media.embedding_b64(vector) if as_b64 else vector}
            )
        n_tokens = sum(len(t.split()) for t in texts)
        payload = {
            "object": "list",
            "data": [] if isinstance(scripted, Fault) and scripted.kind == "empty_completion" else data,
            "model": body.get("model") or "fake-embedding",
            "usage": {"prompt_tokens": n_tokens, "total_tokens": n_tokens},
        }
        return self._deliver(request, scripted, json.dumps(payload).encode(), "application/json")

    async def models(self, request: Request) -> Response:
        await _record(request, self.state, "models")
        wanted = request.path_params.get("model")
        rows = [{"id": m, "object": "model", "created": 0, "owned_by": "vtai-fake"} for m in self.state.models]
        if wanted is None:
            return JSONResponse({"object": "list", "data": rows})
        match = [r for r in rows if r["id"] == wanted]
        return JSONResponse(match[0]) if match else _error(404, f"The model '{wanted}' does not exist")

    async def files(self, request: Request) -> Response:
        found = self.state.files.get(request.path_params["name"])
        return Response(found[0], media_type=found[1]) if found else _error(404, "No such file")

    async def not_found(self, request: Request) -> Response:
        await _record(request, self.state, None)
        return _error(404, f"Unknown endpoint {request.method} {request.url.path}")


def _transcript(text: str, fmt: str, task: str) -> tuple[bytes, str]:
    duration = media.speech_seconds(text)
    if fmt == "text":
        return text.encode(), "text/plain; charset=utf-8"
    if fmt in ("srt", "vtt"):
        stamp = "00:00:00{sep}000 --> 00:00:{end:02d}{sep}000".format(
            sep="," if fmt == "srt" else ".", end=int(duration) + 1
        )
        head = "WEBVTT\n\n" if fmt == "vtt" else "1\n"
        return f"{head}{stamp}\n{text}\n".encode(), "text/plain; charset=utf-8"
    payload: dict[str, Any] = {"text": text}
    if fmt == "verbose_json":
        segment = {
            "id": 0,
            "seek": 0,
            "start": 0.0,
            "end": duration,
            "text": text,
            "tokens": [],
            "temperature": 0.0,
            "avg_logprob": -0.1,
            "compression_ratio": 1.0,
            "no_speech_prob": 0.0,
        }
        payload.update(
            task="transcribe" if task == "transcriptions" else "translate",
            language="english",
            duration=duration,
            segments=[segment],
        )
    return json.dumps(payload).encode(), "application/json"


def _embedding_inputs(value: Any) -> list[str] | None:
    if isinstance(value, str) and value:
        return [value]
    if isinstance(value, list) and value:
        if all(isinstance(v, str) for v in value):
            return value
        if all(isinstance(v, int) for v in value):
            return [" ".join(map(str, value))]
        if all(isinstance(v, list) for v in value):
            return [" ".join(map(str, v)) for v in value]
    return None


def _control_routes(state: ServerState) -> list[Route]:
    """/_fake/*: script a server running in another process (not recorded)."""

    async def enqueue(request: Request) -> Response:
        spec = await request.json()
        for item in spec if isinstance(spec, list) else [spec]:
            state.enqueue(reply_from_dict(item), model=item.get("model"), endpoint=item.get("endpoint"))
        return JSONResponse({"pending": state.pending})

    async def behaviour(request: Request) -> Response:
        spec = await request.json()
        state.set_behaviour(spec.pop("model"), reply_from_dict(spec) if spec else None)
        return JSONResponse({"ok": True})

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"ok": True})

    async def requests(request: Request) -> Response:
        return JSONResponse([request_dict(r) for r in list(state.requests)])

    return [
        Route("/_fake/enqueue", enqueue, methods=["POST"]),
        Route("/_fake/behaviour", behaviour, methods=["POST"]),
        Route("/_fake/reset", reset, methods=["POST"]),
        Route("/_fake/requests", requests, methods=["GET"]),
    ]


def request_dict(r: RecordedRequest) -> dict[str, Any]:
    files = {k: {"filename": f.filename, "content_type": f.content_type, "size": f.size} for k, f in r.files.items()}
    return {
        "method": r.method,
        "path": r.path,
        "endpoint": r.endpoint,
        "headers": r.headers,
        "query": r.query,
        "json": r.json,
        "form": r.form,
        "files": files,
    }


def build_app(state: ServerState, stopping: asyncio.Event):
    e = Endpoints(state, stopping)
    api = [
        ("/chat/completions", e.chat, ["POST"]),
        ("/images/generations", e.images, ["POST"]),
        ("/images/edits", e.image_edits, ["POST"]),
        ("/audio/speech", e.speech, ["POST"]),
        ("/audio/transcriptions", e.transcriptions, ["POST"]),
        ("/audio/translations", e.translations, ["POST"]),
        ("/embeddings", e.embeddings, ["POST"]),
        ("/models", e.models, ["GET"]),
        ("/models/{model:path}", e.models, ["GET"]),
    ]
    routes = [Route(prefix + path, fn, methods=m) for prefix in ("/v1", "") for path, fn, m in api]
    routes += _control_routes(state)
    routes += [
        Route("/files/{name}", e.files, methods=["GET"]),
        Route("/health", lambda r: PlainTextResponse("ok"), methods=["GET"]),
        Route("/{rest:path}", e.not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
    ]
    starlette = Starlette(routes=routes)

    async def asgi(scope, receive, send):
        if scope["type"] == "http":
            # uvicorn's `send` is a bound method of the per-request cycle, which holds the TCP transport:
            # the only way to drop a connection mid-response from inside an ASGI app.
            scope[wire.TRANSPORT_KEY] = getattr(getattr(send, "__self__", None), "transport", None)
        await starlette(scope, receive, send)

    return asgi
