"""Bearer API keys and the per-key rate limit.

Keys are created with ``vtai api-keys create`` and stored hashed (SHA-256) by :mod:`vtai.store`. They are required
when the server listens beyond loopback or ``settings.auth`` is not ``"none"``; otherwise requests need no key
(the official clients insist on sending one: any value is accepted and ignored).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import Request

from vtai.api.errors import APIError

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_RATE_LIMIT = 60  # requests per minute per key
DEFAULT_MAX_BODY_MB = 8.0


@dataclass(frozen=True, slots=True)
class ApiConfig:
    require_auth: bool = False
    rate_limit_per_minute: int = DEFAULT_RATE_LIMIT  # 0: no limit
    max_body_bytes: int = int(DEFAULT_MAX_BODY_MB * 1024 * 1024)
    store_threads: bool = False  # store every request as a thread (else only with ``x-vtai-store: 1``)
    key_cache_seconds: float = 5.0  # a revoked key stops working within this time

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> ApiConfig:
        # The api_* settings may not exist yet in Settings: defaults apply until they do.
        values = {
            "require_auth": settings.auth != "none" or settings.host not in LOOPBACK,
            "rate_limit_per_minute": int(getattr(settings, "api_rate_limit", DEFAULT_RATE_LIMIT)),
            "max_body_bytes": int(float(getattr(settings, "api_max_body_mb", DEFAULT_MAX_BODY_MB)) * 1024 * 1024),
            "store_threads": bool(getattr(settings, "api_store_threads", False)),
        }
        values.update(overrides)
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: str
    identifier: str
    key_digest: str  # identifies the key for rate limiting (never the key itself)


class KeyVerifier(Protocol):
    async def verify_api_key(self, plaintext: str) -> Any: ...  # a User (id, identifier) or None


class RateLimiter:
    """Token bucket per key: ``per_minute`` requests a minute, bursts up to ``per_minute``. Per process:
    behind a load balancer each replica counts on its own."""

    def __init__(self, per_minute: int, clock=time.monotonic):
        self.per_minute = per_minute
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def check(self, key: str) -> float:
        """0 if the request may go ahead (and counts it), else the seconds to wait."""
        if self.per_minute <= 0:
            return 0.0
        now = self.clock()
        rate = self.per_minute / 60.0
        tokens, last = self._buckets.get(key, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - last) * rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate
        self._buckets[key] = (tokens - 1.0, now)
        if len(self._buckets) > 10_000:
            self._prune(now, rate)
        return 0.0

    def _prune(self, now: float, rate: float) -> None:
        full = [k for k, (t, last) in self._buckets.items() if t + (now - last) * rate >= self.per_minute]
        for k in full:
            del self._buckets[k]


class Authenticator:
    def __init__(self, config: ApiConfig, verifier_factory):
        self.config = config
        self.verifier_factory = verifier_factory  # async () -> KeyVerifier (opened on first use)
        self.limiter = RateLimiter(config.rate_limit_per_minute)
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = asyncio.Lock()

    async def __call__(self, request: Request) -> Principal | None:
        if not self.config.require_auth:
            return None
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise APIError(401, "Missing API key: send 'Authorization: Bearer <key>'. Create a key with "
                                "`vtai api-keys create NAME`.", code="missing_api_key")
        principal = await self._verify(token)
        if principal is None:
            raise APIError(401, "Invalid or revoked API key.", code="invalid_api_key")
        wait = self.limiter.check(principal.key_digest)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise APIError(429, f"Rate limit reached for this API key ({self.config.rate_limit_per_minute} "
                                f"requests per minute). Retry after {retry} s.", code="rate_limit_exceeded",
                           headers={"Retry-After": str(retry)})
        request.state.principal = principal
        return principal

    async def _verify(self, token: str) -> Principal | None:
        digest = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached and now - cached[0] < self.config.key_cache_seconds:
            return cached[1]
        verifier = await self.verifier_factory()
        user = await verifier.verify_api_key(token)
        principal = Principal(user.id, user.identifier, digest) if user is not None else None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now, principal)
        return principal


class StoreHandle:
    """The store, opened once on first use (the engine's "store" service when the host app has one)."""

    def __init__(self, runtime: Any, opener=None):
        self.runtime = runtime
        self.opener = opener
        self._store: Any = None
        self._lock = asyncio.Lock()

    async def get(self) -> Any:
        if self._store is not None:
            return self._store
        async with self._lock:
            if self._store is None:
                shared = self.runtime.engine.services.get("store")
                if shared is not None:
                    self._store = shared
                else:
                    self._store = await (self.opener or _open_store)(self.runtime.settings)
                    self.runtime.closers.append(self._store.close)
        return self._store


async def _open_store(settings: Any) -> Any:
    from vtai.store import Store

    return await Store.from_settings(settings)
