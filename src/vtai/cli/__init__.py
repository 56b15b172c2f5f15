"""The ``vtai`` command. Each command group lives in its own module, registered with one line below."""

from __future__ import annotations

import importlib
import sys

import click

from vtai import __version__
from vtai.cli.common import CONTEXT, handle_errors
from vtai.cli.core import chat, models, serve
from vtai.cli.keys import keys


class DefaultToServe(click.Group):
    """Bare ``vtai`` (or ``vtai --host …``) runs ``vtai serve``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0].startswith("-") and args[0] not in ("--help", "-h", "--version")):
            args = ["serve", *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context):
        with handle_errors():
            return super().invoke(ctx)


@click.group(cls=DefaultToServe, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="vtai")
def main() -> None:
    """VT.ai — multimodal AI chat with a semantic router. Runs offline on a bundled local model.

    With no command, runs `vtai serve` (the web app on http://127.0.0.1:8000).
    """


main.add_command(serve)
main.add_command(chat)
main.add_command(models)
main.add_command(keys)

# Optional command modules: (module, attribute). One line per command group.
OPTIONAL = [
    ("vtai.cli.route", "route"),
    ("vtai.cli.run_code", "run_code"),
    ("vtai.cli.threads", "threads"),
    ("vtai.cli.users", "users"),
    ("vtai.cli.api", "api"),
    ("vtai.cli.api", "api_keys"),
]
for _module, _attr in OPTIONAL:
    try:
        main.add_command(getattr(importlib.import_module(_module), _attr))
    except (ImportError, AttributeError) as _exc:  # a module still being built must not break the CLI
        if not isinstance(_exc, ModuleNotFoundError) or _exc.name != _module:
            raise


def run() -> None:
    main()


if __name__ == "__main__":
    sys.exit(run())
