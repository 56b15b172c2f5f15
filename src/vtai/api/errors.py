"""OpenAI-shaped errors, and the route class that turns every failure into one (never a stack trace).

The API's routes are also inserted into Chainlit's app by ``vtai serve``, where app-level exception handlers and
middleware are not ours; so the body limit and the error mapping live in :class:`OpenAIRoute`, which travels with
each route.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from vtai.errors import (
    InputError,
    MissingKeyError,
    NotFoundError,
    ProviderError,
    UnknownModelError,
    UserError,
    VtaiError,
    redact,
)
from vtai.events import Error

log = logging.getLogger(__name__)
TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
         413: "invalid_request_error", 429: "rate_limit_error", 503: "service_unavailable"}


class APIError(Exception):
    """An HTTP error in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None,
                 type: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = redact(message)
        self.code = code
        self.param = param
        self.type = type or TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def from_exception(exc: VtaiError) -> APIError:
    if isinstance(exc, UnknownModelError):
        return APIError(404, str(exc), code="model_not_found", param="model")
    if isinstance(exc, MissingKeyError):
        return APIError(404, f"{exc} (model not available on this server)", code="model_not_available",
                        param="model")
    if isinstance(exc, NotFoundError):
        return APIError(404, str(exc), code="not_found")
    if isinstance(exc, InputError | UserError):
        return APIError(400, str(exc), code="invalid_request")
    if isinstance(exc, ProviderError):
        return upstream(str(exc), exc.status)
    return APIError(500, f"Internal error ({type(exc).__name__}): {exc}", code="internal_error")


def upstream(message: str, status: int | None) -> APIError:
    """An upstream model failure: 429 stays 429 (so clients back off), timeouts are 504, the rest 502."""
    code = f"upstream_{status}" if status else "upstream_error"
    if status == 429:
        return APIError(429, message, code=code, type="rate_limit_error")
    if status in (408, 504):
        return APIError(504, message, code=code, type="upstream_error")
    return APIError(502, message, code=code, type="upstream_error")


def from_event(event: Error) -> APIError:
    if event.error_type == "provider":
        return upstream(event.message, event.status)
    if event.error_type == "user":
        not_found = "Unknown model" in event.message or "No API key" in event.message
        return APIError(404 if not_found else 400, event.message,
                        code="model_not_available" if not_found else "invalid_request")
    return APIError(500, event.message, code="internal_error")


def validation_error(exc: RequestValidationError) -> APIError:
    errors = list(exc.errors())
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        detail = (first.get("ctx") or {}).get("error", "")
        return APIError(400, f"The request body is not valid JSON ({detail}).", code="invalid_json")
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body",)]
    param = ".".join(loc) or None
    msg = first.get("msg", "invalid request")
    if param == "n":
        msg = "Only n=1 is supported: request one choice at a time."
    elif first.get("type") == "missing":
        msg = f"Missing required parameter: '{param}'."
    elif param:
        msg = f"Invalid value for '{param}': {msg}"
    if len(errors) > 1:
        msg += f" ({len(errors) - 1} more problem(s) in the request)"
    return APIError(400, msg, code="invalid_request", param=param)


async def read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            size = int(declared)
        except ValueError:
            raise APIError(400, "Invalid Content-Length header.", code="invalid_request") from None
        if size > limit:
            raise too_large(limit)
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def too_large(limit: int) -> APIError:
    return APIError(413, f"Request body too large: the limit is {limit // (1024 * 1024)} MB "
                         f"({limit} bytes). Send smaller or fewer images.", code="request_too_large")


def openai_route(max_body_bytes: int) -> type[APIRoute]:
    """A route class with a body size limit whose failures are OpenAI-shaped JSON errors."""

    class OpenAIRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                try:
                    if request.method in ("POST", "PUT", "PATCH"):
                        request._body = await read_limited(request, max_body_bytes)
                    return await handler(request)
                except APIError as exc:
                    return exc.response()
                except RequestValidationError as exc:
                    return validation_error(exc).response()
                except HTTPException as exc:
                    return APIError(exc.status_code, str(exc.detail), headers=dict(exc.headers or {})).response()
                except VtaiError as exc:
                    return from_exception(exc).response()
                except ClientDisconnect:
                    return Response(status_code=499)
                except Exception:  # noqa: BLE001 - the one place the HTTP adapter turns bugs into a 500
                    log.exception("unhandled error in %s %s", request.method, request.url.path)
                    return APIError(500, "Internal server error (details are in the server log).",
                                    code="internal_error").response()

            return guarded

    return OpenAIRoute
