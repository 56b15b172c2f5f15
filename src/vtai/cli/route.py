"""``vtai route``: classify messages with the semantic router, evaluate it, fit its thresholds."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from vtai.errors import UserError


@click.command("route")
@click.argument("message", required=False)
@click.option("--stdin", "from_stdin", is_flag=True, help="Route one message per stdin line; print JSON lines.")
@click.option("--eval", "eval_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Labelled JSONL ({\"text\", \"route\"} per line): print accuracy, P/R/F1, confusion.")
@click.option("--fit", "fit_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Labelled JSONL: tune per-route thresholds and write them to $VTAI_HOME/routes.yaml.")
@click.option("--seed", default=0, show_default=True, help="Seed for --fit (same file + seed = same thresholds).")
@click.option("--attach", "attachments", multiple=True, metavar="KIND",
              help="Attachment kind for MESSAGE (image, csv, xlsx, or a file name). Repeatable.")
@click.option("--json", "as_json", is_flag=True, help="Print the choice for MESSAGE as JSON.")
@click.option("--encoder", default=None, help="Encoder to use instead of the configured one (e.g. fake).")
def route(message: str | None, from_stdin: bool, eval_file: Path | None, fit_file: Path | None, seed: int,
          attachments: tuple[str, ...], as_json: bool, encoder: str | None) -> None:
    """Show which route (handler, model) MESSAGE would take."""
    modes = sum(bool(x) for x in (message is not None, from_stdin, eval_file, fit_file))
    if modes != 1:
        raise click.UsageError("give exactly one of MESSAGE, --stdin, --eval FILE or --fit FILE")
    from vtai.routing import build_router  # loads the encoder; kept out of CLI start-up
    from vtai.settings import load_settings

    settings = load_settings()
    router = build_router(settings, encoder=encoder)
    if eval_file:
        _evaluate(router, eval_file)
    elif fit_file:
        _fit(router, fit_file, seed, settings.home)
    elif from_stdin:
        _stream(router, _model_picker(settings))
    else:
        choice = router.route(message or "", list(attachments))
        _print_choice(choice, _model_picker(settings)(choice), as_json)


def _print_choice(choice: Any, model: str | None, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({**choice.to_dict(), "model": model}))
        return
    flag = " (fallback: default route)" if choice.fallback else ""
    click.echo(f"route:     {choice.route}{flag}")
    click.echo(f"score:     {choice.score:.3f}")
    click.echo(f"runner-up: {choice.runner_up or '-'} ({choice.runner_up_score:.3f})")
    click.echo(f"handler:   {choice.handler}")
    click.echo(f"model:     {model or '-'}")
    click.echo(f"reason:    {choice.reason}")


def _stream(router: Any, pick: Callable[[Any], str | None], batch: int = 64) -> None:
    lines: list[str] = []

    def flush() -> None:
        for text, choice in zip(lines, router.route_batch(lines), strict=True):
            record = {"text": text, **choice.to_dict(), "model": pick(choice)}
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        lines.clear()

    for line in sys.stdin:
        lines.append(line.rstrip("\n"))
        if len(lines) >= batch:
            flush()
    if lines:
        flush()


def _evaluate(router: Any, path: Path) -> None:
    from vtai.routing import evaluate, format_report, load_rows

    rows = load_rows(path)
    if not rows:
        raise UserError(f"{path} has no labelled rows.")
    click.echo(format_report(evaluate(router, rows)))


def _fit(router: Any, path: Path, seed: int, home: Path) -> None:
    from vtai.routing import evaluate, fit, load_rows, user_routes_path, write_thresholds

    rows = load_rows(path)
    before = evaluate(router, rows).accuracy
    thresholds = fit(router, rows, seed=seed)
    after = evaluate(router.with_thresholds(thresholds), rows).accuracy
    target = user_routes_path(home)
    write_thresholds(target, thresholds)
    for name, value in thresholds.items():
        click.echo(f"{name:<26} {router.thresholds[name]:.2f} -> {value:.2f}")
    click.echo(f"accuracy on {path.name}: {before:.3f} -> {after:.3f}; thresholds written to {target}")


def _model_picker(settings: Any) -> Callable[[Any], str | None]:
    """Ask the engine which model a route gets now (keys, capabilities); else the first preferred model."""
    try:
        from vtai.app import build_runtime
        from vtai.engine import ChatOptions
    except ImportError:
        return lambda choice: choice.preferred_models[0] if choice.preferred_models else None
    runtime = build_runtime(settings, with_router=False)
    options = ChatOptions.from_settings(settings)

    def pick(choice: Any) -> str | None:
        model, _reason = runtime.engine.pick_model_for_route(choice, options)
        return model.id

    return pick
