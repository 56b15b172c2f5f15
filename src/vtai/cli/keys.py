"""`vtai keys`: set, list and remove provider API keys."""

from __future__ import annotations

import sys

import click

from vtai.cli.common import CONTEXT
from vtai.keys import KeyStore
from vtai.settings import load_settings, process_env


@click.group(context_settings=CONTEXT)
def keys() -> None:
    """Manage provider API keys (stored in $VTAI_HOME/.env, mode 0600)."""


@keys.command("set")
@click.argument("provider")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the key from standard input (for scripts).")
def set_key(provider: str, from_stdin: bool) -> None:
    """Save the API key for PROVIDER (openai, anthropic, gemini, groq, mistral, deepseek, cohere, openrouter,
    tavily, compatible). The key is read from a hidden prompt, never from the command line."""
    store = KeyStore(load_settings().home)
    key = sys.stdin.readline() if from_stdin else click.prompt(f"{provider} API key", hide_input=True)
    var = store.set(provider, key)
    click.echo(f"Saved {var} in {store.path}")


@keys.command("list")
def list_keys() -> None:
    """Show which providers have a key (masked) and where it comes from."""
    store = KeyStore(load_settings().home)
    for provider, var, masked, source in store.listing(process_env()):
        status = f"{masked}  ({source})" if masked else "-"
        click.echo(f"{provider:<12} {var:<24} {status}")


@keys.command("remove")
@click.argument("provider")
def remove_key(provider: str) -> None:
    """Remove the stored key for PROVIDER."""
    store = KeyStore(load_settings().home)
    if store.remove(provider):
        click.echo(f"Removed the {provider} key from {store.path}")
    else:
        click.echo(f"No stored {provider} key in {store.path}")
