"""The pure parts: splicing a continuation, Retry-After, backoff, chains from data, user-facing messages."""

from __future__ import annotations

import random

import httpx
import pytest

from vtai.errors import ProviderError, UserError
from vtai.llm.catalogue import load_catalogue
from vtai.llm.local import installed
from vtai.llm.reliable.breaker import CircuitBreaker
from vtai.llm.reliable.chains import fit_messages, load_fallbacks, needs_of, resolve_chain
from vtai.llm.reliable.policy import Attempt, Report, backoff, classify, explain, retry_after
from vtai.llm.reliable.splice import Splicer
from vtai.settings import load_settings

PARTIAL = "The capital of France is Paris. It lies on the Seine and has "


def splice(partial: str, pieces: list[str]) -> str:
    s = Splicer(partial)
    return partial + "".join(s.feed(p) for p in pieces) + s.flush()


@pytest.mark.parametrize("pieces", [
    ["about two ", "million inhabitants."],  # clean continuation
    ["The capital ", "of France is Paris. It lies on the Seine and has about two million inhabitants."],  # restart
    ["the Seine and has ", "about two million inhabitants."],  # echoes the tail
    ["\nthe Seine and has about two million inhabitants."],  # echoes the tail after a newline
])
def test_splicer_never_repeats_or_drops(pieces):
    assert splice(PARTIAL, pieces) == PARTIAL + "about two million inhabitants."


def test_splicer_keeps_short_coincidental_overlap_and_passes_through_after_probe():
    # "has" + "has-been" is a 3-char coincidence, not an echo: kept
    assert splice("It has", [" has-been ", "x" * 60]) == "It has has-been " + "x" * 60
    # a repeated word pair may be the text itself (found by the soak run): kept
    partial = "Echo: c96 t5 charlie foxtrot foxtrot "
    rest = "foxtrot mike charlie foxtrot echo foxtrot delta hotel golf november delta"
    assert splice(partial, [rest]) == partial + rest
    s = Splicer("abc")
    assert s.feed("z" * 60) == "z" * 60 and s.feed("more") == "more"


def test_splicer_restart_that_only_repeats_adds_nothing():
    assert splice(PARTIAL, ["The capital of France"]) == PARTIAL


def test_retry_after_from_headers_and_context():
    class Upstream(Exception):
        def __init__(self, headers):
            self.litellm_response_headers = httpx.Headers(headers)

    for headers, want in [({"retry-after": "2"}, 2.0), ({"retry-after-ms": "1500", "retry-after": "9"}, 1.5),
                          ({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0), ({}, None)]:
        try:
            try:
                raise Upstream(headers)
            except Upstream:
                raise ProviderError("x", status=429, retryable=True) from None
        except ProviderError as err:
            assert retry_after(err) == want


def test_backoff_grows_with_jitter_and_is_capped():
    rng = random.Random(1)
    values = [backoff(n, 0.5, 8.0, rng) for n in range(8)]
    for n, v in enumerate(values):
        cap = min(8.0, 0.5 * 2 ** n)
        assert cap / 2 <= v <= cap
    assert max(values) <= 8.0


@pytest.mark.parametrize("status, retryable, action", [
    (429, True, "retry"), (503, True, "retry"), (529, True, "retry"), (408, True, "retry"), (None, False, "retry"),
    (400, False, "stop"), (422, False, "stop"), (401, False, "next"), (404, False, "next"),
])
def test_classify(status, retryable, action):
    assert classify(ProviderError("m: x", status=status, retryable=retryable)) == action


def test_chain_skips_models_without_key_and_ends_with_local(monkeypatch, vtai_home):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-a-000000")
    monkeypatch.setenv("GEMINI_API_KEY", "AIza-000000000000")
    settings = load_settings()
    cat = load_catalogue()
    cfg = load_fallbacks(vtai_home)
    chain = [m.id for m in resolve_chain(cat.get("gpt-4o-mini"), cat, settings, cfg)]
    # claude-haiku (no anthropic key), groq, mistral, deepseek, openrouter are skipped; then the local model
    local = ["local/smollm2-135m"] if installed()[0] else []  # only when llama.cpp and the GGUF are installed
    assert chain == ["gpt-4o-mini", "gemini-2.5-flash", *local]
    capped = [m.id for m in resolve_chain(cat.get("gpt-4o"), cat, settings, cfg)]
    assert capped == ["gpt-4o", "gemini-2.5-pro", "gpt-4o-mini", "gemini-2.5-flash", *local]
    no_local = resolve_chain(cat.get("gpt-4o-mini"), cat, load_settings(fallback_to_local=False), cfg)
    assert "local/smollm2-135m" not in [m.id for m in no_local]


def test_chain_respects_needed_capabilities_and_routes(monkeypatch, vtai_home):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-a-000000")
    monkeypatch.setenv("MISTRAL_API_KEY", "mk-a-000000")
    settings, cat, cfg = load_settings(), load_catalogue(), load_fallbacks(vtai_home)
    image = [{"role": "user", "content": [{"type": "text", "text": "what"},
                                          {"type": "image_url", "image_url": {"url": "data:"}}]}]
    assert needs_of(image, None) == {"chat", "vision"}
    chain = resolve_chain(cat.get("gpt-4o"), cat, settings, cfg, needs={"chat", "vision"})
    assert all(m.can("vision") for m in chain)  # mistral-large and the local model cannot see: skipped
    coding = [m.id for m in resolve_chain(cat.get("groq/llama-3.1-8b-instant"), cat, settings, cfg, route="coding")]
    assert "gpt-4.1" in coding and "codestral-latest" in coding


def test_user_fallbacks_file_overrides_and_is_validated(vtai_home):
    vtai_home.mkdir(parents=True, exist_ok=True)
    (vtai_home / "fallbacks.yaml").write_text("models: {gpt-4o: [o3]}\nmax_models: 2\nlocal: ''\n")
    cfg = load_fallbacks(vtai_home)
    assert cfg.models["gpt-4o"] == ["o3"] and cfg.max_models == 2 and cfg.local == ""
    assert cfg.models["gpt-4o-mini"][0] == "claude-haiku-4-5"  # built-in entries kept
    (vtai_home / "fallbacks.yaml").write_text("models: [gpt-4o]\n")
    with pytest.raises(UserError, match="must map names to lists"):
        load_fallbacks(vtai_home)


def test_fit_messages_drops_oldest_turns_for_a_smaller_model():
    msgs = [{"role": "system", "content": "sys"}] + [
        {"role": "user" if i % 2 == 0 else "assistant", "content": "x" * 4000} for i in range(9)]
    fitted = fit_messages(msgs, context=2048, reserve=512)
    assert fitted[0]["role"] == "system" and fitted[-1] is msgs[-1] and len(fitted) < len(msgs)
    assert fit_messages(msgs, context=1_000_000, reserve=1024) == msgs


def test_breaker_half_open_allows_one_probe():
    now = [0.0]
    b = CircuitBreaker(2, 10.0, clock=lambda: now[0])
    b.failure("m")
    assert b.allow("m")
    b.failure("m")
    assert b.state("m") == "open" and not b.allow("m")
    now[0] = 10.5
    assert b.allow("m") and not b.allow("m")  # one probe at a time
    b.success("m")
    assert b.state("m") == "closed" and b.snapshot() == {}


def test_explain_messages():
    r = Report("gpt-4o", [Attempt("gpt-4o", "openai", 401, "returned 401: bad key", False)])
    assert explain(r, partial=False) == (
        "gpt-4o (openai) returned 401: bad key. VT.ai had no other model to fall back to. "
        "Check the key for openai: `vtai keys set openai`.")
    r = Report("gpt-4o", [Attempt("gpt-4o", "openai", 503, "returned 503 (service unavailable)", True)] * 2
               + [Attempt("claude-haiku-4-5", "anthropic", 529, "returned 529 (overloaded)", True)])
    msg = explain(r, partial=True)
    assert msg.startswith("claude-haiku-4-5 (anthropic) returned 529 (overloaded). VT.ai retried 1 time; "
                          "fell back to claude-haiku-4-5 (all failed).")
    assert "partial answer above is kept" in msg


def test_breaker_ignores_scattered_failures_under_load_but_opens_on_an_outage():
    b = CircuitBreaker(3, 10.0, clock=lambda: 0.0)
    for _ in range(5):  # 10-15 % random errors: three in a row now and then, but mostly successes
        for _ in range(17):
            b.success("m")
        for _ in range(3):
            b.failure("m")
        assert b.state("m") == "closed"
    for _ in range(10):  # an outage: failures dominate the window
        b.failure("m")
    assert b.state("m") == "open"


async def test_wraps_the_in_process_fake_llm_too(vtai_home):
    """ReliableLLM needs only the seam: FakeLLM (no HTTP) works, including the local model id."""
    from vtai.errors import ProviderError as PE
    from vtai.events import ModelChosen, TextDelta
    from vtai.llm.reliable import ReliableLLM
    from vtai.llm.types import ChatRequest
    from vtai.testing.fake_llm import FakeLLM

    fake = FakeLLM()
    settings = load_settings(retry_base_delay=0.001, retry_max_delay=0.002)
    cat = load_catalogue()
    llm = ReliableLLM(fake, cat, settings)
    fake.enqueue(PE("local/smollm2-135m: boom", status=503, retryable=True))
    fake.enqueue("Hello there")
    events = [e async for e in llm.stream(ChatRequest(cat.get("local"), [{"role": "user", "content": "hi"}]))]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello there"
    assert not [e for e in events if isinstance(e, ModelChosen)] and len(fake.requests) == 2
