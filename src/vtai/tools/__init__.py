"""Assistant tools: the ``@tool`` registry, web search, ``fetch_url`` and ``run_python`` (over the sandbox).

Importing this package is cheap: tool modules load on :func:`load_builtin`.
"""

from typing import Any

from vtai.tools.registry import (
    BUILTIN,
    TOOLS,
    Tool,
    ToolConfig,
    ToolContext,
    ToolOutput,
    execute,
    get_tools,
    load_builtin,
    make_tool,
    tool,
    tool_config,
)


def tool_services(settings: Any) -> dict[str, Any]:
    """Engine services the tools need (today: the code sandbox, or why there is none). The sandbox module
    loads only when this is called."""
    from vtai.tools.python_tool import sandbox_services

    return sandbox_services(settings)


__all__ = ["BUILTIN", "TOOLS", "Tool", "ToolConfig", "ToolContext", "ToolOutput", "execute", "get_tools",
           "load_builtin", "make_tool", "tool", "tool_config", "tool_services"]
