"""The function-calling loop: model → tool calls (run concurrently) → results → model, until it answers.

Works with any tool-capable model through the LLM seam. Every call and result is yielded (``ToolCall`` /
``ToolResult``; the UI shows them as steps), images and files tools produce are yielded as ``Image`` / ``File``,
and the conversation records the assistant's ``tool_calls`` and each ``tool`` message, so the next turn (and
the next round) sends the whole exchange back to the model. At most ``ToolConfig.max_iterations`` rounds; then
the model must answer without tools.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from vtai.engine import Turn
from vtai.errors import VtaiError
from vtai.events import Done, Event, File, Image, ReasoningDelta, Status, TextDelta, ToolCall, ToolResult
from vtai.handlers import handler
from vtai.handlers.chat import chat_request, stream_answer
from vtai.messages import FilePart, Message, TextPart
from vtai.thinking import ThinkSplitter
from vtai.tools.python_tool import mime_of
from vtai.tools.registry import Tool, ToolContext, ToolOutput, execute, get_tools, tool_config

ASSISTANT_TOOLS = ["web_search", "fetch_url", "run_python"]
UNSAFE_WARNING = "_⚠️ The code interpreter runs in UNSAFE local mode: code is not isolated._\n\n"


def session_id(turn: Turn) -> str:
    """The sandbox session: the conversation id (one is given to a conversation that has none)."""
    if not turn.conversation.id:
        turn.conversation.id = uuid.uuid4().hex
    return turn.conversation.id


def tool_context(turn: Turn) -> ToolContext:
    return ToolContext(turn.settings, session_id(turn), turn.engine.services)


def assistant_tools(turn: Turn) -> list[Tool]:
    """``services["tools"]`` (a list of Tool) when given; else the built-ins, ``run_python`` only with a
    sandbox."""
    given = turn.engine.services.get("tools")
    if given is not None:
        return list(given)
    names = [n for n in ASSISTANT_TOOLS if n != "run_python" or turn.engine.services.get("sandbox") is not None]
    return get_tools(names)


@dataclass
class _Round:
    text: list[str] = field(default_factory=list)
    calls: list[ToolCall] = field(default_factory=list)
    done: Done | None = None


async def _stream_round(turn: Turn, request, state: _Round) -> AsyncIterator[Event]:
    """One model call: text and reasoning stream out; tool calls are collected; Done is held back."""
    splitter = ThinkSplitter() if turn.model.think_tags or turn.options.thinking else None
    async for event in turn.llm.stream(request):
        if isinstance(event, ToolCall):
            state.calls.append(event)
        elif isinstance(event, Done):
            state.done = event
            for kind, text in splitter.flush() if splitter else []:
                if kind == "reasoning":
                    yield ReasoningDelta(text)
                else:
                    state.text.append(text)
                    yield TextDelta(text)
        elif isinstance(event, TextDelta) and splitter is not None:
            for kind, text in splitter.feed(event.text):
                if kind == "reasoning":
                    yield ReasoningDelta(text)
                else:
                    state.text.append(text)
                    yield TextDelta(text)
        else:
            if isinstance(event, TextDelta):
                state.text.append(event.text)
            yield event


def _tool_events(call: ToolCall, out: ToolOutput) -> list[Event]:
    events: list[Event] = [ToolResult(call.id, call.name, out.text, is_error=out.is_error)]
    events += [Image(path, mime=mime_of(path)) for path in out.images]
    events += [File(path, name, mime=mime_of(name)) for path, name in out.files]
    return events


async def tool_loop(turn: Turn, tools: list[Tool], system_note: str | None = None) -> AsyncIterator[Event]:
    """Run the function-calling loop for ``turn`` with ``tools``; yields events and ends with one Done."""
    config = tool_config(turn.settings, turn.engine.services)
    by_name = {t.name: t for t in tools}
    specs = [t.schema() for t in tools]
    ctx = tool_context(turn)
    last: Done | None = None
    for round_no in range(config.max_iterations + 1):
        final = round_no == config.max_iterations
        request = chat_request(turn, tools=specs, tool_choice="none" if final else None)
        if system_note:
            add_system_note(request.messages, system_note)
        state = _Round()
        async for event in _stream_round(turn, request, state):
            yield event
        last = state.done or last
        text = "".join(state.text)
        if final and state.calls:
            note = f"\n\n(Stopped after {config.max_iterations} rounds of tool calls without a final answer.)"
            text += note
            yield TextDelta(note)
            state.calls = []
        if not state.calls:
            turn.conversation.add(Message.text("assistant", text))
            break
        for call in state.calls:
            yield call
        outputs: list[ToolOutput | None] = [None] * len(state.calls)
        async for i, out in _run_calls(by_name, state.calls, ctx):
            outputs[i] = out
            for event in _tool_events(state.calls[i], out):
                yield event
        # Recorded only once every result is in: a call without its result would make the next request invalid.
        turn.conversation.add(Message("assistant", [TextPart(text)] if text else [],
                                      tool_calls=[_openai_call(c) for c in state.calls]))
        for call, out in zip(state.calls, outputs, strict=True):
            turn.conversation.add(Message("tool", [TextPart(out.text if out else "")], tool_call_id=call.id,
                                          name=call.name))
        if round_no + 1 == config.max_iterations:
            yield Status(f"Reached the limit of {config.max_iterations} tool rounds; asking for a final answer.")
    yield Done(model=turn.model.id, finish_reason=last.finish_reason if last else "stop",
               extra={"tool_rounds": round_no})


async def _run_calls(tools: dict[str, Tool], calls: list[ToolCall],
                     ctx: ToolContext) -> AsyncIterator[tuple[int, ToolOutput]]:
    """Run all calls concurrently; yield (index, output) as each finishes. Leaving early cancels the rest."""

    async def one(i: int, call: ToolCall) -> tuple[int, ToolOutput]:
        return i, await execute(tools, call.name, call.arguments, ctx)

    tasks = [asyncio.ensure_future(one(i, c)) for i, c in enumerate(calls)]
    try:
        for next_done in asyncio.as_completed(tasks):
            yield await next_done
    finally:
        for task in tasks:
            task.cancel()


def _openai_call(call: ToolCall) -> dict:
    return {"id": call.id, "type": "function",
            "function": {"name": call.name, "arguments": json.dumps(call.arguments)}}


def add_system_note(messages: list[dict], note: str) -> None:
    if messages and messages[0]["role"] == "system" and isinstance(messages[0]["content"], str):
        messages[0] = {**messages[0], "content": f"{messages[0]['content']}\n\n{note}"}
    else:
        messages.insert(0, {"role": "system", "content": note})


async def plain_chat(turn: Turn, why: str) -> AsyncIterator[Event]:
    """Say why tools are not used, then answer as ordinary chat."""
    yield TextDelta(f"_{why}_\n\n")
    async for event in stream_answer(turn, chat_request(turn)):
        yield event


async def copy_uploads(turn: Turn, sandbox, copied: list[str]) -> AsyncIterator[Event]:
    """Put the message's uploaded files into the work folder (their names there go to ``copied``)."""
    for part in turn.message.parts:
        if not isinstance(part, FilePart):
            continue
        try:
            data = await asyncio.to_thread(Path(part.path).read_bytes)
            copied.append(await sandbox.add_file(session_id(turn), part.name, data))
        except (OSError, VtaiError) as exc:
            yield TextDelta(f"_Could not copy {part.name} into the code interpreter: {exc}_\n\n")
    if copied:
        yield Status(f"Copied {', '.join(copied)} into the code interpreter's work folder.")


@handler("assistant", needs="tools")
async def assistant(turn: Turn) -> AsyncIterator[Event]:
    if not turn.model.can("tools"):
        async for event in plain_chat(turn, f"{turn.model.id} cannot call tools; answering without them. "
                                            "Pick a tool-capable model (e.g. gpt-4o-mini) to use tools."):
            yield event
        return
    note = None
    sandbox = turn.engine.services.get("sandbox")
    if sandbox is not None:
        if not getattr(sandbox, "isolated", True):
            yield TextDelta(UNSAFE_WARNING)
        copied: list[str] = []
        async for event in copy_uploads(turn, sandbox, copied):
            yield event
        if copied:
            note = "The user uploaded these files to run_python's working directory: " + ", ".join(copied)
    async for event in tool_loop(turn, assistant_tools(turn), system_note=note):
        yield event

