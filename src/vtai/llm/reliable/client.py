"""``ReliableLLM``: the LLM seam with retries, fallback chains (also mid-stream), timeouts and a circuit breaker,
wrapped around any other implementation of the seam (normally :class:`~vtai.llm.litellm_adapter.LiteLLMClient`).

What it guarantees, per ``stream(request)``:
- the text the user has seen is never taken back or repeated: a stream that breaks after some tokens continues
  with the next model from where it stopped (see :mod:`.splice`);
- every retry, fallback and skipped model is announced with a ``Status`` event, and a change of answering model
  with ``ModelChosen``; ``Done.extra["reliability"]`` summarises what happened;
- a request that finally fails raises one ``ProviderError`` whose message says what happened, what VT.ai did and
  what to do (:func:`.policy.explain`), with ``partial`` set to the text already shown.

What it does not do: retry inside a tool loop across several ``stream`` calls (each call is its own unit), or
fall back for media calls (``call`` only retries the same model).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import httpx

from vtai.errors import ProviderError, redact
from vtai.events import Done, Event, ModelChosen, ReasoningDelta, Status, TextDelta, ToolCall
from vtai.llm.catalogue import Catalogue, Model
from vtai.llm.reliable.breaker import CircuitBreaker
from vtai.llm.reliable.chains import FallbackConfig, fit_messages, load_fallbacks, needs_of, resolve_chain
from vtai.llm.reliable.policy import Attempt, Report, backoff, classify, describe, explain, retry_after
from vtai.llm.reliable.splice import Splicer, continuation_messages
from vtai.llm.types import LLM, ChatRequest
from vtai.settings import Settings

log = logging.getLogger(__name__)


class _Interrupted(Exception):
    """Raised inside a run when ``ReliableLLM.aclose`` interrupts it."""


def _failure(model: Model, what: str, status: int | None = 408) -> ProviderError:
    err = ProviderError(f"{model.id}: {what}", status=status, model=model.id, retryable=True)
    err.what = what  # type: ignore[attr-defined]
    return err


class ReliableLLM:
    def __init__(self, inner: LLM, catalogue: Catalogue, settings: Settings, *,
                 fallbacks: FallbackConfig | None = None, breaker: CircuitBreaker | None = None,
                 rng: random.Random | None = None, clock: Callable[[], float] = time.monotonic):
        self.inner = inner
        self.catalogue = catalogue
        self.settings = settings
        self.fallbacks = fallbacks if fallbacks is not None else load_fallbacks(settings.home)
        self.breaker = breaker or CircuitBreaker(settings.breaker_threshold, settings.breaker_cooldown, clock)
        self.rng = rng or random.Random()
        self.clock = clock
        self.closing = False
        self._runs: set[_Run] = set()

    # ---- delegated parts of the seam -------------------------------------------------------------
    @property
    def local(self) -> Any:
        return self.inner.local  # type: ignore[attr-defined]

    def connection(self, model: Model) -> dict[str, Any]:
        return self.inner.connection(model)  # type: ignore[attr-defined]

    def close(self) -> None:
        self.inner.close()  # type: ignore[attr-defined]

    def breaker_states(self) -> dict[str, dict]:
        """Models that failed recently: ``{model_id: {state, failures, retry_in, last_error}}``."""
        return self.breaker.snapshot()

    def chain_for(self, request: ChatRequest) -> list[Model]:
        extra = request.extra
        return resolve_chain(request.model, self.catalogue, self.settings, self.fallbacks,
                             route=extra.get("route"), requested=extra.get("fallbacks"),
                             needs=needs_of(request.messages, request.tools))

    # ---- the seam ---------------------------------------------------------------------------------
    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        if self.closing:
            raise ProviderError("VT.ai is shutting down; the request was not sent. Try again in a moment.",
                                status=503, model=request.model.id)
        chain = self.chain_for(request)
        extra = {k: v for k, v in request.extra.items() if k not in ("fallbacks", "route")}
        run = _Run(self, replace(request, extra=extra), chain)
        self._runs.add(run)
        try:
            async for event in run.events():
                yield event
        finally:
            self._runs.discard(run)

    async def call(self, method: str, model: Model, **kwargs: Any) -> Any:
        """Media and embedding calls: retried on the same model (no fallback); deadline and breaker applied;
        a final failure gets the same kind of message as a chat failure."""
        s = self.settings
        if self.closing:
            raise ProviderError("VT.ai is shutting down; the request was not sent.", status=503, model=model.id)
        report = Report(primary=model.id)
        deadline = self.clock() + s.request_deadline
        for attempt in range(s.max_retries + 1):
            if attempt and self.breaker.state(model.id) == "open":
                break  # no fallback here, so a paused model still gets its one attempt, but no retries
            try:
                result = await self.inner.call(method, model, **kwargs)  # type: ignore[attr-defined]
            except ProviderError as err:
                action = classify(err)
                report.attempts.append(Attempt(model.id, model.provider, err.status, describe(err), err.retryable))
                log.warning("%s %s failed: %s", method, model.id, redact(str(err))[:300])
                if action != "stop":
                    self.breaker.failure(model.id, describe(err))
                delay = retry_after(err) or backoff(attempt, s.retry_base_delay, s.retry_max_delay, self.rng)
                if action != "retry" or attempt == s.max_retries or self.clock() + delay > deadline:
                    break
                await asyncio.sleep(delay)
                continue
            self.breaker.success(model.id)
            return result
        last = report.attempts[-1] if report.attempts else None
        raise ProviderError(explain(report, partial=False), status=last.status if last else 503, model=model.id)

    async def aclose(self, timeout: float = 5.0) -> None:
        """Refuse new requests and interrupt the running streams: each ends with a ``Status`` and
        ``Done(interrupted=True)`` so adapters store the partial answer as interrupted. Waits up to ``timeout``."""
        self.closing = True
        for run in list(self._runs):
            run.interrupt()
        end = time.monotonic() + timeout
        while self._runs and time.monotonic() < end:
            await asyncio.sleep(0.01)


class _Run:
    """One ``stream`` call: walks the chain, retrying and falling back, and keeps what the user has seen."""

    def __init__(self, owner: ReliableLLM, request: ChatRequest, chain: list[Model]):
        self.o = owner
        self.s = owner.settings
        self.request = request
        self.chain = chain
        self.report = Report(primary=request.model.id)
        self._parts: list[str] = []  # answer text already yielded, across models
        self.announced = request.model.id  # the model the user was last told is answering
        self.deadline = owner.clock() + self.s.request_deadline
        self._stop: asyncio.Future[None] | None = None  # set by interrupt(); ends a backoff sleep early
        self._scope: asyncio.Timeout | None = None  # the timer around the provider stream's next event
        self._interrupted = False

    def interrupt(self) -> None:
        self._interrupted = True
        if self._stop is not None and not self._stop.done():
            self._stop.set_result(None)
        if self._scope is not None:
            self._scope.reschedule(-1)  # expire now: the waiting __anext__ is cancelled

    @property
    def shown(self) -> str:
        return "".join(self._parts)

    def remaining(self) -> float:
        return self.deadline - self.o.clock()

    async def events(self) -> AsyncIterator[Event]:
        self._stop = asyncio.get_running_loop().create_future()
        if self._interrupted:  # aclose() came before the first event was asked for
            self._stop.set_result(None)
        try:
            async for event in self._walk():
                yield event
        except _Interrupted:
            yield Status("VT.ai is shutting down — this answer was interrupted.")
            yield Done(model=self.announced, finish_reason="interrupted", interrupted=True,
                       extra={"reliability": self.report.as_dict()})

    async def _walk(self) -> AsyncIterator[Event]:
        breaker = self.o.breaker
        for index, model in enumerate(self.chain):
            if not breaker.allow(model.id):
                why = f"paused after repeated failures, next try in {breaker.retry_in(model.id):.0f} s"
                self.report.skipped.append((model.id, why))
                yield Status(f"Skipping {model.id}: {why}.")
                continue
            async for event in self._use(model, index, self.s.max_retries):
                yield event
            if self.report.answered_by or self.remaining() <= 0:
                break
        if not self.report.answered_by and self.report.skipped and self.remaining() > 0:
            # Models were skipped as paused. The breaker exists to move on to alternatives quickly; with none
            # left, one plain attempt serves the user better than failing without trying.
            model = next(m for m in self.chain if m.id == self.report.skipped[0][0])
            yield Status(f"No other model could answer — trying the paused {model.id} once anyway.")
            async for event in self._use(model, len(self.chain), 0):
                yield event
        if not self.report.answered_by:
            raise self._final()

    async def _use(self, model: Model, index: int, max_retries: int) -> AsyncIterator[Event]:
        """Try ``model`` (retrying up to ``max_retries`` times) until it answers or it is time to move on."""
        tries = 0
        while True:
            if model.id != self.announced:
                for event in switch_events(self, model):
                    yield event
            try:
                async for event in self._attempt(model):
                    yield event
            except ProviderError as err:
                action = self._record(model, err)
                if action == "stop":
                    raise self._final() from None
                wait = self._retry_delay(model, err, tries, action, self._has_next(index), max_retries)
                if wait is None:
                    return
                yield Status(self._retry_text(model, err, wait, tries))
                await self._sleep(wait)
                tries += 1
                continue
            self.o.breaker.success(model.id)
            return

    def _has_next(self, index: int) -> bool:
        return any(self.o.breaker.state(m.id) != "open" for m in self.chain[index + 1:])

    def _record(self, model: Model, err: ProviderError) -> str:
        action = classify(err)
        partial = len(self.shown)
        self.report.attempts.append(Attempt(model.id, model.provider, err.status, describe(err),
                                            err.retryable, partial, redact(str(err))[:300]))
        log.warning("attempt %d: %s failed: status=%s %s", len(self.report.attempts), model.id, err.status,
                    redact(str(err))[:300])
        if action != "stop":
            self.o.breaker.failure(model.id, describe(err))
        else:
            self.o.breaker.release(model.id)
        return action

    def _retry_delay(self, model: Model, err: ProviderError, tries: int, action: str, has_next: bool,
                     max_retries: int) -> float | None:
        """Seconds to wait before retrying ``model``, or None to move on to the next model."""
        s = self.s
        if action != "retry" or tries >= max_retries or self.o.breaker.state(model.id) == "open":
            return None
        if self.shown and has_next:
            return None  # broke mid-answer: continue with the next model rather than the one that broke
        asked = retry_after(err)
        delay = asked if asked is not None else backoff(tries, s.retry_base_delay, s.retry_max_delay, self.o.rng)
        if asked is not None and asked > s.retry_max_delay and has_next:
            return None
        if delay >= self.remaining():
            return None
        return delay

    def _retry_text(self, model: Model, err: ProviderError, wait: float, tries: int) -> str:
        where = " mid-answer" if self.shown else ""
        return (f"{model.provider} {describe(err)}{where} — retrying {model.id} in {_secs(wait)} "
                f"(attempt {tries + 2} of {self.s.max_retries + 1})")

    async def _sleep(self, delay: float) -> None:
        assert self._stop is not None
        await asyncio.wait({self._stop}, timeout=delay)
        if self._stop.done():
            raise _Interrupted

    def _final(self) -> ProviderError:
        last = self.report.attempts[-1] if self.report.attempts else None
        message = explain(self.report, partial=bool(self.shown))
        log.warning("request for %s failed: %s", self.report.primary, message)
        return ProviderError(message, status=last.status if last else 503, model=self.report.primary,
                             retryable=False, partial=self.shown)

    # ---- one attempt --------------------------------------------------------------------------------
    def _request_for(self, model: Model) -> ChatRequest:
        req = self.request
        messages = req.messages
        if model.context and model.context < (req.model.context or 0):
            messages = fit_messages(messages, model.context, req.max_tokens or min(1024, model.context // 4))
        if self.shown:
            messages = continuation_messages(messages, self.shown)
            self.report.continued = True
        s = self.s
        read = max(s.first_token_timeout, s.stall_timeout) + 5  # backstop; the precise timers are ours
        extra = {**req.extra, "timeout": httpx.Timeout(read, connect=s.connect_timeout)}
        return replace(req, model=model, messages=messages, extra=extra, tools=req.tools if model.can("tools")
                       else None, tool_choice=req.tool_choice if model.can("tools") else None)

    def _first_timeout(self, model: Model) -> float:
        t = self.s.first_token_timeout
        running = getattr(getattr(self.o.inner, "local", None), "running", None)
        if model.provider == "local" and running is not None and not running():
            t += self.s.local_start_timeout
        return t

    async def _attempt(self, model: Model) -> AsyncIterator[Event]:
        splicer = Splicer(self.shown) if self.shown else None
        raw: list[str] = []
        produced = False  # anything but Status: text, reasoning, tool calls
        stream = self.o.inner.stream(self._request_for(model))
        try:
            while True:
                if produced:
                    timeout, what = self.s.stall_timeout, f"stopped sending for {self.s.stall_timeout:g} s"
                else:
                    first = self._first_timeout(model)
                    timeout = max(0.0, min(first, self.remaining()))
                    what = f"did not start answering within {timeout:g} s"
                event = await self._next(stream, timeout, model, what)
                if event is None:
                    break
                if isinstance(event, Status):
                    yield event
                    continue
                if isinstance(event, TextDelta):
                    produced = True
                    raw.append(event.text)
                    text = splicer.feed(event.text) if splicer else event.text
                    if text:
                        self._parts.append(text)
                        yield TextDelta(text)
                    continue
                if isinstance(event, ReasoningDelta | ToolCall):
                    produced = True
                if isinstance(event, Done):
                    tail = splicer.flush() if splicer else ""
                    if tail:
                        self._parts.append(tail)
                        yield TextDelta(tail)
                    if not raw and not produced and event.finish_reason not in ("tool_calls", "length"):
                        raise _failure(model, "returned an empty answer", status=None)
                    event = self._done(model, event)
                yield event
        except ProviderError:
            if splicer is not None:  # what the fallback wrote before breaking is kept too
                tail = splicer.flush()
                if tail:
                    self._parts.append(tail)
                    yield TextDelta(tail)
            raise
        except BaseException:
            self.o.breaker.release(model.id)
            raise
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    def _done(self, model: Model, event: Done) -> Done:
        self.report.answered_by = model.id
        if not self.report.attempts and not self.report.skipped:
            return event
        return replace(event, model=model.id, extra={**event.extra, "reliability": self.report.as_dict()})

    async def _next(self, stream: Any, timeout: float, model: Model, what: str) -> Event | None:
        """The stream's next event, or None at its end; a ProviderError after ``timeout`` seconds of silence.

        The timer runs in the caller's task (no task per token): on expiry, or when :meth:`interrupt` moves
        the deadline to now, the cancellation lands inside the provider stream's ``__anext__`` only."""
        try:
            async with asyncio.timeout(timeout) as scope:
                self._scope = scope
                if self._interrupted:
                    scope.reschedule(-1)
                return await stream.__anext__()
        except StopAsyncIteration:
            return None
        except TimeoutError:
            if not scope.expired():
                raise  # not our timer
            if self._interrupted:
                raise _Interrupted from None
            raise _failure(model, what) from None
        finally:
            self._scope = None


def _secs(value: float) -> str:
    return f"{value:.1f} s" if value >= 0.1 else f"{value:.2f} s"


def switch_events(run: _Run, model: Model) -> list[Event]:
    """Tell the user that ``model`` answers instead of the model announced before, and why."""
    previous = run.announced
    run.announced = model.id
    last = run.report.attempts[-1] if run.report.attempts else None
    why = f"{previous} {last.what}" if last and last.model == previous else f"{previous} was skipped"
    if run.shown:
        text = f"{previous} failed mid-answer ({last.what if last else 'skipped'}) — continuing with {model.id}"
    else:
        text = f"{why} — answering with {model.id} instead"
    return [Status(text), ModelChosen(model.id, f"fallback: {why}")]
