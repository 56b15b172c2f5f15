"""The web-search route: search, then the chat model answers from the results with numbered citations [n],
followed by a "Sources" list (added by this handler, so it is always there and always matches the numbers).

When search fails (no network, provider down, no key) the user is told so plainly and the model answers from
its own knowledge with that caveat — never a silent switch.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from vtai.engine import Turn
from vtai.errors import UserError
from vtai.events import Done, Event, TextDelta, ToolCall, ToolResult
from vtai.handlers import handler
from vtai.handlers.assistant import add_system_note
from vtai.handlers.chat import chat_request, stream_answer
from vtai.messages import TextPart
from vtai.tools.registry import call_id, tool_config
from vtai.tools.search import SearchResult, SearchUnavailableError, format_results, get_provider

SEARCH_NOTE = (
    "Answer the user's question using these web search results. Cite the results you use with their numbers "
    "in square brackets, like [1] or [2][3], right after the claim they support. If the results do not answer "
    "the question, say so. Do not write a list of sources at the end; it is added for you.\n\nSearch results:\n"
)
NO_SEARCH_NOTE = (
    "Web search is unavailable right now. Answer from your own knowledge, say that it may be out of date, "
    "and do not invent sources or links."
)


def sources_block(results: list[SearchResult]) -> str:
    lines = [f"{i}. [{r.title or r.url}]({r.url})" for i, r in enumerate(results, 1)]
    return "\n\n**Sources**\n" + "\n".join(lines)


async def _answer(turn: Turn, note: str, tail: str = "") -> AsyncIterator[Event]:
    request = chat_request(turn)
    add_system_note(request.messages, note)
    done: Done | None = None
    async for event in stream_answer(turn, request):
        if isinstance(event, Done):
            done = event
        else:
            yield event
    if tail:
        yield TextDelta(tail)
        turn.conversation.messages[-1].parts.append(TextPart(tail))
    yield done or Done(model=turn.model.id)


@handler("search", needs="chat")
async def search(turn: Turn) -> AsyncIterator[Event]:
    config = tool_config(turn.settings, turn.engine.services)
    query = " ".join(turn.message.content.split())[:400]
    call = ToolCall(call_id(), "web_search", {"query": query})
    yield call
    try:
        provider = get_provider(config, turn.settings, turn.engine.services)
        results = await provider.search(query, config.search_results)
    except (SearchUnavailableError, UserError) as exc:
        yield ToolResult(call.id, call.name, str(exc), is_error=True)
        yield TextDelta(f"_⚠️ Web search is unavailable: {exc} Answering from the model's own knowledge, "
                        "which may be out of date._\n\n")
        async for event in _answer(turn, NO_SEARCH_NOTE):
            yield event
        return
    yield ToolResult(call.id, call.name, format_results(results))
    if not results:
        yield TextDelta("_The web search found nothing for this; answering from the model's own knowledge._\n\n")
        async for event in _answer(turn, NO_SEARCH_NOTE.replace("unavailable right now", "found nothing")):
            yield event
        return
    async for event in _answer(turn, SEARCH_NOTE + format_results(results), sources_block(results)):
        yield event
