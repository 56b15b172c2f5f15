"""`vtai serve`, `vtai chat` and `vtai models`."""

from __future__ import annotations

import asyncio
import json
import sys

import click

from vtai.cli.common import CONTEXT, api_key_option, parse_api_keys, setup_logging
from vtai.cli.render import TerminalRenderer
from vtai.errors import UserError, VtaiError
from vtai.settings import load_settings


@click.command(context_settings=CONTEXT)
@click.option("--host", default=None, help="Interface to listen on [default: 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port to listen on [default: 8000].")
@click.option("--model", default=None, help="Default model for new chats (id or alias; see `vtai models`).")
@api_key_option
def serve(host: str | None, port: int | None, model: str | None, api_keys: tuple[str, ...]) -> None:
    """Run the web app (chat UI, OpenAI-compatible API under /v1, health at /api/health)."""
    from vtai.ui.server import run_server

    settings = load_settings(host=host, port=port, model=model, api_keys=parse_api_keys(api_keys))
    setup_logging(settings.home)
    run_server(settings)


@click.command(context_settings=CONTEXT)
@click.argument("message", required=False)
@click.option("-m", "--model", default=None, help="Model id or alias (turns routing off unless --route).")
@click.option("-s", "--system", default=None, help="System prompt.")
@click.option("--route/--no-route", "routing", default=None,
              help="Route each message to a handler and model [default: on unless --model is given].")
@click.option("--temperature", type=float, default=None)
@click.option("--thread", "thread_id", default=None, help="Continue a stored thread (see `vtai threads list`).")
@click.option("-a", "--attach", "attachments", multiple=True, type=click.Path(dir_okay=False),
              help="Attach a file (image, audio, document, CSV …) to the message. Repeatable.")
@click.option("--tools", is_flag=True, help="Assistant mode: let a tool-capable model run code and search the web.")
@click.option("--speak", is_flag=True, help="Also speak each answer to a WAV file and print its path.")
@click.option("--json", "as_json", is_flag=True, help="Print events as JSON lines instead of text.")
@api_key_option
def chat(message: str | None, model: str | None, system: str | None, routing: bool | None,
         temperature: float | None, thread_id: str | None, attachments: tuple[str, ...], tools: bool, speak: bool,
         as_json: bool, api_keys: tuple[str, ...]) -> None:
    """Chat in the terminal. With MESSAGE, answer it and exit; without, start an interactive chat
    (history kept for the session; Ctrl-D exits)."""
    from vtai.cli.chat_session import ChatSession

    settings = load_settings(api_keys=parse_api_keys(api_keys))
    setup_logging(settings.home)
    if routing is None:
        routing = model is None and settings.dynamic_routing
    renderer = TerminalRenderer(as_json=as_json)
    session = ChatSession(settings, renderer, model=model, system=system, routing=routing,
                          temperature=temperature, thread_id=thread_id, speak=speak,
                          tools=tools)
    if message is not None or attachments:
        ok = asyncio.run(session.run_once(message or "", list(attachments)))
        sys.exit(0 if ok else 1)
    if message is not None:
        ok = asyncio.run(session.run_once(message))
        sys.exit(0 if ok else 1)
    asyncio.run(session.interactive())


@click.command(context_settings=CONTEXT)
@click.option("--json", "as_json", is_flag=True, help="Print the catalogue as JSON.")
@click.option("--available", is_flag=True, help="Only models usable now.")
@api_key_option
def models(as_json: bool, available: bool, api_keys: tuple[str, ...]) -> None:
    """List the model catalogue: id, provider, capabilities and whether it is usable now."""
    from vtai.llm.catalogue import availability, load_catalogue
    from vtai.llm.local import installed

    settings = load_settings(api_keys=parse_api_keys(api_keys))
    try:
        catalogue = load_catalogue(settings.home)
    except VtaiError as exc:
        raise UserError(str(exc)) from None
    breakers = running_server_breakers(settings)
    rows = []
    for m in catalogue:
        ok, hint = availability(m, settings)
        if m.provider == "local":
            ok, why = installed(settings.local_model)
            hint = why
        if available and not ok:
            continue
        rows.append({"id": m.id, "provider": m.provider, "capabilities": sorted(m.capabilities),
                     "context": m.context, "aliases": list(m.aliases), "available": ok, "hint": hint or None,
                     "breaker": breakers.get(m.id)})
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        mark = click.style("✓", fg="green") if r["available"] else click.style("·", fg="bright_black")
        caps = ",".join(r["capabilities"])
        click.echo(f"{mark} {r['id']:<32} {r['provider']:<11} {caps}")
    if breakers:
        click.echo("\nFailing recently, per the running server's circuit breaker:")
        for model_id, st in breakers.items():
            click.echo(f"  {model_id}: {st.get('state')} (retry in {st.get('retry_in')} s) — {st.get('last_error')}")
    missing = sorted({(r["provider"], r["hint"]) for r in rows if not r["available"] and r["hint"]})
    if missing:
        click.echo("\nTo enable more models:")
        for provider, hint in missing:
            click.echo(f"  {provider}: {hint}")


def running_server_breakers(settings) -> dict:
    """Circuit-breaker state lives in the server process: ask a `vtai serve` on this machine, if one runs."""
    import httpx

    try:
        health = httpx.get(f"http://127.0.0.1:{settings.port}/api/health", timeout=0.3).json()
    except (httpx.HTTPError, ValueError):
        return {}
    return health.get("circuit_breakers") or {} if isinstance(health, dict) else {}
