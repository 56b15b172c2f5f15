"""API keys in ``$VTAI_HOME/.env`` (the original VT.ai's file format): file mode 0600, folder 0700.

Keys are never printed in full: :func:`vtai.errors.mask` shows ``sk-…abcd``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from dotenv import dotenv_values

from vtai.errors import UserError, mask
from vtai.settings import PROVIDERS, SEARCH_KEYS

_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")


def env_var_for(provider: str) -> str:
    provider = provider.lower()
    if provider in SEARCH_KEYS:
        return SEARCH_KEYS[provider]
    prov = PROVIDERS.get(provider)
    if prov is None or prov.key_env is None:
        known = sorted([p for p, v in PROVIDERS.items() if v.key_env] + list(SEARCH_KEYS))
        raise UserError(f"Unknown provider '{provider}'. Known: {', '.join(known)}.")
    return prov.key_env


def ensure_home(home: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    return home


class KeyStore:
    def __init__(self, home: Path):
        self.home = home
        self.path = home / ".env"

    def _lines(self) -> list[str]:
        return self.path.read_text().splitlines() if self.path.is_file() else []

    def _write(self, lines: list[str]) -> None:
        ensure_home(self.home)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + ("\n" if lines else ""))
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def set(self, provider: str, key: str) -> str:
        key = key.strip()
        if not key or any(c in key for c in "\n\r\"' "):
            raise UserError("That key is empty or contains spaces, quotes or line breaks; paste the key alone.")
        var = env_var_for(provider)
        self.set_var(var, key)
        return var

    def set_var(self, var: str, value: str) -> None:
        lines = [ln for ln in self._lines() if (m := _LINE.match(ln)) is None or m.group(1) != var]
        lines.append(f"{var}={value}")
        self._write(lines)

    def remove(self, provider: str) -> bool:
        var = env_var_for(provider)
        lines = self._lines()
        kept = [ln for ln in lines if (m := _LINE.match(ln)) is None or m.group(1) != var]
        if len(kept) == len(lines):
            return False
        self._write(kept)
        return True

    def stored(self) -> dict[str, str]:
        return {k: v for k, v in dotenv_values(self.path).items() if v} if self.path.is_file() else {}

    def listing(self, environ: dict[str, str]) -> list[tuple[str, str, str, str]]:
        """(provider, env var, masked key or '', source) for every provider with a key slot."""
        stored = self.stored()
        rows = []
        names = [p for p, v in PROVIDERS.items() if v.key_env] + list(SEARCH_KEYS)
        for name in names:
            var = env_var_for(name)
            if environ.get(var):
                rows.append((name, var, mask(environ[var]), "environment"))
            elif stored.get(var):
                rows.append((name, var, mask(stored[var]), str(self.path)))
            else:
                rows.append((name, var, "", ""))
        return rows
