"""``GET /api/health``."""

from __future__ import annotations

from fastapi import APIRouter

from vtai import __version__


def health_router(runtime) -> APIRouter:
    router = APIRouter()

    @router.get("/api/health", tags=["meta"])
    async def health() -> dict:
        engine = runtime.engine
        return {
            "status": "ok",
            "version": __version__,
            "local_model": runtime.llm.local.health(),
            "routing": {"enabled": engine.router is not None, "error": runtime.routing_error},
        }

    return router
