"""Password hashing, API key hashing, trusted-header identities and the Chainlit auth secret.

Passwords: scrypt (RFC 7914, ``hashlib.scrypt``; N=2**14, r=8, p=1, 16-byte salt), verified in constant
time. API keys are 256-bit random tokens, so a single SHA-256 is the right hash for them (no KDF needed: there
is nothing to brute-force) and lets the server find a key by its hash.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from vtai.errors import InputError

_N, _R, _P, _DKLEN = 2**14, 8, 1, 32
MIN_PASSWORD = 8
API_KEY_PREFIX = "vtai-"
_IDENTIFIER = re.compile(r"^[\w.@+\- ]{1,128}$", re.UNICODE)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InputError(f"Password too short: use at least {MIN_PASSWORD} characters")
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str | None) -> bool:
    """Constant-time check. With no stored hash it still does the work, so timing doesn't reveal users."""
    try:
        scheme, n, r, p, salt, digest = (encoded or _DUMMY).split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = hashlib.scrypt(password.encode(), salt=_unb64(salt), n=int(n), r=int(r), p=int(p),
                                dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected) and encoded is not None


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_identifier(identifier: str) -> str:
    identifier = identifier.strip()
    if not _IDENTIFIER.match(identifier):
        raise InputError(
            f"Invalid user name {identifier!r}: use 1-128 letters, digits, spaces or . _ @ + -")
    return identifier


def header_identity(headers: Mapping[str, str], header: str) -> str | None:
    """The user a trusted reverse proxy names in ``header`` (case-insensitive), or None if absent/invalid.
    Only safe when the server is reachable through that proxy alone, which strips the header from clients."""
    wanted = header.lower()
    value = next((v for k, v in headers.items() if k.lower() == wanted), None)
    if not value:
        return None
    try:
        return check_identifier(value)
    except InputError:
        return None


def ensure_auth_secret(home: Path) -> str:
    """Return ``CHAINLIT_AUTH_SECRET`` from ``$VTAI_HOME/.env``, generating and storing it (file mode 0600)
    if absent. The caller exports it to the environment before Chainlit starts."""
    env_file = home / ".env"
    lines = env_file.read_text().splitlines() if env_file.exists() else []
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() == "CHAINLIT_AUTH_SECRET" and value.strip().strip("'\""):
            _restrict(env_file)
            return value.strip().strip("'\"")
    secret = secrets.token_urlsafe(48)
    home.mkdir(parents=True, exist_ok=True)
    fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a") as fh:
        prefix = "\n" if lines and env_file.stat().st_size and not env_file.read_bytes().endswith(b"\n") else ""
        fh.write(f"{prefix}CHAINLIT_AUTH_SECRET={secret}\n")
    _restrict(env_file)
    return secret


def _restrict(path: Path) -> None:
    os.chmod(path, 0o600)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode(), validate=True)


_DUMMY = f"scrypt${_N}${_R}${_P}${_b64(b'0' * 16)}${_b64(b'0' * _DKLEN)}"
