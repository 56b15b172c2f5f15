"""Web search behind one interface: ``await provider.search(query, n) -> list[SearchResult]``.

Providers register with ``@search_provider("name")`` (one file each, one line in ``BUILTIN``); :func:`get_provider`
picks one from :class:`~vtai.tools.registry.ToolConfig` (``search_provider``: auto | tavily | searxng | duckduckgo;
``auto`` = Tavily when its key is set, else SearXNG when its URL is set, else DuckDuckGo). Every failure — no
network, a timeout, an HTTP error, an unparseable answer — raises :class:`SearchUnavailableError` (a ToolError),
so callers can say "search is unavailable" instead of crashing.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from vtai.errors import ToolError, UserError
from vtai.tools.registry import ToolConfig

BUILTIN = [
    "vtai.tools.search.tavily",
    "vtai.tools.search.searxng",
    "vtai.tools.search.duckduckgo",
]
USER_AGENT = "Mozilla/5.0 (compatible; VT.ai web search)"


class SearchUnavailableError(ToolError):
    pass


@dataclass(frozen=True, slots=True)
class SearchResult:
    title: str
    url: str
    snippet: str = ""


class SearchProvider(Protocol):
    name: str

    async def search(self, query: str, n: int = 5) -> list[SearchResult]: ...


Factory = Callable[[ToolConfig, Any], SearchProvider]  # (config, settings) -> provider
PROVIDERS: dict[str, Factory] = {}


def search_provider(name: str) -> Callable[[Factory], Factory]:
    def register(factory: Factory) -> Factory:
        PROVIDERS[name] = factory
        return factory

    return register


def load_builtin() -> dict[str, Factory]:
    for module in BUILTIN:
        importlib.import_module(module)
    return PROVIDERS


def choose(config: ToolConfig, settings: Any) -> str:
    wanted = config.search_provider
    if wanted != "auto":
        return wanted
    if settings.key_for("tavily"):
        return "tavily"
    if config.searxng_url:
        return "searxng"
    return "duckduckgo"


def get_provider(config: ToolConfig, settings: Any, services: dict[str, Any] | None = None) -> SearchProvider:
    """``services["search"]`` when given (a provider object), else the configured one."""
    given = (services or {}).get("search")
    if given is not None:
        return given
    load_builtin()
    name = choose(config, settings)
    if name not in PROVIDERS:
        raise UserError(f"Unknown search provider {name!r}; choose one of: auto, {', '.join(sorted(PROVIDERS))}.")
    return PROVIDERS[name](config, settings)


async def request_json(provider: str, method: str, url: str, timeout: float, **kwargs: Any) -> Any:
    """One HTTP call → parsed JSON; every failure becomes SearchUnavailableError naming the provider."""
    body = await request_text(provider, method, url, timeout, **kwargs)
    try:
        return json.loads(body)
    except ValueError as exc:
        raise SearchUnavailableError(f"{provider} returned something that is not JSON.") from exc


async def request_text(provider: str, method: str, url: str, timeout: float, **kwargs: Any) -> str:
    headers = {"User-Agent": USER_AGENT, **kwargs.pop("headers", {})}
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True, trust_env=False) as client:
            response = await client.request(method, url, headers=headers, **kwargs)
    except httpx.TimeoutException as exc:
        raise SearchUnavailableError(f"{provider} did not answer within {timeout:g} s.") from exc
    except (httpx.HTTPError, OSError) as exc:
        raise SearchUnavailableError(f"{provider} could not be reached ({type(exc).__name__}: {exc}).") from exc
    if response.status_code >= 400:
        raise SearchUnavailableError(f"{provider} answered HTTP {response.status_code}.")
    return response.text


def format_results(results: list[SearchResult]) -> str:
    """Numbered results as the model sees them: ``[1] title\\nurl\\nsnippet``."""
    if not results:
        return "No results."
    return "\n\n".join(f"[{i}] {r.title}\n{r.url}\n{r.snippet}".rstrip() for i, r in enumerate(results, 1))
