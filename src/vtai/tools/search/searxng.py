"""SearXNG: a self-hosted metasearch engine, through its JSON API (``format=json`` must be enabled in the
instance's ``settings.yml`` under ``search.formats``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vtai.errors import UserError
from vtai.tools.registry import ToolConfig
from vtai.tools.search import SearchResult, SearchUnavailableError, request_json, search_provider


@dataclass
class SearXNG:
    base_url: str
    timeout: float = 10.0
    name: str = "searxng"

    async def search(self, query: str, n: int = 5) -> list[SearchResult]:
        data = await request_json("SearXNG", "GET", f"{self.base_url.rstrip('/')}/search", self.timeout,
                                  params={"q": query, "format": "json"})
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise SearchUnavailableError("SearXNG's answer had no results list (is format=json enabled?).")
        return [SearchResult(str(r.get("title") or r.get("url")), str(r["url"]), str(r.get("content") or ""))
                for r in data["results"][:n] if isinstance(r, dict) and r.get("url")]


@search_provider("searxng")
def make(config: ToolConfig, settings: Any) -> SearXNG:
    if not config.searxng_url:
        raise UserError("SearXNG search needs its base URL: set VTAI_SEARXNG_URL (e.g. http://localhost:8888).")
    return SearXNG(config.searxng_url, config.search_timeout)
