"""The reasoning handler: a reasoning model with the chat's "Reasoning depth", streamed as ReasoningDelta.

Depth maps to LiteLLM's ``reasoning_effort`` (OpenAI, Gemini, DeepSeek, Groq, ... — LiteLLM translates it), and
for Anthropic to an explicit extended-thinking budget. With no usable reasoning model, the chat model is asked to
think step by step inside ``<think>`` tags, which the chat handler's splitter turns into reasoning events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

from vtai.engine import Turn
from vtai.events import Event, Status
from vtai.handlers import handler
from vtai.handlers.chat import chat_request, stream_answer

DEPTHS = ("low", "medium", "high")
ANTHROPIC_BUDGETS = {"low": 1024, "medium": 4096, "high": 16000}  # Anthropic's minimum budget is 1024
ANSWER_TOKENS = 4096
STEP_BY_STEP = ("Think the problem through step by step before answering. Write your reasoning inside "
                "<think>…</think>, then give the final answer after the closing tag.")


def depth(turn: Turn) -> str:
    value = (turn.options.reasoning_effort or "medium").lower()
    return value if value in DEPTHS else "medium"


def reasoning_params(turn: Turn) -> dict:
    """Provider arguments for the chosen depth (``extra`` for the LiteLLM call)."""
    level = depth(turn)
    if turn.model.provider == "anthropic":
        budget = ANTHROPIC_BUDGETS[level]
        # max_tokens must exceed the thinking budget; temperature must be 1 with thinking on.
        max_tokens = max(turn.options.max_tokens or 0, budget + ANSWER_TOKENS)
        thinking = {"type": "enabled", "budget_tokens": budget}
        if "anthropic" in turn.settings.openai_compatible:
            # Anthropic's OpenAI-compatible endpoint takes it in the body; LiteLLM's openai route would drop it.
            return {"extra_body": {"thinking": thinking}, "max_tokens": max_tokens, "temperature": 1}
        return {"thinking": thinking, "max_tokens": max_tokens, "temperature": 1}
    return {}


@handler("reasoning", needs="reasoning")
async def reasoning(turn: Turn) -> AsyncIterator[Event]:
    if turn.model.can("reasoning"):
        turn.options = replace(turn.options, reasoning_effort=depth(turn))
        request = chat_request(turn)
        params = reasoning_params(turn)
        if params:
            request.reasoning_effort = None
            request.max_tokens = params.pop("max_tokens")
            request.temperature = params.pop("temperature")
            request.extra.update(params)
        async for event in stream_answer(turn, request):
            yield event
        return
    yield Status(f"No reasoning model is usable; {turn.model.id} will think step by step instead.")
    system = f"{turn.options.system_prompt}\n\n{STEP_BY_STEP}" if turn.options.system_prompt else STEP_BY_STEP
    turn.options = replace(turn.options, system_prompt=system, thinking=True)
    async for event in stream_answer(turn, chat_request(turn)):
        yield event
