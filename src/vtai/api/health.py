"""``GET /api/health`` (no key needed: load balancers poll it)."""

from __future__ import annotations

from fastapi import APIRouter

from vtai import __version__


def health_router(runtime, config=None) -> APIRouter:
    router = APIRouter()

    @router.get("/api/health", tags=["meta"])
    async def health() -> dict:
        engine = runtime.engine
        body = {
            "status": "ok",
            "version": __version__,
            "local_model": runtime.llm.local.health(),
            "routing": {"enabled": engine.router is not None, "error": runtime.routing_error,
                        "encoder": getattr(getattr(engine.router, "encoder", None), "id", None)},
            # Models that failed repeatedly and are skipped for a cool-down (reliability layer).
            "circuit_breakers": runtime.llm.breaker_states() if hasattr(runtime.llm, "breaker_states") else {},
            "sandbox": {"available": "sandbox" in engine.services, "error": engine.services.get("sandbox_error")},
        }
        if config is not None:
            body["api"] = {"auth_required": config.require_auth,
                           "rate_limit_per_minute": config.rate_limit_per_minute,
                           "max_body_bytes": config.max_body_bytes}
        return body

    return router
