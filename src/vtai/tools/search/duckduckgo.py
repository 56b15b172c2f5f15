"""DuckDuckGo's HTML endpoint (no key). Scrapes ``html.duckduckgo.com/html/``; its markup can change, and it
rate-limits heavy use — prefer Tavily or SearXNG for anything serious."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from vtai.tools.registry import ToolConfig
from vtai.tools.search import SearchResult, SearchUnavailableError, request_text, search_provider


class _ResultParser(HTMLParser):
    """Collects ``a.result__a`` (title + link) and ``.result__snippet`` (snippet) in page order."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[dict[str, str]] = []
        self._field: str | None = None
        self._depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._field:
            self._depth += 1
            return
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        if tag == "a" and "result__a" in classes:
            self.results.append({"title": "", "url": a.get("href") or "", "snippet": ""})
            self._field, self._depth = "title", 0
        elif "result__snippet" in classes and self.results:
            self._field, self._depth = "snippet", 0

    def handle_endtag(self, tag: str) -> None:
        if self._field:
            if self._depth == 0:
                self._field = None
            else:
                self._depth -= 1

    def handle_data(self, data: str) -> None:
        if self._field and self.results:
            self.results[-1][self._field] += data


def real_url(href: str) -> str:
    """DuckDuckGo wraps links as ``//duckduckgo.com/l/?uddg=<encoded url>``."""
    parsed = urlparse(href)
    if parsed.path.startswith("/l/"):
        target = parse_qs(parsed.query).get("uddg")
        if target:
            return unquote(target[0])
    return "https:" + href if href.startswith("//") else href


@dataclass
class DuckDuckGo:
    base_url: str = "https://html.duckduckgo.com"
    timeout: float = 10.0
    name: str = "duckduckgo"

    async def search(self, query: str, n: int = 5) -> list[SearchResult]:
        html = await request_text("DuckDuckGo", "POST", f"{self.base_url.rstrip('/')}/html/", self.timeout,
                                  data={"q": query})
        parser = _ResultParser()
        parser.feed(html)
        results = []
        for r in parser.results:
            url = real_url(r["url"])
            if url.startswith(("http://", "https://")) and "duckduckgo.com/y.js" not in url:
                results.append(SearchResult(" ".join(r["title"].split()), url, " ".join(r["snippet"].split())))
        if not results and "result__a" not in html and "No results" not in html:
            raise SearchUnavailableError("DuckDuckGo's answer had no results section (blocked or changed markup).")
        return results[:n]


@search_provider("duckduckgo")
def make(config: ToolConfig, settings: Any) -> DuckDuckGo:
    return DuckDuckGo(config.duckduckgo_url, config.search_timeout)
