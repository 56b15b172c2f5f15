"""Web search: Tavily, SearXNG and DuckDuckGo against local fake endpoints; the search route end to end."""

from __future__ import annotations

import json
import socket
from dataclasses import replace

import pytest

from vtai.errors import UserError
from vtai.events import TextDelta, ToolCall, ToolResult
from vtai.settings import load_settings
from vtai.testing import Text
from vtai.tools import ToolConfig, ToolContext, execute, load_builtin
from vtai.tools.search import SearchResult, SearchUnavailableError, get_provider
from vtai.tools.search.duckduckgo import DuckDuckGo
from vtai.tools.search.searxng import SearXNG
from vtai.tools.search.tavily import Tavily

from .conftest import routed_options, run


def config(**settings) -> ToolConfig:
    return ToolConfig.from_settings(load_settings(**settings))


def closed_port_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"


async def test_tavily(fake_web):
    results = await Tavily("tvly-test-key-123", fake_web.url).search("python release", 1)
    assert results == [SearchResult("Python 3.14 released", "https://www.python.org/downloads/release/python-3140/",
                                    "Python 3.14.0 is the newest major release.")]
    sent = fake_web.requests[-1]
    assert sent["path"] == "/search" and json.loads(sent["body"])["query"] == "python release"
    with pytest.raises(SearchUnavailableError, match="HTTP 401"):
        await Tavily("tvly-wrong-key-999", fake_web.url).search("x")


async def test_searxng(fake_web):
    results = await SearXNG(fake_web.url).search("python", 5)
    assert [r.url for r in results] == ["https://www.python.org/downloads/release/python-3140/",
                                        "https://docs.python.org/3.14/whatsnew/3.14.html"]
    assert "format=json" in fake_web.requests[-1]["path"]


async def test_duckduckgo_html(fake_web):
    results = await DuckDuckGo(fake_web.url).search("python", 5)
    assert results == [
        SearchResult("Download Python | Python.org", "https://www.python.org/downloads/",
                     "The official home of the Python language."),
        SearchResult("Python (programming language) - Wikipedia",
                     "https://en.wikipedia.org/wiki/Python_(programming_language)",
                     "Python is a high-level, general-purpose programming language."),
    ]
    assert fake_web.requests[-1]["body"] == "q=python"


async def test_unreachable_or_slow_search_is_unavailable():
    for provider in (SearXNG(closed_port_url()), DuckDuckGo(closed_port_url()), Tavily("k", closed_port_url())):
        with pytest.raises(SearchUnavailableError, match="could not be reached"):
            await provider.search("anything")


def test_provider_choice(monkeypatch):
    settings = load_settings()
    assert get_provider(config(), settings).name == "duckduckgo"
    assert get_provider(config(searxng_url="http://127.0.0.1:1"), settings).name == "searxng"
    with pytest.raises(UserError, match="TAVILY_API_KEY"):
        get_provider(config(search_provider="tavily"), settings)
    with pytest.raises(UserError, match="VTAI_SEARXNG_URL"):
        get_provider(config(search_provider="searxng"), settings)
    # Settings refuses an unknown provider; a ToolConfig built by hand may still carry one.
    with pytest.raises(UserError, match="Unknown search provider"):
        get_provider(replace(config(), search_provider="bing"), settings)
    monkeypatch.setenv("TAVILY_API_KEY", "tvly-test-key-123")
    tavily = get_provider(config(searxng_url="http://127.0.0.1:1"), load_settings())
    assert tavily.name == "tavily" and tavily.api_key == "tvly-test-key-123"


async def test_web_search_tool(fake_web):
    tools = load_builtin()
    ctx = ToolContext(load_settings(), "s", {"tool_config": config(searxng_url=fake_web.url)})
    out = await execute(tools, "web_search", {"query": "python", "max_results": 1}, ctx)
    assert not out.is_error
    assert out.text == ("[1] Python 3.14 released\nhttps://www.python.org/downloads/release/python-3140/\n"
                        "Python 3.14.0 is the newest major release.")
    ctx = ToolContext(load_settings(), "s", {"tool_config": config(searxng_url=closed_port_url())})
    out = await execute(tools, "web_search", {"query": "python"}, ctx)
    assert out.is_error and "SearXNG could not be reached" in out.text


async def test_search_route_cites_and_lists_sources(provider_env, fake_web, routed):
    provider_env.enqueue(Text("Python 3.14 is the newest release [1], with template strings [2]."))
    engine = routed("search", {"tool_config": config(searxng_url=fake_web.url)}, requires="chat")
    events, conv = await run(engine, "latest python version?", routed_options())
    call = next(e for e in events if isinstance(e, ToolCall))
    result = next(e for e in events if isinstance(e, ToolResult))
    assert call.name == "web_search" and call.arguments == {"query": "latest python version?"}
    assert not result.is_error and "[2] What's new in Python 3.14" in result.output
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == (
        "Python 3.14 is the newest release [1], with template strings [2].\n\n**Sources**\n"
        "1. [Python 3.14 released](https://www.python.org/downloads/release/python-3140/)\n"
        "2. [What's new in Python 3.14](https://docs.python.org/3.14/whatsnew/3.14.html)")
    system = provider_env.requests_to("chat")[-1].json["messages"][0]
    assert system["role"] == "system" and "[1] Python 3.14 released" in system["content"]
    assert "Cite the results" in system["content"]
    assert conv.messages[-1].content == text  # the sources are part of the recorded answer


async def test_search_route_without_network_says_so_and_answers(provider_env, routed):
    provider_env.enqueue(Text("From memory: probably 3.13, but check."))
    engine = routed("search", {"tool_config": config(searxng_url=closed_port_url())}, requires="chat")
    events, _ = await run(engine, "latest python version?", routed_options())
    result = next(e for e in events if isinstance(e, ToolResult))
    assert result.is_error and "could not be reached" in result.output
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text.startswith("_⚠️ Web search is unavailable: SearXNG could not be reached")
    assert "may be out of date" in text and text.endswith("From memory: probably 3.13, but check.")
    assert "Sources" not in text
    system = provider_env.requests_to("chat")[-1].json["messages"][0]["content"]
    assert "Web search is unavailable right now" in system
