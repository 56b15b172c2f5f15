"""Assistant tools: the ``@tool`` registry, web search, ``fetch_url`` and ``run_python`` (over the sandbox).

Importing this package is cheap: tool modules load on :func:`load_builtin`.
"""

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

__all__ = ["BUILTIN", "TOOLS", "Tool", "ToolConfig", "ToolContext", "ToolOutput", "execute", "get_tools",
           "load_builtin", "make_tool", "tool", "tool_config"]
