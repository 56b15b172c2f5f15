"""The ``run_python`` tool: run code in the conversation's sandbox session (see :mod:`vtai.tools.sandbox`).

The sandbox comes from ``services["sandbox"]``; without one the tool refuses (``services["sandbox_error"]``
says why) — code never runs unsandboxed by accident. Images and files the code writes are copied out of the
work folder (without following symlinks) into the conversation's output folder and returned as host paths.
"""

from __future__ import annotations

import asyncio
import mimetypes
from pathlib import Path
from typing import Any

from vtai.errors import ToolError, VtaiError
from vtai.tools.registry import ToolContext, ToolOutput, tool

MAX_STREAM_CHARS = 8_000  # stdout / stderr each, as the model sees them
MAX_RETURNED_FILES = 10
MAX_FILE_BYTES = 20 << 20


def sandbox_or_error(services: dict[str, Any]) -> Any:
    """The sandbox, or a ToolError saying clearly why code cannot run."""
    sandbox = services.get("sandbox")
    if sandbox is None:
        reason = services.get("sandbox_error") or "no code sandbox is configured"
        raise ToolError(f"Code execution is unavailable: {reason}")
    return sandbox


def _clip(text: str, limit: int = MAX_STREAM_CHARS) -> str:
    if len(text) <= limit:
        return text
    half = limit // 2
    return f"{text[:half]}\n[… {len(text) - limit} characters cut …]\n{text[-half:]}"


def _copy_out(ctx: ToolContext, sandbox: Any, relative: str) -> str | None:
    try:
        data = sandbox.read_file(ctx.session, relative)
    except VtaiError:
        return None
    if len(data) > MAX_FILE_BYTES:
        return None
    target = ctx.output_dir() / relative.replace("/", "__")
    target.write_bytes(data)
    return str(target)


def _collect(ctx: ToolContext, sandbox: Any, result: Any) -> tuple[list[str], list[tuple[str, str]]]:
    """Copy the run's images and other new files out of the work folder (blocking file I/O)."""
    images = [p for p in (_copy_out(ctx, sandbox, rel) for rel in result.images[:MAX_RETURNED_FILES]) if p]
    files = []
    for rel in [f for f in result.files if f not in result.images][:MAX_RETURNED_FILES]:
        path = _copy_out(ctx, sandbox, rel)
        if path:
            files.append((path, Path(rel).name))
    return images, files


def describe(result: Any) -> str:
    lines = []
    if result.timed_out:
        lines.append(f"TIMED OUT after {result.duration_s:.1f} s: the run was killed (variables were reset; "
                     "files in the work folder are kept).")
    elif result.exit_code != 0:
        lines.append(f"exit code {result.exit_code} (the code raised an error)")
    if result.stdout:
        lines.append("stdout:\n" + _clip(result.stdout) + ("\n[output truncated]" if result.stdout_truncated else ""))
    if result.stderr:
        lines.append("stderr:\n" + _clip(result.stderr) + ("\n[output truncated]" if result.stderr_truncated else ""))
    if result.files:
        lines.append("files written: " + ", ".join(result.files[:50]))
    if result.images:
        lines.append("images shown to the user: " + ", ".join(result.images[:MAX_RETURNED_FILES]))
    return "\n".join(lines) or "(no output)"


@tool
async def run_python(ctx: ToolContext, code: str) -> ToolOutput:
    """Run Python code in a sandboxed, stateful interpreter (like a notebook: variables and files persist
    between calls in this conversation). No network. numpy, pandas and matplotlib are available; uploaded
    files are in the current working directory. Print results you want to see; figures (plt.show() or open
    figures) are shown to the user as images.

    Args:
        code: the Python source to run.
    """
    sandbox = sandbox_or_error(ctx.services)
    result = await sandbox.run(code, ctx.session)
    images, files = await asyncio.to_thread(_collect, ctx, sandbox, result)
    return ToolOutput(describe(result), images=images, files=files,
                      is_error=bool(result.timed_out or result.exit_code != 0))


def mime_of(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def sandbox_services(settings: Any) -> dict[str, Any]:
    """Engine services for code execution: ``{"sandbox": Sandbox}``, or ``{"sandbox_error": why}`` when the
    isolating backend cannot run here (handlers then say so; nothing runs unsandboxed). Reads the optional
    settings ``sandbox_backend`` (default "bwrap") and ``sandbox_allow_unsafe`` (default False). Close the
    sandbox (``await services["sandbox"].close()``) at shutdown."""
    from vtai.tools.sandbox import SandboxUnavailableError, create_sandbox

    try:
        box = create_sandbox(settings.home / "sandbox", backend=getattr(settings, "sandbox_backend", None) or "bwrap",
                             allow_unsafe=bool(getattr(settings, "sandbox_allow_unsafe", False)))
    except SandboxUnavailableError as exc:
        return {"sandbox_error": str(exc)}
    return {"sandbox": box}
