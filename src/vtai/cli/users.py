"""`vtai users`: accounts for password auth (add, list, remove, passwd)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from vtai.cli.common import CONTEXT
from vtai.cli.threads import run_with_store
from vtai.store import Store, User


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.group(context_settings=CONTEXT)
def users() -> None:
    """Manage users for password auth (VTAI_AUTH=password)."""


@users.command("add")
@click.argument("identifier")
@click.option("--display-name", help="Name shown in the UI.")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the password from standard input.")
def add(identifier: str, display_name: str | None, from_stdin: bool) -> None:
    """Add a user; the password comes from a hidden prompt (or --stdin), never the command line."""
    password = _password(from_stdin)
    user = run_with_store(None, lambda s, _: s.create_user(identifier, password, display_name=display_name))
    click.echo(f"Added user {user.identifier}")


@users.command("list")
def list_users() -> None:
    """List users."""
    rows: list[User] = run_with_store(None, lambda s, _: s.list_users())
    for u in rows:
        created = datetime.fromtimestamp(u.created_at, UTC).strftime("%Y-%m-%d")
        kind = "password" if u.has_password else "no password"
        click.echo(f"{u.identifier:<24} {created}  {kind}{'  ' + u.display_name if u.display_name else ''}")
    if not rows:
        click.echo("No users yet. Add one with `vtai users add NAME`.")


@users.command("remove")
@click.argument("identifier")
@click.option("--yes", "-y", is_flag=True, help="Don't ask for confirmation.")
def remove(identifier: str, yes: bool) -> None:
    """Remove a user with all their threads, files and API keys."""
    if not yes:
        click.confirm(f"Remove {identifier!r} and all their threads and files?", abort=True)
    run_with_store(None, lambda s, _: s.delete_user(identifier))
    click.echo(f"Removed user {identifier}")


@users.command("passwd")
@click.argument("identifier")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the new password from standard input.")
def passwd(identifier: str, from_stdin: bool) -> None:
    """Set a user's password."""
    password = _password(from_stdin)

    async def change(store: Store, _: object) -> None:
        await store.set_password(identifier, password)

    run_with_store(None, change)
    click.echo(f"Password changed for {identifier}")
