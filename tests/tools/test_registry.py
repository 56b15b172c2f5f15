"""@tool: schema from signature + docstring, pydantic validation at the edge, failures as error results."""

from typing import Literal

import pytest

from vtai.errors import ToolError
from vtai.settings import load_settings
from vtai.tools import TOOLS, ToolConfig, ToolContext, ToolOutput, execute, load_builtin, make_tool


async def greet(ctx: ToolContext, name: str, times: int = 1, tone: Literal["warm", "dry"] = "warm") -> str:
    """Greet someone by name.

    More text that is not part of the description.

    Args:
        name: who to greet.
        times: how many times, 1 to 3. Extra
            continuation line.
        tone: the greeting's tone.
    """
    if times > 3:
        raise ToolError("at most 3 greetings")
    return " ".join([f"hello {name}" if tone == "warm" else f"{name}."] * times)


async def crash(ctx: ToolContext) -> str:
    """Always crashes."""
    raise RuntimeError("kaboom")


def ctx() -> ToolContext:
    return ToolContext(load_settings(), "s1")


def test_schema_from_signature_and_docstring():
    spec = make_tool(greet).schema()
    fn = spec["function"]
    assert spec["type"] == "function" and fn["name"] == "greet"
    assert fn["description"] == "Greet someone by name."
    params = fn["parameters"]
    assert params["required"] == ["name"]
    assert params["properties"]["name"] == {"type": "string", "description": "who to greet."}
    assert params["properties"]["times"]["type"] == "integer" and params["properties"]["times"]["default"] == 1
    assert params["properties"]["times"]["description"] == "how many times, 1 to 3. Extra continuation line."
    assert params["properties"]["tone"]["enum"] == ["warm", "dry"]
    assert params["additionalProperties"] is False


def test_tool_must_be_async_and_typed():
    def sync(ctx, x: int) -> str:
        return ""

    async def untyped(ctx, x) -> str:
        return ""

    with pytest.raises(TypeError):
        make_tool(sync)
    with pytest.raises(TypeError):
        make_tool(untyped)


async def test_execute_validates_and_turns_failures_into_results():
    tools = {"greet": make_tool(greet), "crash": make_tool(crash)}
    ok = await execute(tools, "greet", {"name": "Ada", "times": "2"}, ctx())
    assert ok == ToolOutput("hello Ada hello Ada")
    bad = await execute(tools, "greet", {"times": "many"}, ctx())
    assert bad.is_error and "name: Field required" in bad.text and "times:" in bad.text
    extra = await execute(tools, "greet", {"name": "x", "evil": 1}, ctx())
    assert extra.is_error and "evil" in extra.text
    raised = await execute(tools, "greet", {"name": "x", "times": 5}, ctx())
    assert raised.is_error and "at most 3 greetings" in raised.text
    crashed = await execute(tools, "crash", {}, ctx())
    assert crashed.is_error and "RuntimeError: kaboom" in crashed.text
    unknown = await execute(tools, "nope", {}, ctx())
    assert unknown.is_error and "Unknown tool 'nope'" in unknown.text and "greet" in unknown.text
    garbled = await execute(tools, "greet", {"_raw": "{not json"}, ctx())
    assert garbled.is_error and "not valid JSON" in garbled.text


def test_builtin_tools_register_with_schemas():
    load_builtin()
    assert {"web_search", "fetch_url", "run_python"} <= set(TOOLS)
    assert TOOLS["fetch_url"].schema()["function"]["parameters"]["required"] == ["url"]
    assert TOOLS["run_python"].schema()["function"]["parameters"]["properties"]["code"]["type"] == "string"


def test_tool_config_comes_from_settings(monkeypatch):
    monkeypatch.setenv("VTAI_SEARCH_PROVIDER", "searxng")
    monkeypatch.setenv("VTAI_TAVILY_URL", "")  # empty: the Settings default
    cfg = ToolConfig.from_settings(load_settings(searxng_url="http://127.0.0.1:9", tool_max_iterations=3))
    assert (cfg.search_provider, cfg.searxng_url, cfg.max_iterations) == ("searxng", "http://127.0.0.1:9", 3)
    assert cfg.tavily_url == "https://api.tavily.com"
