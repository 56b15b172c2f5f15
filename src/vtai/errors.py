"""The exception tree. Every adapter (UI, CLI, HTTP) catches these in one place.

    VtaiError                      base; ``str(e)`` is safe to show a user (keys redacted)
    ├── UserError                  configuration / usage; the message says how to fix it
    │   ├── UnknownModelError      model id or alias not in the catalogue (lists close matches)
    │   ├── MissingKeyError        provider key not set (names the key and `vtai keys set`)
    │   └── InputError             bad input: empty message, refused upload, bad file ...
    ├── ProviderError(status)      an upstream model call failed (status, short body)
    │   └── LocalModelError        the bundled llama.cpp server failed to start or answer
    ├── RoutingError               routes file or encoder problem (routing can be turned off)
    ├── StoreError                 persistence problem (corrupt / future-version database ...)
    │   └── NotFoundError          a thread, message or file that does not exist *or is not yours*
    └── ToolError                  a tool failed; becomes a tool result the model sees
"""

from __future__ import annotations

import re

_SECRET = re.compile(
    r"(sk-[A-Za-z0-9_\-]{6,}|sk_[A-Za-z0-9_\-]{6,}|AIza[0-9A-Za-z_\-]{10,}|gsk_[A-Za-z0-9]{10,}"
    r"|tvly-[A-Za-z0-9\-]{6,}|Bearer\s+[A-Za-z0-9._\-]{8,}|(?:api[_-]?key|key)=[A-Za-z0-9._\-]{8,})",
    re.IGNORECASE,
)
_extra_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret so that :func:`redact` hides it even when it has no known shape."""
    if value and len(value) >= 6:
        _extra_secrets.add(value)


def redact(text: str) -> str:
    """Hide API keys and bearer tokens in text that may reach a user or a log."""
    for secret in _extra_secrets:
        if secret in text:
            text = text.replace(secret, mask(secret))
    return _SECRET.sub(lambda m: mask(m.group(0)), text)


def mask(value: str) -> str:
    """``sk-proj-abcdef1234`` → ``sk-…1234``: enough to recognise a key, never enough to use it."""
    if len(value) <= 8:
        return "…"
    prefix = value[:3] if value[:3].isascii() else ""
    return f"{prefix}…{value[-4:]}"


class VtaiError(Exception):
    def __init__(self, message: str):
        super().__init__(redact(message))

    @property
    def message(self) -> str:
        return str(self)


class UserError(VtaiError):
    pass


class UnknownModelError(UserError):
    def __init__(self, model: str, suggestions: list[str] | None = None):
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"Unknown model '{model}'.{hint} Run `vtai models` to list them.")
        self.model = model
        self.suggestions = suggestions or []


class MissingKeyError(UserError):
    def __init__(self, provider: str, env_var: str, model: str | None = None):
        what = f"model '{model}'" if model else f"provider '{provider}'"
        super().__init__(
            f"No API key for {provider} ({env_var}), needed by {what}. "
            f"Run `vtai keys set {provider}` or set {env_var}; or pick another model."
        )
        self.provider = provider
        self.env_var = env_var


class InputError(UserError):
    pass


class ProviderError(VtaiError):
    def __init__(self, message: str, *, status: int | None = None, model: str | None = None,
                 retryable: bool = False, partial: str = ""):
        super().__init__(message)
        self.status = status
        self.model = model
        self.retryable = retryable
        self.partial = partial


class LocalModelError(ProviderError):
    pass


class RoutingError(VtaiError):
    pass


class StoreError(VtaiError):
    pass


class NotFoundError(StoreError):
    pass


class ToolError(VtaiError):
    pass
