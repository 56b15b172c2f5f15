"""The function-calling loop over the wire: LiteLLM → fake OpenAI server scripting tool calls."""

from __future__ import annotations

import asyncio
import json

from vtai.errors import ToolError
from vtai.events import Done, Status, TextDelta, ToolCall, ToolResult
from vtai.messages import Conversation, Message
from vtai.settings import load_settings
from vtai.testing import Text, ToolCalls, ToolCallSpec
from vtai.tools import ToolConfig, ToolContext, make_tool

from .conftest import run, tool_options, wire_engine


def text_of(events):
    return "".join(e.text for e in events if isinstance(e, TextDelta))


async def add(ctx: ToolContext, a: int, b: int) -> str:
    """Add two integers.

    Args:
        a: first number.
        b: second number.
    """
    return str(a + b)


async def broken(ctx: ToolContext, what: str) -> str:
    """A tool that always fails."""
    raise ToolError(f"the {what} is broken")


def pair_of_waiting_tools():
    """Two tools that each wait for the other to start: they finish only if run concurrently."""
    started = {"ping": asyncio.Event(), "pong": asyncio.Event()}

    def make(me, other):
        async def fn(ctx: ToolContext) -> str:
            started[me].set()
            await asyncio.wait_for(started[other].wait(), 5)
            return f"{me} saw {other}"

        fn.__name__ = me
        fn.__doc__ = f"The {me} tool."
        return make_tool(fn)

    return [make("ping", "pong"), make("pong", "ping")]


async def test_parallel_calls_run_concurrently_and_results_go_back(provider_env):
    provider_env.enqueue(ToolCalls([ToolCallSpec("ping", {}, id="call_a"), ToolCallSpec("pong", {}, id="call_b")]))
    provider_env.enqueue(Text("Both answered."))
    engine = wire_engine({"tools": pair_of_waiting_tools()})
    events, conv = await run(engine, "ping and pong please")
    calls = [e for e in events if isinstance(e, ToolCall)]
    results = [e for e in events if isinstance(e, ToolResult)]
    assert [(c.id, c.name) for c in calls] == [("call_a", "ping"), ("call_b", "pong")]
    assert sorted((r.id, r.output, r.is_error) for r in results) == [
        ("call_a", "ping saw pong", False), ("call_b", "pong saw ping", False)]
    assert text_of(events) == "Both answered."
    assert isinstance(events[-1], Done) and events[-1].model == "gpt-4o-mini"

    chats = provider_env.requests_to("chat")
    assert len(chats) == 2
    first = chats[0].json
    assert sorted(t["function"]["name"] for t in first["tools"]) == ["ping", "pong"]
    second = chats[1].json["messages"]
    assistant = next(m for m in second if m["role"] == "assistant")
    assert [c["id"] for c in assistant["tool_calls"]] == ["call_a", "call_b"]
    tool_msgs = [m for m in second if m["role"] == "tool"]
    assert [(m["tool_call_id"], m["content"]) for m in tool_msgs] == [
        ("call_a", "ping saw pong"), ("call_b", "pong saw ping")]
    # The conversation keeps the whole exchange for the next turn.
    assert [m.role for m in conv.messages] == ["user", "assistant", "tool", "tool", "assistant"]
    assert conv.messages[-1].content == "Both answered."


async def test_results_stream_as_each_call_finishes(provider_env):
    """The slow call waits until the consumer has *seen* the fast call's result: it finishes only if results
    are yielded as they come, not after the whole batch."""
    seen_fast = asyncio.Event()

    async def fast(ctx: ToolContext) -> str:
        """Fast."""
        return "fast done"

    async def slow(ctx: ToolContext) -> str:
        """Slow."""
        await asyncio.wait_for(seen_fast.wait(), 5)
        return "slow done"

    provider_env.enqueue(ToolCalls([ToolCallSpec("slow", {}, id="s"), ToolCallSpec("fast", {}, id="f")]))
    provider_env.enqueue(Text("done"))
    engine = wire_engine({"tools": [make_tool(slow), make_tool(fast)]})
    conv = Conversation(id="c")
    order = []
    async for event in engine.respond(conv, Message.text("user", "go"), tool_options()):
        if isinstance(event, ToolResult):
            order.append((event.id, event.output))
            if event.id == "f":
                seen_fast.set()
    assert order == [("f", "fast done"), ("s", "slow done")]
    # Recorded in call order, as the API expects.
    assert [(m.role, m.tool_call_id) for m in conv.messages[1:4]] == [("assistant", None), ("tool", "s"),
                                                                     ("tool", "f")]


async def test_tool_errors_and_bad_arguments_become_error_results(provider_env):
    provider_env.enqueue(ToolCalls([
        ToolCallSpec("broken", {"what": "flux capacitor"}, id="c1"),
        ToolCallSpec("add", {"a": "two", "b": 2}, id="c2"),
        ToolCallSpec("add", '{"a": 1, "b": ', id="c3"),
        ToolCallSpec("no_such_tool", {}, id="c4"),
        ToolCallSpec("add", {"a": 40, "b": 2}, id="c5"),
    ]))
    provider_env.enqueue(Text("Sorry, some tools failed; 40 + 2 = 42."))
    engine = wire_engine({"tools": [make_tool(add), make_tool(broken)]})
    events, _ = await run(engine, "try things")
    results = {r.id: r for r in events if isinstance(r, ToolResult)}
    assert results["c1"].is_error and "the flux capacitor is broken" in results["c1"].output
    assert results["c2"].is_error and "a:" in results["c2"].output and "integer" in results["c2"].output
    assert results["c3"].is_error and "not valid JSON" in results["c3"].output
    assert results["c4"].is_error and "Unknown tool 'no_such_tool'" in results["c4"].output
    assert not results["c5"].is_error and results["c5"].output == "42"
    assert text_of(events).endswith("= 42.")
    sent = {m["tool_call_id"]: m["content"] for m in provider_env.requests_to("chat")[1].json["messages"]
            if m["role"] == "tool"}
    assert "flux capacitor is broken" in sent["c1"] and sent["c5"] == "42"


async def test_iterations_are_bounded(provider_env):
    for i in range(5):
        provider_env.enqueue(ToolCalls([ToolCallSpec("add", {"a": i, "b": 1})]))
    config = ToolConfig.from_settings(load_settings(tool_max_iterations=2))
    engine = wire_engine({"tools": [make_tool(add)], "tool_config": config})
    events, conv = await run(engine, "loop forever")
    chats = provider_env.requests_to("chat")
    assert len(chats) == 3  # two rounds with tools, then one that must answer
    assert chats[-1].json.get("tool_choice") == "none"
    assert "tool_choice" not in chats[0].json
    assert len([e for e in events if isinstance(e, ToolResult)]) == 2
    assert any(isinstance(e, Status) and "limit of 2 tool rounds" in e.text for e in events)
    assert "Stopped after 2 rounds" in text_of(events)
    assert isinstance(events[-1], Done)
    assert conv.messages[-1].role == "assistant" and not conv.messages[-1].tool_calls


async def test_history_with_tool_calls_is_sent_on_the_next_turn(provider_env):
    provider_env.enqueue(ToolCalls([ToolCallSpec("add", {"a": 2, "b": 3}, id="call_x")]))
    provider_env.enqueue(Text("5"))
    provider_env.enqueue(Text("Yes, five."))
    engine = wire_engine({"tools": [make_tool(add)]})
    _, conv = await run(engine, "2+3?")
    await run(engine, "sure?", conversation=conv)
    msgs = provider_env.requests_to("chat")[-1].json["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "tool", "assistant", "user"]
    assert msgs[1]["tool_calls"][0]["function"] == {"name": "add", "arguments": json.dumps({"a": 2, "b": 3})}
    assert msgs[2] == {"role": "tool", "content": "5", "tool_call_id": "call_x", "name": "add"}


async def test_model_without_tools_says_so_and_answers_as_chat(provider_env, vtai_home):
    vtai_home.mkdir(parents=True, exist_ok=True)
    (vtai_home / "models.yaml").write_text("models:\n  - {id: gpt-4o-mini, capabilities: [chat]}\n")
    engine = wire_engine({"tools": [make_tool(add)]})
    provider_env.enqueue(Text("Just chatting."))
    events, _ = await run(engine, "add 1 and 2")
    text = text_of(events)
    assert "cannot call tools" in text and text.endswith("Just chatting.")
    assert "tools" not in provider_env.requests_to("chat")[-1].json
