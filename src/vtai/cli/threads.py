"""`vtai threads`: list, search, show, export, import and delete stored conversations."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import click

from vtai.cli.common import CONTEXT, handle_errors
from vtai.errors import UserError
from vtai.settings import load_settings
from vtai.store import LOCAL_USER, Store, User
from vtai.store.porting import MAX_IMPORT_BYTES

T = TypeVar("T")
user_option = click.option("--user", "identifier", default=LOCAL_USER, show_default=True,
                           help="Whose threads (the local single user when auth is off).")


def run_with_store(identifier: str | None, fn: Callable[[Store, User | None], Awaitable[T]]) -> T:
    """Open the configured store, resolve the user, run ``fn``, close. Errors print via handle_errors."""

    async def main() -> T:
        store = await Store.from_settings(load_settings())
        try:
            user = None
            if identifier is not None:
                user = await (store.ensure_user(identifier) if identifier == LOCAL_USER
                              else store.get_user(identifier))
                if user is None:
                    raise UserError(f"No user {identifier!r}. Add one with `vtai users add {identifier}`.")
            return await fn(store, user)
        finally:
            await store.close()

    with handle_errors():
        return asyncio.run(main())


def when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")


@click.group(context_settings=CONTEXT)
def threads() -> None:
    """Stored conversations: list, search, show, export, import, delete."""


@threads.command("list")
@click.option("--search", "-s", "query", help="Full-text search in names and messages.")
@click.option("--page", default=1, show_default=True, type=click.IntRange(1))
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 200))
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@user_option
def list_threads(query: str | None, page: int, limit: int, as_json: bool, identifier: str) -> None:
    """List threads, most recent first."""
    result = run_with_store(identifier, lambda s, u: s.list_threads(u.id, page, limit, search=query))
    for t in result.items:
        if as_json:
            click.echo(json.dumps({"id": t.id, "name": t.name, "created_at": t.created_at,
                                   "updated_at": t.updated_at, "tags": t.tags}))
        else:
            click.echo(f"{t.id}  {when(t.updated_at)}  {t.name or '(untitled)'}")
    if not result.items and not as_json:
        click.echo("No matching threads." if query else "No threads yet.")
    elif result.has_next and not as_json:
        click.echo(f"… more: --page {page + 1}")


@threads.command("show")
@click.argument("thread_id")
@user_option
def show(thread_id: str, identifier: str) -> None:
    """Print a thread's messages."""

    async def load(store: Store, user: User):
        return await store.get_thread(user.id, thread_id), await store.list_messages(user.id, thread_id)

    thread, rows = run_with_store(identifier, load)
    click.secho(thread.name or "(untitled)", bold=True)
    click.echo(f"{thread.id} · created {when(thread.created_at)} · {len(rows)} messages")
    for m in rows:
        extra = " · ".join(x for x in (m.model, m.route and f"route {m.route}",
                                       m.status != "complete" and m.status) if x)
        click.echo("")
        click.secho(f"[{m.role}{' · ' + extra if extra else ''}]", fg="cyan")
        if m.role == "step":
            click.echo(f"{m.meta.get('step_name') or 'step'}: {m.content}")
            continue
        click.echo(m.content)
        for p in m.parts:
            if p.get("kind") in ("image", "audio", "file"):
                click.echo(f"  ({p['kind']}: {p.get('name') or p.get('path') or p.get('url')})")
            elif p.get("kind") == "tool_call":
                click.echo(f"  (tool call {p.get('name')}: {json.dumps(p.get('arguments'))})")


@threads.command("export")
@click.argument("thread_id")
@click.option("--format", "fmt", type=click.Choice(["json", "md"]), default="json", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to a file.")
@user_option
def export(thread_id: str, fmt: str, output: Path | None, identifier: str) -> None:
    """Export a thread as JSON (re-importable) or Markdown."""
    text = run_with_store(identifier, lambda s, u: s.export_thread(u.id, thread_id, fmt))
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Wrote {output}", err=True)
    else:
        click.echo(text, nl=not text.endswith("\n"))


@threads.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@user_option
def import_(file: Path, identifier: str) -> None:
    """Import threads from a VT.ai JSON export or ChatGPT's conversations.json (all or nothing)."""

    async def do(store: Store, user: User) -> list[str]:
        size = file.stat().st_size
        if size > MAX_IMPORT_BYTES:
            raise UserError(f"{file} is too large ({size / 1e6:.1f} MB; limit {MAX_IMPORT_BYTES / 1e6:.0f} MB)")
        return await store.import_threads(user.id, file.read_bytes())

    new_ids = run_with_store(identifier, do)
    click.echo(f"Imported {len(new_ids)} thread{'s' if len(new_ids) != 1 else ''} from {file.name}")
    for tid in new_ids:
        click.echo(tid)


@threads.command("delete")
@click.argument("thread_id")
@click.option("--yes", "-y", is_flag=True, help="Don't ask for confirmation.")
@user_option
def delete(thread_id: str, yes: bool, identifier: str) -> None:
    """Delete a thread with its messages and files."""
    thread = run_with_store(identifier, lambda s, u: s.get_thread(u.id, thread_id))
    if not yes:
        click.confirm(f"Delete {thread.name or thread_id!r}?", abort=True)
    run_with_store(identifier, lambda s, u: s.delete_thread(u.id, thread_id))
    click.echo(f"Deleted {thread_id}")
