"""``GET /v1/models``, ``GET /v1/models/{id}``, ``POST /v1/embeddings`` and ``GET /api/routes``."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import numpy as np
from fastapi import APIRouter, Depends

from vtai.api.errors import APIError
from vtai.api.schemas import ERRORS, EmbeddingList, EmbeddingRequest, ModelInfo, ModelList
from vtai.errors import RoutingError
from vtai.llm.catalogue import Model, availability

AUTO_ID = "vtai/auto"
ENCODER_ID = "vtai/encoder"


def model_info(model: Model, settings: Any) -> dict[str, Any]:
    ok, hint = availability(model, settings)
    return {"id": model.id, "object": "model", "created": 0, "owned_by": model.provider,
            "vtai": {"available": ok, "hint": hint or None, "capabilities": sorted(model.capabilities),
                     "aliases": list(model.aliases), "context": model.context, "note": model.note or None}}


def auto_info(runtime: Any) -> dict[str, Any]:
    return {"id": AUTO_ID, "object": "model", "created": 0, "owned_by": "vtai",
            "vtai": {"available": True, "hint": None, "capabilities": ["chat", "tools", "vision"],
                     "aliases": [], "context": None,
                     "note": "Routes each request to a handler and model"
                             + ("" if runtime.engine.router else " (routing is off: the default model answers)")}}


def meta_router(runtime: Any, auth: Any, route_class: type) -> APIRouter:
    router = APIRouter(route_class=route_class, dependencies=[Depends(auth)], responses=ERRORS)

    @router.get("/v1/models", tags=["openai"], response_model=ModelList)
    async def list_models() -> dict:
        """The catalogue with availability (`vtai.available`, and `vtai.hint` saying how to enable one)."""
        data = [auto_info(runtime)] + [model_info(m, runtime.settings) for m in runtime.catalogue]
        return {"object": "list", "data": data}

    @router.get("/v1/models/{model_id:path}", tags=["openai"], response_model=ModelInfo)
    async def get_model(model_id: str) -> dict:
        if model_id.strip().lower() == AUTO_ID:
            return auto_info(runtime)
        return model_info(runtime.catalogue.get(model_id), runtime.settings)

    @router.post("/v1/embeddings", tags=["openai"], response_model=EmbeddingList)
    async def embeddings(body: EmbeddingRequest) -> dict:
        """Embeddings from the router's encoder (L2-normalised). 503 when routing is off."""
        encoder = getattr(runtime.engine.router, "encoder", None)
        if encoder is None:
            raise APIError(503, "Embeddings use the router's encoder, and routing is off"
                                + (f": {runtime.routing_error}" if runtime.routing_error else "")
                                + ". Turn routing on (VTAI_DYNAMIC_ROUTING=true).", code="encoder_unavailable")
        if body.model not in (ENCODER_ID, encoder.id, AUTO_ID):
            raise APIError(404, f"Unknown embedding model '{body.model}': this server embeds with "
                                f"'{ENCODER_ID}' ({encoder.id}).", code="model_not_found", param="model")
        texts = [body.input] if isinstance(body.input, str) else list(body.input)
        try:
            vectors = await asyncio.to_thread(encoder.embed, texts)
        except RoutingError as exc:
            raise APIError(503, str(exc), code="encoder_unavailable") from None
        if body.dimensions is not None and body.dimensions != vectors.shape[1]:
            raise APIError(400, f"This encoder makes {vectors.shape[1]}-dimensional vectors; "
                                f"dimensions={body.dimensions} is not supported.", param="dimensions")
        data = [{"object": "embedding", "index": i, "embedding": _encode(v, body.encoding_format)}
                for i, v in enumerate(vectors)]
        tokens = sum(len(t.split()) for t in texts)
        return {"object": "list", "data": data, "model": encoder.id,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}

    @router.get("/api/routes", tags=["vtai"])
    async def routes() -> dict:
        """The route table used by `vtai/auto` (from the running router, else the routes files)."""
        router_ = runtime.engine.router
        route_set = getattr(router_, "routes", None)
        if route_set is None:
            from vtai.routing import load_routes, user_routes_path

            try:
                route_set = load_routes(user_routes_path(runtime.settings.home))
            except RoutingError as exc:
                raise APIError(503, str(exc), code="routes_unavailable") from None
        thresholds = router_.thresholds if router_ is not None else {}
        return {
            "enabled": router_ is not None, "error": runtime.routing_error,
            "encoder": getattr(getattr(router_, "encoder", None), "id", None),
            "default_route": route_set.default_route,
            "routes": [{"name": r.name, "handler": r.handler, "description": r.description,
                        "threshold": round(thresholds.get(r.name, r.threshold), 4),
                        "preferred_models": list(r.preferred_models), "requires": r.requires,
                        "utterances": len(r.utterances)} for r in route_set.routes],
        }

    return router


def _encode(vector: np.ndarray, fmt: str | None) -> list[float] | str:
    if fmt == "base64":
        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()
    return [float(x) for x in vector]
