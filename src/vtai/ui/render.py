"""Engine events → Chainlit messages, steps and elements."""

from __future__ import annotations

import json
import time
import uuid

import chainlit as cl

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
)


class ChainlitRenderer:
    def __init__(self) -> None:
        self._message: cl.Message | None = None
        self.message_id = str(uuid.uuid4())
        self.thinking: cl.Step | None = None
        self.thinking_started = 0.0
        self.status: cl.Step | None = None
        self.tools: dict[str, cl.Step] = {}
        self.meta: dict = {}
        self.elements: list = []
        self.failed = False

    @property
    def message(self) -> cl.Message:
        # Created on first use, so the steps before the answer (route, thinking, tools) are shown above it.
        if self._message is None:
            self._message = cl.Message(content="", id=self.message_id)
        return self._message

    async def _close_thinking(self) -> None:
        if self.thinking is not None:
            took = time.monotonic() - self.thinking_started
            self.thinking.name = f"Thought for {took:.1f}s"
            self.thinking.end = None
            await self.thinking.update()
            self.thinking = None

    async def _close_status(self) -> None:
        if self.status is not None:
            await self.status.remove()
            self.status = None

    async def render(self, event: Event) -> None:
        if isinstance(event, ReasoningDelta):
            if self.thinking is None:
                self.thinking = cl.Step(name="Thinking", type="llm", default_open=False, show_input=False)
                self.thinking_started = time.monotonic()
                await self.thinking.send()
            await self.thinking.stream_token(event.text)
            return
        if not isinstance(event, Status):
            await self._close_thinking()
        if isinstance(event, TextDelta):
            await self._close_status()
            await self.message.stream_token(event.text)
        elif isinstance(event, RouteChosen):
            self.meta.update(route=event.route, model=event.model, score=round(event.score, 3))
            fb = " · fallback" if event.fallback else ""
            async with cl.Step(name=f"Route: {event.route} ({event.score:.2f}{fb}) → {event.model}",
                               type="tool", show_input=False) as step:
                step.output = event.reason + (f" · runner-up: {event.runner_up}" if event.runner_up else "")
        elif isinstance(event, ModelChosen):
            self.meta.update(model=event.model)
        elif isinstance(event, Status) and event.text.startswith("Transcript:"):
            async with cl.Step(name="Transcript", type="tool", show_input=False) as step:
                step.output = event.text.removeprefix("Transcript:").strip()
        elif isinstance(event, Status):
            if self.status is None:
                self.status = cl.Step(name="Status", type="run", show_input=False)
                self.status.output = event.text
                await self.status.send()
            else:
                self.status.output = event.text
                await self.status.update()
        elif isinstance(event, ToolCall):
            step = cl.Step(name=event.name, type="tool", show_input="json", default_open=False)
            step.input = json.dumps(event.arguments, indent=2)
            await step.send()
            self.tools[event.id] = step
        elif isinstance(event, ToolResult):
            step = self.tools.pop(event.id, None) or cl.Step(name=event.name, type="tool")
            step.output = event.output
            step.is_error = event.is_error
            await step.update()
        elif isinstance(event, Image):
            self.elements.append(cl.Image(path=event.path, name=event.path.rsplit("/", 1)[-1], display="inline"))
        elif isinstance(event, Audio):
            self.elements.append(cl.Audio(path=event.path, name=event.path.rsplit("/", 1)[-1], display="inline",
                                          mime=event.mime))
        elif isinstance(event, File):
            self.elements.append(cl.File(path=event.path, name=event.name, display="inline", mime=event.mime))
        elif isinstance(event, Usage):
            self.meta.update(prompt_tokens=event.prompt_tokens, completion_tokens=event.completion_tokens,
                             cost_usd=event.cost_usd)
        elif isinstance(event, Error):
            self.failed = True
            await self._close_status()
            prefix = "\n\n" if self._message is not None and self.message.content else ""
            await self.message.stream_token(f"{prefix}⚠️ {event.message}")
        elif isinstance(event, Done):
            await self._close_status()
            if event.interrupted:
                self.meta["status"] = "interrupted"

    async def finish(self, actions: list | None = None) -> cl.Message:
        await self._close_thinking()
        await self._close_status()
        self.message.elements = self.elements
        self.message.metadata = self.meta
        self.message.actions = actions or []
        if not self.message.content and not self.elements:
            self.message.content = "(no answer)"
        await self.message.send()
        return self.message
