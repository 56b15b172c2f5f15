"""The code-interpreter route: the tool loop with ``run_python`` over the conversation's sandbox session.

Uploaded files (CSV, XLSX, anything the user attached) are copied into the session's work folder first, so
"plot sales by month" on an uploaded ``sales.csv`` just works. Without a sandbox the handler says so plainly
and answers without running anything — code never runs unsandboxed silently.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from vtai.engine import Turn
from vtai.errors import VtaiError
from vtai.events import Event, Status, TextDelta
from vtai.handlers import handler
from vtai.handlers.assistant import plain_chat, session_id, tool_loop
from vtai.messages import FilePart
from vtai.tools.registry import get_tools

CODE_NOTE = (
    "You can run Python with the run_python tool: a sandboxed, stateful interpreter (no network) with numpy, "
    "pandas and matplotlib. Use it for exact computation, data analysis and charts instead of guessing. "
    "For a chart, draw it with matplotlib and call plt.show(); it is shown to the user as an image. "
    "Files the user uploaded are in the current working directory (os.listdir() shows them). "
    "After running code, answer in words: what you did and what the result means."
)


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
        yield TextDelta("_⚠️ The code interpreter runs in UNSAFE local mode: code is not isolated._\n\n")
    copied: list[str] = []
    async for event in copy_uploads(turn, sandbox, copied):
        yield event
    note = CODE_NOTE
    if copied:
        note += "\n\nThe user just uploaded these files to the working directory: " + ", ".join(copied)
    async for event in tool_loop(turn, get_tools(["run_python"]), system_note=note):
        yield event
