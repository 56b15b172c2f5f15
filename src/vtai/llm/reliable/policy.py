"""What to do about a failure (retry, fall back, give up), how long to wait, and how to say it to a user."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from vtai.errors import ProviderError
from vtai.settings import PROVIDERS

# The request itself is the problem: another attempt or another model would fail the same way.
FAIL_FAST_STATUS = frozenset({400, 413, 422})
# This model or its key is the problem: no retry, but another model may answer.
SKIP_MODEL_STATUS = frozenset({401, 402, 403, 404})

_STATUS_WORDS = {
    408: "timed out", 429: "rate limit reached", 500: "internal error", 502: "bad gateway",
    503: "service unavailable", 504: "gateway timeout", 529: "overloaded",
}


@dataclass(slots=True)
class Attempt:
    """One try of one model, for the user message and ``Done.extra``."""

    model: str
    provider: str
    status: int | None
    what: str  # short, user-facing: "returned 503 (service unavailable)", "stopped sending for 30 s"
    retryable: bool
    partial_chars: int = 0
    detail: str = ""  # the provider's message (redacted), for the log


@dataclass(slots=True)
class Report:
    primary: str
    attempts: list[Attempt] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (model, why)
    answered_by: str | None = None
    continued: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "primary": self.primary, "answered_by": self.answered_by, "continued": self.continued,
            "attempts": [{"model": a.model, "status": a.status, "what": a.what} for a in self.attempts],
            "skipped": [{"model": m, "why": w} for m, w in self.skipped],
        }


def is_content_policy(err: ProviderError) -> bool:
    ctx = err.__context__ or err.__cause__
    text = str(err).lower()
    return type(ctx).__name__ == "ContentPolicyViolationError" or any(
        w in text for w in ("content policy", "content_policy", "content management policy", "safety system"))


_PREFIX = re.compile(r"^(?:[A-Za-z_.]*(?:Error|Exception)\s*[:-]\s*|Error code: \d+\s*-\s*)+")


def provider_says(err: ProviderError, limit: int = 120) -> str:
    """The provider's own words, without the model id and LiteLLM's exception prefixes."""
    text = str(err).strip()
    if err.model and text.startswith(f"{err.model}: "):
        text = text[len(err.model) + 2:]
    text = _PREFIX.sub("", text).strip() or text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def classify(err: ProviderError) -> str:
    """``"retry"`` (same model again), ``"next"`` (skip to the next model) or ``"stop"`` (fail now)."""
    if err.status in FAIL_FAST_STATUS or is_content_policy(err):
        return "stop"
    if err.status in SKIP_MODEL_STATUS:
        return "next"
    if err.retryable or err.status is None or err.status >= 500 or err.status in (408, 429):
        return "retry"
    return "next"


def retry_after(err: BaseException) -> float | None:
    """Seconds the provider asked us to wait (``retry-after-ms`` / ``Retry-After``), if it said.

    LiteLLM keeps the response headers on its exception; the adapter raises ProviderError from inside the
    ``except`` block, so the original exception is the ProviderError's ``__context__``."""
    explicit = getattr(err, "retry_after", None)
    if isinstance(explicit, int | float):
        return float(explicit)
    seen: set[int] = set()
    exc: BaseException | None = err
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        headers = getattr(exc, "litellm_response_headers", None)
        if headers is None:
            headers = getattr(getattr(exc, "response", None), "headers", None)
        value = _parse_retry_after(headers) if headers is not None else None
        if value is not None:
            return value
        exc = exc.__cause__ or exc.__context__
    return None


def _parse_retry_after(headers: Any) -> float | None:
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000)
        raw = headers.get("retry-after")
    except (AttributeError, TypeError, ValueError):
        return None
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        from datetime import datetime, timezone

        return max(0.0, (parsedate_to_datetime(raw) - datetime.now(timezone.utc)).total_seconds())  # noqa: UP017
    except (TypeError, ValueError):
        return None


def backoff(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: ``base·2^attempt`` capped at ``cap``, then a random 50–100 % of it."""
    raw = min(cap, base * (2 ** attempt))
    return raw * (0.5 + 0.5 * (rng or random).random())


def describe(err: ProviderError) -> str:
    """What went wrong, in a few words, for a Status line: ``returned 503 (service unavailable)``."""
    own = getattr(err, "what", None)
    if own:
        return own
    if is_content_policy(err):
        return "refused the request (content policy)"
    if type(err.__context__).__name__ == "MidStreamFallbackError":
        return "broke off mid-answer (connection lost or malformed data)"
    status = err.status
    if status is None:
        return "could not be reached"
    if status == 408:
        return "timed out"
    words = _STATUS_WORDS.get(status)
    if words:
        return f"returned {status} ({words})"
    if status in FAIL_FAST_STATUS or status in SKIP_MODEL_STATUS:
        return f"returned {status}: {provider_says(err)}"
    return f"returned {status}"


def provider_label(provider: str) -> str:
    return provider


def _advice(last: Attempt | None, fell_back: bool) -> str:
    if last is None:
        return "Try again in a minute."
    prov = PROVIDERS.get(last.provider)
    key_hint = f"`vtai keys set {last.provider}`" if prov and prov.needs_key else f"the {last.provider} server"
    if last.status in (401, 403):
        return f"Check the key for {last.provider}: {key_hint}."
    if last.status == 402:
        return f"Check the billing / credit of your {last.provider} account."
    if last.status == 404:
        return f"{last.provider} does not offer {last.model} to this key; pick another model (`vtai models`)."
    if "content policy" in last.what:
        return "Rephrase the request (another model would most likely refuse it too)."
    if last.status in FAIL_FAST_STATUS:
        return "Shorten or rephrase the message (or start a new conversation if this one is very long)."
    more = "" if fell_back else (
        " Add a key for another provider (`vtai keys set …`) or allow the local model "
        "(VTAI_FALLBACK_TO_LOCAL=true) so VT.ai can fall back next time."
    )
    return f"Try again in a minute, or pick another model.{more}"


def explain(report: Report, partial: bool) -> str:
    """The one user-facing message for a request that finally failed: what happened, what VT.ai did,
    what to do. Short; details are in the log."""
    tried = list(dict.fromkeys(a.model for a in report.attempts))
    last = report.attempts[-1] if report.attempts else None
    if last is None and report.skipped:
        model, why = report.skipped[0]
        happened = f"{model} was not tried: {why}."
    elif last is not None:
        happened = f"{last.model} ({last.provider}) {last.what}."
    else:
        happened = f"{report.primary} could not answer."
    did: list[str] = []
    retries = len(report.attempts) - len(tried)
    if retries > 0:
        did.append(f"retried {retries} time{'s' if retries != 1 else ''}")
    if len(tried) > 1:
        did.append("fell back to " + ", ".join(tried[1:]) + " (all failed)")
    elif last is not None and classify_status(last) == "stop":
        did.append("did not retry: the same request would fail again")
    elif not report.skipped and len(tried) == 1:
        did.append("had no other model to fall back to")
    if report.skipped and last is not None:
        did.append("skipped " + ", ".join(f"{m} ({w})" for m, w in report.skipped[:3]))
    text = happened
    if did:
        text += " VT.ai " + "; ".join(did) + "."
    if partial:
        text += " The partial answer above is kept, marked as interrupted."
    return f"{text} {_advice(last, len(tried) > 1)}"


def classify_status(attempt: Attempt) -> str:
    if attempt.status in FAIL_FAST_STATUS or "content policy" in attempt.what:
        return "stop"
    return "retry" if attempt.retryable else "next"
