"""The only place VT.ai imports LiteLLM. Every provider, the local model included, goes through here."""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

from vtai.errors import ProviderError, redact
from vtai.events import Done, Event, ReasoningDelta, Status, TextDelta, ToolCall, Usage
from vtai.llm.catalogue import Model, require_usable
from vtai.llm.local import MODEL_ALIAS, LocalModelServer
from vtai.llm.types import ChatRequest
from vtai.settings import PROVIDERS, Settings

log = logging.getLogger(__name__)
_litellm: Any = None

RETRYABLE_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


def litellm() -> Any:
    """Import LiteLLM on first use: it takes ~2 s and must never fetch its price list from the network."""
    global _litellm
    if _litellm is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        os.environ.setdefault("LITELLM_TELEMETRY", "False")
        import litellm as _lib

        _lib.telemetry = False
        _lib.drop_params = True
        _lib.suppress_debug_info = True
        _litellm = _lib
    return _litellm


def to_provider_error(exc: BaseException, model: str, partial: str = "") -> ProviderError:
    if isinstance(exc, ProviderError):
        return exc
    status = getattr(exc, "status_code", None)
    name = type(exc).__name__
    if isinstance(exc, asyncio.TimeoutError | TimeoutError) or name in ("Timeout", "APITimeoutError"):
        status = status or 408
    elif name in ("APIConnectionError", "ServiceUnavailableError") and status is None:
        status = 503
    text = str(getattr(exc, "message", "") or exc).strip() or name
    text = text.replace("litellm.", "").split("\n")[0][:300]
    retryable = status in RETRYABLE_STATUS or name in ("APIConnectionError", "Timeout", "MidStreamFallbackError")
    if name == "ContentPolicyViolationError":
        retryable = False
    return ProviderError(f"{model}: {text}", status=status, model=model, retryable=retryable, partial=partial)


class LiteLLMClient:
    """Implements the LLM seam over LiteLLM. Holds the local model server so it starts once, on first use."""

    def __init__(self, settings: Settings, local: LocalModelServer | None = None):
        self.settings = settings
        self.local = local or LocalModelServer(
            settings.local_model, settings.home / "logs", settings.local_context, settings.local_threads,
            settings.local_start_timeout,
        )

    def connection(self, model: Model) -> dict[str, Any]:
        """LiteLLM arguments that say where and how to reach ``model`` (keys never logged)."""
        prov = PROVIDERS[model.provider]
        s = self.settings
        if model.provider == "local":
            return {"model": f"openai/{MODEL_ALIAS}", "api_base": self.local.base_url, "api_key": "local"}
        base = s.base_for(model.provider)
        name = model.litellm_model
        if model.provider in s.openai_compatible and base:
            name = f"openai/{model.name}"
        args: dict[str, Any] = {"model": name}
        if base:
            args["api_base"] = base
        key = s.key_for(model.provider)
        if key:
            args["api_key"] = key
        elif not prov.needs_key:
            args["api_key"] = "none"
        return args

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        model = request.model
        require_usable(model, self.settings)
        if model.provider == "local":
            queue: asyncio.Queue[Event] = asyncio.Queue()
            if not self.local.running():
                yield Status("Starting the local model (first use)…")
                # Import LiteLLM while the model loads: the two together are most of a cold start.
                await asyncio.gather(self.local.ensure_started(), asyncio.to_thread(litellm))
            await self.local.ensure_started()
            slot = self.local.slot(lambda n: queue.put_nowait(
                Status(f"The local model is busy: {n} request(s) ahead of yours, waiting…")))
            waiter = asyncio.ensure_future(slot.__aenter__())
            while not waiter.done():
                get = asyncio.ensure_future(queue.get())
                await asyncio.wait({waiter, get}, return_when=asyncio.FIRST_COMPLETED)
                if get.done():
                    yield get.result()
                else:
                    get.cancel()
            waiter.result()
            try:
                async for ev in self._stream(request):
                    yield ev
            finally:
                await slot.__aexit__(None, None, None)
        else:
            async for ev in self._stream(request):
                yield ev

    def _kwargs(self, request: ChatRequest) -> dict[str, Any]:
        s = self.settings
        kw: dict[str, Any] = {
            **self.connection(request.model),
            "messages": request.messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "timeout": s.request_deadline,
            "num_retries": 0,
        }
        for name in ("temperature", "top_p", "max_tokens", "stop", "tools", "tool_choice", "response_format"):
            value = getattr(request, name)
            if value is not None:
                kw[name] = value
        if request.reasoning_effort and request.model.can("reasoning"):
            kw["reasoning_effort"] = request.reasoning_effort
        # Routing hints for the reliability layer are not provider parameters.
        kw.update({k: v for k, v in request.extra.items() if k not in ("route", "fallbacks")})
        return kw

    async def _stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        lib = litellm()
        model = request.model
        text: list[str] = []
        tools: dict[int, dict[str, Any]] = {}
        finish = "stop"
        usage = None
        try:
            response = await lib.acompletion(**self._kwargs(request))
            async for chunk in response:
                if getattr(chunk, "usage", None):
                    usage = chunk.usage
                if not chunk.choices:
                    continue
                choice = chunk.choices[0]
                delta = choice.delta
                reasoning = getattr(delta, "reasoning_content", None)
                if reasoning:
                    yield ReasoningDelta(reasoning)
                if delta.content:
                    text.append(delta.content)
                    yield TextDelta(delta.content)
                for tc in getattr(delta, "tool_calls", None) or []:
                    slot = tools.setdefault(tc.index or 0, {"id": None, "name": "", "arguments": ""})
                    slot["id"] = tc.id or slot["id"]
                    if tc.function is not None:
                        slot["name"] += tc.function.name or ""
                        slot["arguments"] += tc.function.arguments or ""
                if choice.finish_reason:
                    finish = choice.finish_reason
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - every provider failure becomes a typed ProviderError
            err = to_provider_error(exc, model.id, "".join(text))
            log.warning("provider call failed: %s", redact(repr(exc))[:500])
            raise err from None
        for i, slot in sorted(tools.items()):
            yield ToolCall(slot["id"] or f"call_{i}", slot["name"], _parse_args(slot["arguments"]))
        if tools and finish == "stop":
            finish = "tool_calls"
        if usage is not None:
            yield self._usage(model, usage)
        yield Done(model=model.id, finish_reason=finish)

    def _usage(self, model: Model, usage: Any) -> Usage:
        prompt = int(getattr(usage, "prompt_tokens", 0) or 0)
        completion = int(getattr(usage, "completion_tokens", 0) or 0)
        cost = None
        if model.provider != "local":
            try:
                p, c = litellm().cost_per_token(model=model.litellm_model, prompt_tokens=prompt,
                                                completion_tokens=completion)
                cost = p + c
            except Exception:  # noqa: BLE001 - unknown price: cost stays unknown
                cost = None
        else:
            cost = 0.0
        return Usage(model=model.id, prompt_tokens=prompt, completion_tokens=completion, cost_usd=cost)

    # ---- media and embeddings (same connection logic) -----------------------------------------
    async def call(self, method: str, model: Model, **kwargs: Any) -> Any:
        """Call a LiteLLM async API (``aimage_generation``, ``aspeech``, ``atranscription``, ``aembedding``)."""
        require_usable(model, self.settings)
        fn: Callable[..., Any] = getattr(litellm(), method)
        try:
            return await fn(**self.connection(model), timeout=self.settings.request_deadline, **kwargs)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - becomes a typed ProviderError
            log.warning("%s failed: %s", method, redact(repr(exc))[:500])
            raise to_provider_error(exc, model.id) from None

    def close(self) -> None:
        self.local.stop()


def _parse_args(raw: str) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"value": value}


def embed_texts(model_ref: str, texts: list[str], settings: Settings | None = None) -> list[list[float]]:
    """Blocking embeddings call (the router's remote encoder runs it off the event loop)."""
    from vtai.llm.catalogue import load_catalogue
    from vtai.settings import load_settings

    settings = settings or load_settings()
    model = load_catalogue(settings.home).find(model_ref)
    if model is None:
        args: dict[str, Any] = {"model": model_ref}
    else:
        args = LiteLLMClient(settings).connection(model)
    try:
        response = litellm().embedding(input=texts, timeout=settings.request_deadline, **args)
    except Exception as exc:  # noqa: BLE001 - becomes a typed ProviderError
        raise to_provider_error(exc, model_ref) from None
    return [item["embedding"] for item in response.data]
