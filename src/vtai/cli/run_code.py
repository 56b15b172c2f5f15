"""``vtai run-code [--session NAME] FILE|-``: run Python in the code-interpreter sandbox, print one JSON object.

Files in a session's work folder persist across invocations; variables do not (each invocation starts a
fresh worker and stops it on exit — a worker outliving the CLI call would be a daemon).
"""

from __future__ import annotations

import asyncio
import json

import click

from vtai.cli.common import CONTEXT, handle_errors


async def _run(code: str, session: str, wall_s: float | None, allow_unsafe: bool) -> dict:
    from vtai.settings import load_settings
    from vtai.tools.sandbox import SandboxLimits, create_sandbox, sanitize_session

    limits = SandboxLimits(wall_s=wall_s) if wall_s else SandboxLimits()
    base = load_settings().home / "sandbox"
    sandbox = create_sandbox(base, limits=limits, allow_unsafe=allow_unsafe)
    try:
        result = (await sandbox.run(code, session)).to_dict()
        return {**result, "work_folder": str(base / sanitize_session(session))}
    finally:
        await sandbox.close()


@click.command("run-code", context_settings=CONTEXT)
@click.argument("source", type=click.File("r", encoding="utf-8"))
@click.option("--session", default="default", show_default=True,
              help="Sandbox session: its work folder (and files) persist across runs.")
@click.option("--timeout", "wall_s", type=float, default=None, help="Wall-time limit in seconds (default 30).")
@click.option("--allow-unsafe", is_flag=True,
              help="If bubblewrap is unavailable, run WITHOUT isolation instead of refusing (dangerous).")
def run_code(source, session: str, wall_s: float | None, allow_unsafe: bool) -> None:
    """Run the Python code in SOURCE (a file, or - for stdin) in the sandbox and print the result as JSON:
    stdout, stderr, exit_code, timed_out, files, images, duration_s."""
    code = source.read()
    with handle_errors():
        result = asyncio.run(_run(code, session, wall_s, allow_unsafe))
    click.echo(json.dumps(result, ensure_ascii=False))
