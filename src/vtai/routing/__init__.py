"""Semantic routing: message → route (handler, preferred models). See docs/routing.md.

    router = build_router(settings)            # settings.home, settings.encoder
    choice = router.route("draw a cat", attachments=["image/png"])   # RouteChoice
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from vtai.routing.encoders import (
    DEFAULT_ENCODER,
    Encoder,
    FakeEncoder,
    FastEmbedEncoder,
    LiteLLMEmbeddingEncoder,
    make_encoder,
    register_encoder,
)
from vtai.routing.evaluate import Report, RouteMetrics, evaluate, fit, format_report, load_rows, write_thresholds
from vtai.routing.router import RouteChoice, Router, attachment_kind
from vtai.routing.routes import KNOWN_HANDLERS, Route, RouteSet, builtin_routes_path, load_routes

__all__ = [
    "DEFAULT_ENCODER", "KNOWN_HANDLERS", "Encoder", "FakeEncoder", "FastEmbedEncoder", "LiteLLMEmbeddingEncoder",
    "Report", "Route", "RouteChoice", "RouteMetrics", "RouteSet", "Router", "attachment_kind", "build_router",
    "builtin_routes_path", "evaluate", "fit", "format_report", "load_rows", "load_routes", "make_encoder",
    "register_encoder", "user_routes_path", "write_thresholds",
]


def user_routes_path(home: Path) -> Path:
    return Path(home) / "routes.yaml"


def build_router(settings: Any = None, *, home: Path | None = None, encoder: str | Encoder | None = None,
                 known_handlers: Collection[str] = KNOWN_HANDLERS) -> Router:
    """Shipped + user routes and the chosen encoder; vectors cached under ``home/cache``.

    ``settings`` is anything with ``.home`` and ``.encoder`` (vtai.settings.Settings); keywords override it.
    Raises RoutingError (bad routes file, missing encoder model); callers can then run with routing off.
    """
    home = Path(home or settings.home)
    encoder = encoder or getattr(settings, "encoder", None) or DEFAULT_ENCODER
    routes = load_routes(user_routes_path(home), known_handlers=known_handlers)
    if isinstance(encoder, str):
        encoder = make_encoder(encoder, cache_dir=home / "cache" / "encoders")
    return Router(routes, encoder, cache_dir=home / "cache" / "routes")
