"""`vtai api` (the HTTP API alone, headless) and `vtai api-keys` (bearer keys for it)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import click

from vtai.cli.common import CONTEXT, api_key_option, parse_api_keys, setup_logging
from vtai.cli.threads import run_with_store
from vtai.store import LOCAL_USER, ApiKey, Store, User

user_option = click.option("--user", "identifier", default=LOCAL_USER, show_default=True,
                           help="Whose keys (the local single user when auth is off).")


@click.command(context_settings=CONTEXT)
@click.option("--host", default=None, help="Interface to listen on [default: 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port to listen on [default: 8000].")
@click.option("--no-routing", is_flag=True, help="Don't load the router (vtai/auto uses the default model).")
@api_key_option
def api(host: str | None, port: int | None, no_routing: bool, api_keys: tuple[str, ...]) -> None:
    """Serve only the OpenAI-compatible API (no web UI): /v1/chat/completions, /v1/models, /v1/embeddings,
    /api/routes, /api/health, /openapi.json. Keys (`vtai api-keys create`) are required beyond loopback."""
    from vtai.settings import load_settings

    settings = load_settings(host=host, port=port, api_keys=parse_api_keys(api_keys))
    setup_logging(settings.home)
    run_api(settings, with_router=not no_routing)


def run_api(settings, *, with_router: bool = True) -> None:
    import uvicorn

    from vtai.api import ApiConfig, create_api_app
    from vtai.app import build_runtime
    from vtai.ui.server import check_port

    check_port(settings.host, settings.port)
    config = ApiConfig.from_settings(settings)
    runtime = build_runtime(settings, with_router=with_router)
    app = create_api_app(runtime, config)
    auth = "API keys required" if config.require_auth else "no key needed on loopback"
    click.echo(f"VT.ai API on http://{settings.host}:{settings.port}/v1 ({auth})", err=True)
    server = uvicorn.Server(uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning",
                                           timeout_graceful_shutdown=10, lifespan="on"))
    asyncio.run(server.serve())


@click.group("api-keys", context_settings=CONTEXT)
def api_keys() -> None:
    """Manage bearer keys for the HTTP API (stored hashed; the key is shown once)."""


@api_keys.command("create")
@click.argument("name")
@user_option
def create(name: str, identifier: str) -> None:
    """Create a key called NAME and print it (once: only its hash is stored)."""

    async def make(store: Store, user: User | None) -> tuple[ApiKey, str]:
        assert user is not None
        return await store.create_api_key(user.id, name)

    key, plaintext = run_with_store(identifier, make)
    click.echo(plaintext)
    click.echo(f"Created key {key.name!r} (id {key.id}) for {identifier}. Store it now: it is not shown again.",
               err=True)


@api_keys.command("list")
@user_option
def list_keys(identifier: str) -> None:
    """List keys (id, name, prefix, created, last used, revoked)."""

    async def fetch(store: Store, user: User | None) -> list[ApiKey]:
        assert user is not None
        return await store.list_api_keys(user.id)

    keys = run_with_store(identifier, fetch)
    for k in keys:
        state = f"revoked {_day(k.revoked_at)}" if k.revoked_at else "active"
        used = _day(k.last_used_at) if k.last_used_at else "never"
        click.echo(f"{k.id}  {k.name:<20} {k.prefix}…  created {_day(k.created_at)}  used {used}  {state}")
    if not keys:
        click.echo("No API keys. Create one with `vtai api-keys create NAME`.")


@api_keys.command("revoke")
@click.argument("key_id")
@user_option
def revoke(key_id: str, identifier: str) -> None:
    """Revoke the key with id KEY_ID (see `vtai api-keys list`)."""

    async def drop(store: Store, user: User | None) -> None:
        assert user is not None
        await store.revoke_api_key(user.id, key_id)

    run_with_store(identifier, drop)
    click.echo(f"Revoked key {key_id}")


def _day(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M") if ts else "-"
