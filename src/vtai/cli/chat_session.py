"""The terminal chat loop: a thin adapter over the engine. Every turn is stored as a thread (loss-free write
path), so `vtai threads` lists terminal chats and `vtai chat --thread ID` continues one."""

from __future__ import annotations

import asyncio
import logging
import uuid

import click

from vtai.app import build_runtime
from vtai.cli.render import TerminalRenderer
from vtai.engine import ChatOptions
from vtai.errors import NotFoundError, StoreError, UserError
from vtai.messages import Conversation, Message, TextPart
from vtai.settings import Settings

log = logging.getLogger(__name__)


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
        self.conversation = Conversation(id=thread_id or str(uuid.uuid4()))
        self.resume = thread_id is not None
        self.speak = speak
        self.store = None
        self.user_id: str | None = None

    async def open_store(self) -> None:
        from vtai.store import LOCAL_USER, Store, to_engine_messages

        try:
            self.store = await Store.from_settings(self.settings)
        except StoreError as exc:
            if self.resume:
                raise
            self.renderer._note(f"History is off for this chat: {exc}", fg="yellow")
            return
        user = await self.store.ensure_user(LOCAL_USER)
        self.user_id = self.conversation.user_id = user.id
        if self.resume:
            try:
                rows = await self.store.list_messages(user.id, self.conversation.id)
            except NotFoundError:
                raise UserError(f"No thread '{self.conversation.id}'. See `vtai threads list`.") from None
            for message in to_engine_messages(rows):
                self.conversation.add(message)
            self.renderer._note(f"[continuing thread {self.conversation.id}: {len(rows)} messages]", dim=True)

    async def send(self, text: str, attachments: list[str] | None = None) -> bool:
        from vtai.store import Recorder

        self.renderer.failed = False
        parts: list = [TextPart(text)]
        if attachments:
            from vtai.media.attach import parts_from_paths

            parts += parts_from_paths(attachments)
        message = Message(role="user", parts=parts)
        rec = Recorder(self.store, self.user_id) if self.store is not None and self.user_id else None
        if rec is not None:
            await self.store.ensure_thread(self.user_id, self.conversation.id, name=text.strip()[:60] or None)
            await rec.user_message(self.conversation.id, message)
            await rec.assistant_started()
        try:
            async for event in self.runtime.engine.respond(self.conversation, message, self.options):
                self.renderer.render(event)
                if rec is not None:
                    await rec.feed(event)
        finally:
            if rec is not None:
                await rec.finish()
        last = self.conversation.messages[-1] if self.conversation.messages else None
        if self.speak and not self.renderer.failed and last and last.role == "assistant" and last.content.strip():
            from vtai.media.attach import speak

            self.renderer.render(await speak(self.runtime.engine, self.conversation, last.content))
        return not self.renderer.failed

    async def close(self) -> None:
        if self.store is not None:
            self.renderer._note(f"[thread {self.conversation.id} — continue with "
                                f"`vtai chat --thread {self.conversation.id}`]", dim=True)
            await self.store.close()
        await self.runtime.aclose()

    async def run_once(self, text: str, attachments: list[str] | None = None) -> bool:
        try:
            await self.open_store()
            return await self.send(text, attachments)
        finally:
            await self.close()

    async def interactive(self) -> None:
        click.secho("VT.ai chat — Ctrl-D to exit.", dim=True, err=True)
        try:
            await self.open_store()
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
            await self.close()
