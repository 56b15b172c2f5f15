"""The ``web_search`` tool: the configured search provider's top results, numbered, with URLs."""

from __future__ import annotations

from vtai.tools.registry import ToolContext, tool
from vtai.tools.search import format_results, get_provider


@tool
async def web_search(ctx: ToolContext, query: str, max_results: int = 5) -> str:
    """Search the web for current information. Returns numbered results (title, URL, snippet); cite them as [n]
    and read a page in full with fetch_url when the snippet is not enough.

    Args:
        query: a search-engine query (keywords, not a whole conversation).
        max_results: how many results to return, 1 to 10.
    """
    provider = get_provider(ctx.config, ctx.settings, ctx.services)
    results = await provider.search(query.strip()[:400], max(1, min(max_results, 10)))
    return format_results(results)
