"""The code-interpreter route: the tool loop with ``run_python`` over the conversation's sandbox session.

Uploaded files (CSV, XLSX, anything the user attached) are copied into the session's work folder first, so
"plot sales by month" on an uploaded ``sales.csv`` just works. Without a sandbox the handler says so plainly
and answers without running anything — code never runs unsandboxed silently.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from vtai.engine import Turn
from vtai.events import Event, TextDelta
from vtai.handlers import handler
from vtai.handlers.assistant import UNSAFE_WARNING, copy_uploads, plain_chat, tool_loop
from vtai.tools.registry import get_tools

CODE_NOTE = (
    "You can run Python with the run_python tool: a sandboxed, stateful interpreter (no network) with numpy, "
    "pandas and matplotlib. Use it for exact computation, data analysis and charts instead of guessing. "
    "For a chart, draw it with matplotlib and call plt.show(); it is shown to the user as an image. "
    "Files the user uploaded are in the current working directory (os.listdir() shows them). "
    "After running code, answer in words: what you did and what the result means."
)


@handler("code", needs="tools")
async def code(turn: Turn) -> AsyncIterator[Event]:
    services = turn.engine.services
    sandbox = services.get("sandbox")
    if sandbox is None:
        reason = services.get("sandbox_error") or "no code sandbox is configured (it needs bubblewrap)"
        async for event in plain_chat(turn, f"⚠️ Code execution is unavailable: {reason}. "
                                            "Answering without running any code."):
            yield event
        return
    if not turn.model.can("tools"):
        async for event in plain_chat(turn, f"{turn.model.id} cannot call tools, so no code will run; "
                                            "pick a tool-capable model (e.g. gpt-4o-mini) for the code "
                                            "interpreter."):
            yield event
        return
    if not getattr(sandbox, "isolated", True):
        yield TextDelta(UNSAFE_WARNING)
    copied: list[str] = []
    async for event in copy_uploads(turn, sandbox, copied):
        yield event
    note = CODE_NOTE
    if copied:
        note += "\n\nThe user just uploaded these files to the working directory: " + ", ".join(copied)
    async for event in tool_loop(turn, get_tools(["run_python"]), system_note=note):
        yield event
