"""Wiring: build the engine and its parts from settings. Used by every adapter; nothing runs at import."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from vtai.engine import Engine
from vtai.errors import RoutingError
from vtai.keys import ensure_home
from vtai.llm.catalogue import Catalogue, load_catalogue
from vtai.llm.litellm_adapter import LiteLLMClient
from vtai.llm.reliable import ReliableLLM
from vtai.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    catalogue: Catalogue
    llm: Any
    engine: Engine
    routing_error: str | None = None
    closers: list[Any] = field(default_factory=list)

    async def aclose(self) -> None:
        if hasattr(self.llm, "aclose"):
            await self.llm.aclose()  # running streams end as "interrupted" (and are stored so)
        for closer in reversed(self.closers):
            result = closer()
            if hasattr(result, "__await__"):
                await result
        self.llm.close()


def load_router(settings: Settings) -> Any:
    """The semantic router, or a RoutingError saying why it can't run (chat then works with routing off)."""
    from vtai.routing import build_router  # imported here: loads ONNX models

    return build_router(settings)


def build_runtime(settings: Settings, *, with_router: bool = True, llm: Any = None) -> Runtime:
    ensure_home(settings.home)
    catalogue = load_catalogue(settings.home)
    # Retries, fallback chains (also mid-stream), timeouts and a circuit breaker around every provider call.
    client = llm or ReliableLLM(LiteLLMClient(settings), catalogue, settings)
    router = None
    routing_error = None
    if with_router and settings.dynamic_routing:
        try:
            router = load_router(settings)
        except (RoutingError, ImportError) as exc:
            routing_error = str(exc)
            log.warning("Dynamic routing is off: %s", exc)
    from vtai.tools import tool_services

    services = tool_services(settings)  # {"sandbox": Sandbox} or {"sandbox_error": why}
    engine = Engine(settings, catalogue, client, router, services=services)
    runtime = Runtime(settings, catalogue, client, engine, routing_error)
    if "sandbox" in services:
        runtime.closers.append(services["sandbox"].close)
    return runtime
