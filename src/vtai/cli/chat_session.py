"""The terminal chat loop: a thin adapter over the engine."""

from __future__ import annotations

import asyncio

import click

from vtai.app import build_runtime
from vtai.cli.render import TerminalRenderer
from vtai.engine import ChatOptions
from vtai.messages import Conversation, Message, TextPart
from vtai.settings import Settings


class ChatSession:
    def __init__(self, settings: Settings, renderer: TerminalRenderer, *, model: str | None, system: str | None,
                 routing: bool, temperature: float | None = None, thread_id: str | None = None,
                 speak: bool = False, tools: bool = False):
        self.settings = settings
        self.renderer = renderer
        self.runtime = build_runtime(settings, with_router=routing)
        if routing and self.runtime.routing_error:
            renderer._note(f"Routing is off: {self.runtime.routing_error}", fg="yellow")
        self.options = ChatOptions.from_settings(settings, model=model, system_prompt=system,
                                                 temperature=temperature, dynamic_routing=routing,
                                                 use_tools=tools)
        self.conversation = Conversation()
        self.thread_id = thread_id
        self.speak = speak

    async def send(self, text: str, attachments: list[str] | None = None) -> bool:
        self.renderer.failed = False
        parts: list = [TextPart(text)]
        if attachments:
            from vtai.media.attach import parts_from_paths

            parts += parts_from_paths(attachments)
        message = Message(role="user", parts=parts)
        async for event in self.runtime.engine.respond(self.conversation, message, self.options):
            self.renderer.render(event)
        last = self.conversation.messages[-1] if self.conversation.messages else None
        if self.speak and not self.renderer.failed and last and last.role == "assistant" and last.content.strip():
            from vtai.media.attach import speak

            self.renderer.render(await speak(self.runtime.engine, self.conversation, last.content))
        return not self.renderer.failed

    async def run_once(self, text: str, attachments: list[str] | None = None) -> bool:
        try:
            return await self.send(text, attachments)
        finally:
            await self.runtime.aclose()

    async def interactive(self) -> None:
        click.secho("VT.ai chat — Ctrl-D to exit.", dim=True, err=True)
        try:
            while True:
                try:
                    text = await asyncio.to_thread(click.prompt, "you", prompt_suffix="> ", default="",
                                                   show_default=False)
                except (EOFError, click.exceptions.Abort):
                    click.echo("", err=True)
                    break
                if not text.strip():
                    continue
                await self.send(text)
        finally:
            await self.runtime.aclose()
