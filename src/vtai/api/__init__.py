"""The OpenAI-compatible HTTP API (FastAPI routers). ``create_router(runtime)`` returns every API route;
``create_api_app(runtime)`` serves them alone (``vtai api``). Nothing here imports chainlit.

    POST /v1/chat/completions   GET /v1/models[/{id}]   POST /v1/embeddings   GET /api/routes   GET /api/health
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from vtai import __version__
from vtai.api.auth import ApiConfig, Authenticator, StoreHandle
from vtai.api.chat import chat_router
from vtai.api.errors import APIError, openai_route
from vtai.api.health import health_router
from vtai.api.meta import meta_router
from vtai.api.threads import ThreadRecorder

__all__ = ["ApiConfig", "create_api_app", "create_router"]


def create_router(runtime: Any, config: ApiConfig | None = None, *, key_store: Any = None) -> APIRouter:
    """Every API route. ``key_store``: anything with ``async verify_api_key(plaintext) -> User | None``
    (default: the configured store, opened on first use)."""
    config = config or ApiConfig.from_settings(runtime.settings)
    store = StoreHandle(runtime)

    async def verifier() -> Any:
        return key_store if key_store is not None else await store.get()

    auth = Authenticator(config, verifier)
    route_class = openai_route(config.max_body_bytes)
    router = APIRouter()
    router.include_router(health_router(runtime, config))
    router.include_router(chat_router(runtime, auth, ThreadRecorder(store, config.store_threads), route_class))
    router.include_router(meta_router(runtime, auth, route_class))
    return router


def create_api_app(runtime: Any, config: ApiConfig | None = None, *, key_store: Any = None) -> FastAPI:
    """The API alone (``vtai api``): closes the runtime's parts on shutdown."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        try:
            yield
        finally:
            await runtime.aclose()

    app = FastAPI(title="VT.ai API", version=__version__, lifespan=lifespan,
                  description="OpenAI-compatible chat with semantic routing (`model: vtai/auto`).")
    app.include_router(create_router(runtime, config, key_store=key_store))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # Unknown paths and wrong methods (the routes handle their own errors).
        return APIError(exc.status_code, str(exc.detail), code="not_found" if exc.status_code == 404 else None,
                        headers=dict(exc.headers or {})).response()

    return app
