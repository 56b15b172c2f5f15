"""The tool registry: a tool is a typed async function plus ``@tool``.

    @tool
    async def web_search(ctx: ToolContext, query: str, max_results: int = 5) -> str:
        '''Search the web and return the top results with their URLs.

        Args:
            query: what to look for, as a search engine query.
            max_results: how many results to return (1-10).
        '''

The name is the function's, the description is the docstring's first paragraph, and the JSON schema comes from
the signature (types via pydantic) plus the ``Args:`` section. Arguments the model sends are validated with that
pydantic model before the function runs; a validation failure, a :class:`ToolError` or any other exception
becomes an error *result* the model sees (see :func:`execute`), never an exception out of the loop.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from vtai.errors import ToolError, VtaiError
from vtai.settings import Settings

log = logging.getLogger(__name__)

# One line per built-in tool module (each registers itself with @tool).
BUILTIN = [
    "vtai.tools.web_search",
    "vtai.tools.fetch",
    "vtai.tools.python_tool",
]

MAX_RESULT_CHARS = 20_000  # what the model sees of one tool result


@dataclass(frozen=True, slots=True)
class ToolConfig:
    """Tool settings, built from :class:`~vtai.settings.Settings` (where their defaults live: its
    "Tools and web search" fields). ``services["tool_config"]`` overrides the whole object (tests point
    the providers at local fakes with ``ToolConfig.from_settings(load_settings(searxng_url=...))``)."""

    max_iterations: int  # model ↔ tools rounds per turn (Settings.tool_max_iterations)
    search_provider: str  # auto | tavily | searxng | duckduckgo
    search_results: int
    search_timeout: float
    searxng_url: str
    tavily_url: str
    duckduckgo_url: str
    fetch_timeout: float
    fetch_max_bytes: int  # pages larger than this are refused
    fetch_max_chars: int  # extracted text beyond this is cut
    fetch_allow_loopback: bool  # tests only: lets fetch_url reach 127.0.0.1 (never other private nets)

    @classmethod
    def from_settings(cls, settings: Settings) -> ToolConfig:
        """Each field from the same-named ``Settings`` field (``max_iterations``: ``tool_max_iterations``).
        An empty string (``VTAI_TAVILY_URL=``) means that field's ``Settings`` default."""
        values = {}
        for f in fields(cls):
            name = _SETTINGS_NAME.get(f.name, f.name)
            value = getattr(settings, name)
            values[f.name] = Settings.model_fields[name].get_default() if value == "" else value
        return cls(**values)


_SETTINGS_NAME = {"max_iterations": "tool_max_iterations"}


@dataclass(slots=True)
class ToolOutput:
    """What a tool returns when plain text is not enough: images/files it produced (host paths)."""

    text: str
    images: list[str] = field(default_factory=list)
    files: list[tuple[str, str]] = field(default_factory=list)  # (host path, display name)
    is_error: bool = False


@dataclass(slots=True)
class ToolContext:
    """What a tool gets besides its arguments. ``session`` names the sandbox session (the conversation id);
    ``services`` are the engine's optional parts ("sandbox", "search", "tool_config" ...)."""

    settings: Settings
    session: str
    services: dict[str, Any] = field(default_factory=dict)

    def service(self, name: str) -> Any:
        return self.services.get(name)

    @property
    def config(self) -> ToolConfig:
        return tool_config(self.settings, self.services)

    def output_dir(self) -> Path:
        """Host folder for files a tool hands to the user (images the code wrote ...)."""
        path = self.settings.home / "tool-outputs" / re.sub(r"[^A-Za-z0-9_.-]+", "-", self.session)[:64]
        path.mkdir(parents=True, exist_ok=True)
        return path


def tool_config(settings: Settings, services: dict[str, Any] | None = None) -> ToolConfig:
    given = (services or {}).get("tool_config")
    return given if isinstance(given, ToolConfig) else ToolConfig.from_settings(settings)


ToolFn = Callable[..., Awaitable["str | ToolOutput"]]


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


@dataclass(slots=True)
class Tool:
    name: str
    description: str
    fn: ToolFn
    args: type[BaseModel]

    def schema(self) -> dict[str, Any]:
        """The OpenAI ``tools`` entry for this tool."""
        params = self.args.model_json_schema()
        params.pop("title", None)
        for prop in params.get("properties", {}).values():
            prop.pop("title", None)
        params.setdefault("properties", {})
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": params}}

    async def __call__(self, ctx: ToolContext, arguments: dict[str, Any]) -> ToolOutput:
        """Validate ``arguments`` and run. Raises ValidationError / ToolError; :func:`execute` catches them."""
        parsed = self.args.model_validate(arguments)
        result = await self.fn(ctx, **{name: getattr(parsed, name) for name in type(parsed).model_fields})
        return result if isinstance(result, ToolOutput) else ToolOutput(str(result))


TOOLS: dict[str, Tool] = {}


def _doc_parts(doc: str) -> tuple[str, dict[str, str]]:
    """(description, {param: description}) from a Google-style docstring."""
    doc = inspect.cleandoc(doc or "")
    head, _, rest = doc.partition("\nArgs:")
    description = " ".join(head.split("\n\n")[0].split())
    params: dict[str, str] = {}
    current = None
    for line in rest.splitlines():
        m = re.match(r"^\s{2,}(\w+)\s*(?:\([^)]*\))?:\s*(.*)$", line)
        if m:
            current = m.group(1)
            params[current] = m.group(2).strip()
        elif current and line.strip() and line.startswith(" "):
            params[current] += " " + line.strip()
        elif line.strip():
            current = None
    return description, params


def make_tool(fn: ToolFn, name: str | None = None, description: str | None = None) -> Tool:
    """Build a :class:`Tool` from ``async def fn(ctx, ...)`` without registering it."""
    if not inspect.iscoroutinefunction(fn):
        raise TypeError(f"tool {fn.__name__} must be an async function")
    desc, param_docs = _doc_parts(fn.__doc__ or "")
    hints = get_type_hints(fn)
    params = list(inspect.signature(fn).parameters.values())[1:]  # the first is the context
    fields: dict[str, Any] = {}
    for p in params:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(f"tool {fn.__name__}: *args/**kwargs are not supported")
        if p.name not in hints:
            raise TypeError(f"tool {fn.__name__}: parameter {p.name!r} needs a type hint")
        default = ... if p.default is p.empty else p.default
        fields[p.name] = (hints[p.name], Field(default, description=param_docs.get(p.name) or None))
    args = create_model(f"{fn.__name__}_args", __base__=_Args, **fields)
    return Tool(name or fn.__name__, description or desc or fn.__name__, fn, args)


def tool(fn: ToolFn | None = None, *, name: str | None = None, description: str | None = None) -> Any:
    """Register ``fn`` as a tool (``@tool`` or ``@tool(name=...)``)."""

    def register(f: ToolFn) -> ToolFn:
        t = make_tool(f, name, description)
        TOOLS[t.name] = t
        return f

    return register(fn) if fn is not None else register


def load_builtin() -> dict[str, Tool]:
    for module in BUILTIN:
        importlib.import_module(module)
    return TOOLS


def get_tools(names: list[str]) -> list[Tool]:
    load_builtin()
    missing = [n for n in names if n not in TOOLS]
    if missing:
        raise ToolError(f"Unknown tool(s): {', '.join(missing)}")
    return [TOOLS[n] for n in names]


def _validation_message(exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err.get("loc", ())) or "arguments"
        problems.append(f"{where}: {err.get('msg')}")
    return "Invalid arguments — " + "; ".join(problems)


def clip(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[… {len(text) - limit} more characters cut]"


async def execute(tools: dict[str, Tool], name: str, arguments: dict[str, Any], ctx: ToolContext) -> ToolOutput:
    """Run one tool call; every failure becomes an error result (the model sees it and can recover).

    This is the one place tool failures are caught: a crash in one tool must not end the user's turn.
    """
    found = tools.get(name)
    if found is None:
        return ToolOutput(f"Unknown tool {name!r}. Available: {', '.join(sorted(tools)) or 'none'}.", is_error=True)
    if "_raw" in arguments and len(arguments) == 1:
        return ToolOutput(f"The arguments were not valid JSON: {arguments['_raw'][:200]!r}", is_error=True)
    try:
        out = await found(ctx, arguments)
    except asyncio.CancelledError:
        raise
    except ValidationError as exc:
        return ToolOutput(_validation_message(exc), is_error=True)
    except VtaiError as exc:
        return ToolOutput(f"{name} failed: {exc}", is_error=True)
    except Exception as exc:  # noqa: BLE001 - see docstring: the model gets the failure as a result
        log.exception("tool %s crashed", name)
        return ToolOutput(f"{name} crashed: {type(exc).__name__}: {exc}", is_error=True)
    out.text = clip(out.text)
    return out


def call_id() -> str:
    return f"call_{uuid.uuid4().hex[:16]}"


def openai_tool_call(call_id_: str, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """An assistant message's ``tool_calls`` entry, OpenAI shape."""
    return {"id": call_id_, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
