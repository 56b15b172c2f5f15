"""Fallback chains as data (``data/fallbacks.yaml``, overridden by ``$VTAI_HOME/fallbacks.yaml``) and their
resolution into the ordered list of models one request may try."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from vtai.datafiles import read_mapping
from vtai.errors import UserError
from vtai.llm.catalogue import Catalogue, Model, availability
from vtai.llm.local import installed
from vtai.settings import Settings

log = logging.getLogger(__name__)


@dataclass(slots=True)
class FallbackConfig:
    models: dict[str, list[str]] = field(default_factory=dict)
    routes: dict[str, list[str]] = field(default_factory=dict)
    default: list[str] = field(default_factory=list)
    local: str = "local/smollm2-135m"
    max_models: int = 4


def _read(text: str, source: str) -> dict[str, Any]:
    data = read_mapping(text, source, "'models', 'routes' and 'default'")
    for key in ("models", "routes"):
        section = data.get(key) or {}
        if not isinstance(section, dict) or not all(isinstance(v, list) for v in section.values()):
            raise UserError(f"{source}: '{key}' must map names to lists of model ids")
    if not isinstance(data.get("default") or [], list):
        raise UserError(f"{source}: 'default' must be a list of model ids")
    return data


def load_fallbacks(home: Path | None = None) -> FallbackConfig:
    """The built-in chains overlaid by ``$VTAI_HOME/fallbacks.yaml`` (per key: a model's or route's list
    replaces the built-in one; ``default``, ``local`` and ``max_models`` replace theirs)."""
    base = _read(resources.files("vtai.data").joinpath("fallbacks.yaml").read_text(), "fallbacks.yaml (built-in)")
    user_file = home / "fallbacks.yaml" if home else None
    user = _read(user_file.read_text(), str(user_file)) if user_file and user_file.is_file() else {}
    cfg = FallbackConfig(
        models={**(base.get("models") or {}), **(user.get("models") or {})},
        routes={**(base.get("routes") or {}), **(user.get("routes") or {})},
        default=list(user.get("default", base.get("default")) or []),
        local=str(user.get("local", base.get("local")) or ""),
        max_models=int(user.get("max_models", base.get("max_models", 4))),
    )
    return cfg


def needs_of(messages: list[dict[str, Any]], tools: Any) -> set[str]:
    """Capabilities a request needs from any model that answers it."""
    need = {"chat"}
    if tools:
        need.add("tools")
    for msg in messages:
        content = msg.get("content")
        if isinstance(content, list) and any(p.get("type") == "image_url" for p in content if isinstance(p, dict)):
            need.add("vision")
    return need


def usable(model: Model, settings: Settings) -> bool:
    if not availability(model, settings)[0]:
        return False
    return model.provider != "local" or installed(settings.local_model)[0]


def resolve_chain(primary: Model, catalogue: Catalogue, settings: Settings, cfg: FallbackConfig, *,
                  route: str | None = None, requested: list[str] | None = None,
                  needs: set[str] | frozenset[str] = frozenset({"chat"})) -> list[Model]:
    """``primary`` first, then the usable alternatives that can do what the request needs, without repeats.

    ``requested`` (a per-request list) replaces the configured chain; the local model still comes last when
    ``settings.fallback_to_local``."""
    if requested is not None:
        refs = list(requested)
    else:
        refs = [*primary.fallbacks, *cfg.models.get(primary.id, []), *(cfg.routes.get(route or "", [])),
                *cfg.default]
    chain = [primary]
    seen = {primary.id}
    limit = max(1, cfg.max_models) if requested is None else len(refs) + 1
    for ref in refs:
        if len(chain) >= limit:
            break
        model = catalogue.find(ref)
        if model is None:
            log.warning("fallback chain names unknown model %r (ignored)", ref)
            continue
        if model.id in seen or not needs <= model.capabilities or not usable(model, settings):
            continue
        seen.add(model.id)
        chain.append(model)
    if settings.fallback_to_local and cfg.local:
        local = catalogue.find(cfg.local)
        if local and local.id not in seen and needs <= local.capabilities and usable(local, settings):
            chain.append(local)
    return chain


def fit_messages(messages: list[dict[str, Any]], context: int, reserve: int) -> list[dict[str, Any]]:
    """Drop the oldest turns (never the system prompt or the last message) until a rough token estimate
    fits a smaller fallback model's context. Images count ~800 tokens each."""
    if not context:
        return messages

    def cost(msg: dict[str, Any]) -> int:
        content = msg.get("content")
        if isinstance(content, list):
            images = sum(1 for p in content if isinstance(p, dict) and p.get("type") == "image_url")
            text = " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
            return len(text) // 4 + 800 * images + 4
        return len(json.dumps(content, ensure_ascii=False)) // 4 + 4

    budget = max(context - reserve, context // 2)
    head = [m for m in messages[:1] if m.get("role") == "system"]
    body = messages[len(head):]
    total = sum(cost(m) for m in head + body)
    while len(body) > 1 and total > budget:
        total -= cost(body.pop(0))
        # a tool result must not lose the assistant message that asked for it
        while len(body) > 1 and body[0].get("role") == "tool":
            total -= cost(body.pop(0))
    return head + body
