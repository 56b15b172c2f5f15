"""The running web app's runtime, handed to the Chainlit callbacks (which Chainlit calls without arguments)."""

from __future__ import annotations

from typing import Any

RUNTIME: Any = None
