"""Tavily (https://tavily.com): a search API for LLMs. Needs ``TAVILY_API_KEY``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vtai.errors import UserError
from vtai.tools.registry import ToolConfig
from vtai.tools.search import SearchResult, SearchUnavailableError, request_json, search_provider


@dataclass
class Tavily:
    api_key: str
    base_url: str = "https://api.tavily.com"
    timeout: float = 10.0
    name: str = "tavily"

    async def search(self, query: str, n: int = 5) -> list[SearchResult]:
        data = await request_json(
            "Tavily", "POST", f"{self.base_url.rstrip('/')}/search", self.timeout,
            json={"query": query, "max_results": n, "search_depth": "basic"},
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        if not isinstance(data, dict) or not isinstance(data.get("results"), list):
            raise SearchUnavailableError("Tavily's answer had no results list.")
        return [SearchResult(str(r.get("title") or r.get("url")), str(r["url"]), str(r.get("content") or ""))
                for r in data["results"][:n] if isinstance(r, dict) and r.get("url")]


@search_provider("tavily")
def make(config: ToolConfig, settings: Any) -> Tavily:
    key = settings.key_for("tavily")
    if not key:
        raise UserError("Web search with Tavily needs TAVILY_API_KEY: run `vtai keys set tavily` or set "
                        "TAVILY_API_KEY; or set VTAI_SEARCH_PROVIDER=duckduckgo (no key).")
    return Tavily(key, config.tavily_url, config.search_timeout)
