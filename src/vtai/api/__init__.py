"""The HTTP API (FastAPI routers). ``create_router(runtime)`` returns every API route; nothing here imports
chainlit, so ``vtai api`` can serve it headless."""

from __future__ import annotations

from fastapi import APIRouter

from vtai.api.health import health_router


def create_router(runtime) -> APIRouter:
    router = APIRouter()
    router.include_router(health_router(runtime))
    return router
