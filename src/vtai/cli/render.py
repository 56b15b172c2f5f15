"""Render engine events in a terminal (the CLI adapter's only output code)."""

from __future__ import annotations

import json
import sys
import time

import click

from vtai.events import (
    Audio,
    Done,
    Error,
    Event,
    File,
    Image,
    ModelChosen,
    ReasoningDelta,
    RouteChosen,
    Status,
    TextDelta,
    ToolCall,
    ToolResult,
    Usage,
    to_dict,
)


class TerminalRenderer:
    def __init__(self, as_json: bool = False, out=None, err=None):
        self.as_json = as_json
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._in_reasoning = False
        self._thinking_started = 0.0
        self.failed = False

    def _note(self, text: str, **style) -> None:
        click.secho(text, file=self.err, **style)

    def render(self, event: Event) -> None:
        if self.as_json:
            self.out.write(json.dumps(to_dict(event)) + "\n")
            self.out.flush()
            self.failed |= isinstance(event, Error)
            return
        if isinstance(event, ReasoningDelta):
            if not self._in_reasoning:
                self._in_reasoning = True
                self._thinking_started = time.monotonic()
                self._note("Thinking…", dim=True)
            click.secho(event.text, file=self.err, nl=False, dim=True, italic=True)
            return
        if self._in_reasoning and not isinstance(event, Status):
            self._in_reasoning = False
            self._note(f"\n(thought for {time.monotonic() - self._thinking_started:.1f} s)", dim=True)
        if isinstance(event, TextDelta):
            self.out.write(event.text)
            self.out.flush()
        elif isinstance(event, RouteChosen):
            fb = " (fallback)" if event.fallback else ""
            self._note(f"[route: {event.route} {event.score:.2f}{fb} → {event.model}]", dim=True)
        elif isinstance(event, ModelChosen):
            self._note(f"[model: {event.model}]", dim=True)
        elif isinstance(event, Status):
            self._note(event.text, dim=True)
        elif isinstance(event, ToolCall):
            self._note(f"[tool {event.name}({json.dumps(event.arguments)[:200]})]", fg="cyan")
        elif isinstance(event, ToolResult):
            self._note(f"[{event.name} → {event.output[:300]}]", fg="red" if event.is_error else "cyan")
        elif isinstance(event, Image | Audio | File):
            self._note(f"Saved {event.kind}: {event.path}", fg="green")
        elif isinstance(event, Usage):
            cost = f", ${event.cost_usd:.6f}" if event.cost_usd else ""
            self._note(f"\n[{event.model}: {event.prompt_tokens}+{event.completion_tokens} tokens{cost}]", dim=True)
        elif isinstance(event, Error):
            self.failed = True
            self._note(f"\nError: {event.message}", fg="red")
        elif isinstance(event, Done):
            self.out.write("\n")
            self.out.flush()
