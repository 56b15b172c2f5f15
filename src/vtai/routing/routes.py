"""Routes as data: the shipped ``vtai/data/routes.yaml`` plus the user's ``$VTAI_HOME/routes.yaml``.

The user file overrides shipped routes field by field (matched by ``name``) or adds new routes; it may also
set ``default_route``. Every problem is a :class:`RoutingError` naming the file and line.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from vtai.errors import RoutingError

SCHEMA_VERSION = 1
KNOWN_HANDLERS = frozenset({"chat", "code", "reasoning", "search", "image", "vision", "speech"})
_FIELDS = {"name", "description", "utterances", "threshold", "handler", "preferred_models", "requires",
           "system_prompt"}


@dataclass(frozen=True)
class Route:
    name: str
    handler: str
    utterances: tuple[str, ...]
    threshold: float = 0.5
    description: str = ""
    preferred_models: tuple[str, ...] = ()
    requires: str | None = None
    system_prompt: str | None = None


@dataclass(frozen=True)
class RouteSet:
    routes: tuple[Route, ...]
    default_route: str
    version: int = SCHEMA_VERSION
    sources: tuple[str, ...] = field(default=())

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.routes]

    def get(self, name: str) -> Route:
        for route in self.routes:
            if route.name == name:
                return route
        raise KeyError(name)

    def __contains__(self, name: object) -> bool:
        return any(r.name == name for r in self.routes)


def builtin_routes_path() -> Path:
    return Path(str(importlib.resources.files("vtai") / "data" / "routes.yaml"))


def load_routes(user_file: Path | None = None, *, known_handlers: Collection[str] = KNOWN_HANDLERS,
                builtin: Path | None = None) -> RouteSet:
    """Shipped routes, overridden/extended by ``user_file`` when it exists."""
    builtin = builtin or builtin_routes_path()
    base = _RoutesFile(builtin)
    routes = {name: _build_route(base, name, entry, None, known_handlers) for name, entry in base.entries()}
    default = base.default_route
    sources = [str(builtin)]
    if user_file is not None and Path(user_file).is_file():
        user = _RoutesFile(Path(user_file))
        for name, entry in user.entries():
            routes[name] = _build_route(user, name, entry, routes.get(name), known_handlers)
        default = user.default_route or default
        sources.append(str(user_file))
    if not default:
        raise RoutingError(f"{builtin}: no default_route set.")
    if default not in routes:
        raise RoutingError(f"default_route '{default}' is not a configured route (routes: {', '.join(routes)}).")
    return RouteSet(tuple(routes.values()), default, SCHEMA_VERSION, tuple(sources))


class _RoutesFile:
    """One YAML file, parsed twice: values via safe_load, line numbers via the composed node tree."""

    def __init__(self, path: Path):
        self.path = path
        try:
            text = path.read_text(encoding="utf-8")
            self.data = yaml.safe_load(text) or {}
            self.node = yaml.compose(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f":{mark.line + 1}" if mark else ""
            raise RoutingError(f"{path}{where}: invalid YAML: {exc}") from exc
        except OSError as exc:
            raise RoutingError(f"{path}: cannot read routes file: {exc}") from exc
        if not isinstance(self.data, dict):
            raise self.error("the file must be a mapping with a 'routes' list", self.node)
        version = self.data.get("version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise self.error(f"unsupported routes schema version {version!r} (expected {SCHEMA_VERSION})",
                             self._key_node(self.node, "version"))
        self.default_route = self.data.get("default_route")

    def error(self, message: str, node: Any = None) -> RoutingError:
        line = f":{node.start_mark.line + 1}" if node is not None else ""
        return RoutingError(f"{self.path}{line}: {message}")

    def entries(self) -> list[tuple[str, dict]]:
        raw = self.data.get("routes") or []
        seq = self._key_node(self.node, "routes")
        if not isinstance(raw, list):
            raise self.error("'routes' must be a list of mappings", seq)
        seen: dict[str, int] = {}
        out = []
        for index, entry in enumerate(raw):
            node = seq.value[index]
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
                raise self.error("each route needs a 'name'", node)
            name = entry["name"]
            if name in seen:
                raise self.error(f"duplicate route name '{name}' (first defined at line {seen[name]})", node)
            seen[name] = node.start_mark.line + 1
            unknown = set(entry) - _FIELDS
            if unknown:
                raise self.error(f"route '{name}': unknown field(s) {', '.join(sorted(unknown))}", node)
            out.append((name, {"__node__": node, **entry}))
        return out

    def field_node(self, entry: dict, key: str) -> Any:
        return self._key_node(entry["__node__"], key) or entry["__node__"]

    @staticmethod
    def _key_node(mapping: Any, key: str) -> Any:
        if isinstance(mapping, yaml.MappingNode):
            for key_node, value_node in mapping.value:
                if key_node.value == key:
                    return value_node
        return None


def _build_route(src: _RoutesFile, name: str, entry: dict, base: Route | None,
                 known_handlers: Collection[str]) -> Route:
    def fail(message: str, key: str) -> RoutingError:
        return src.error(f"route '{name}': {message}", src.field_node(entry, key))

    values = {k: v for k, v in entry.items() if k != "__node__"}
    if base is None and "handler" not in values:
        raise fail("missing 'handler'", "name")
    if "handler" in values and values["handler"] not in known_handlers:
        raise fail(f"unknown handler '{values['handler']}' (known: {', '.join(sorted(known_handlers))})",
                   "handler")
    if "utterances" in values or base is None:
        utterances = values.get("utterances") or []
        if not isinstance(utterances, list):
            raise fail("'utterances' must be a list of strings", "utterances")
        for index, utterance in enumerate(utterances):
            if not isinstance(utterance, str) or not utterance.strip():
                item = src.field_node(entry, "utterances").value[index]
                raise src.error(f"route '{name}': utterance {index + 1} must be a non-empty string "
                                f"(quote it if it contains ': '), got {utterance!r}", item)
        if not utterances:
            raise fail("no utterances (a route needs example messages to be recognised)", "utterances")
        values["utterances"] = tuple(utterances)
    if "threshold" in values:
        threshold = values["threshold"]
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
            raise fail(f"threshold must be a number between 0 and 1, got {threshold!r}", "threshold")
        values["threshold"] = float(threshold)
    if "preferred_models" in values:
        models = values["preferred_models"] or []
        if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
            raise fail("'preferred_models' must be a list of model ids", "preferred_models")
        values["preferred_models"] = tuple(models)
    if base is not None:
        return replace(base, **values)
    return Route(**values)
