"""Shared CLI helpers: the one place CLI errors become short messages."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator

import click

from vtai.errors import VtaiError, redact

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def parse_api_keys(values: tuple[str, ...]) -> dict[str, str]:
    keys = {}
    for value in values:
        provider, sep, key = value.partition("=")
        if not sep or not provider or not key:
            raise click.BadParameter("use --api-key provider=key (e.g. --api-key openai=sk-…)")
        keys[provider.strip().lower()] = key.strip()
    return keys


def api_key_option(fn):
    return click.option("--api-key", "api_keys", multiple=True, metavar="PROVIDER=KEY",
                        help="Use this key for PROVIDER in this run only (not saved). Repeatable.")(fn)


@contextlib.contextmanager
def handle_errors() -> Iterator[None]:
    try:
        yield
    except VtaiError as exc:
        click.secho(f"Error: {exc}", fg="red", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)


def setup_logging(home, verbose: bool = False) -> None:
    logs = home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(logs / "vtai.log")
    handler.setFormatter(_RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("LiteLLM", "litellm", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
