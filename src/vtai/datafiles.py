"""Reading the YAML data files users can override (models, fallbacks): one place for the parse errors."""

from __future__ import annotations

from typing import Any

import yaml

from vtai.errors import UserError


def read_mapping(text: str, source: str, expected: str) -> dict[str, Any]:
    """Parse ``text`` as a YAML mapping; a clear UserError naming ``source`` otherwise."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"{source} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise UserError(f"{source}: expected a mapping with {expected}")
    return data
