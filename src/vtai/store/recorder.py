"""The loss-free write path adapters use around ``engine.respond``.

    rec = Recorder(store, user_id)
    await rec.user_message(thread_id, message)   # committed before the model is called
    await rec.assistant_started()                 # row written in the background, status "interrupted"
    async for event in engine.respond(...):
        await rec.feed(event)                     # partial answer flushed in the background every 0.5 s
    await rec.finish()                            # waits: final text, parts, usage; "complete"/"error"

Writes after the user's message run as one ordered chain of background tasks, so the stream never waits
on the database; ``finish`` (or ``flush``) waits for the chain. If the process dies mid-stream, the stored
answer is whatever the last flush wrote, still marked "interrupted": at most ``flush_interval`` seconds of
text are lost, never the user's message. A failed background write is raised by the next ``feed``,
``flush`` or ``finish``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vtai import events as ev
from vtai.errors import NotFoundError
from vtai.messages import AudioPart, FilePart, ImagePart, Message, TextPart

from .models import StoredMessage

if TYPE_CHECKING:
    from .store import Store


class Recorder:
    def __init__(self, store: Store, user_id: str, *, flush_interval: float = 0.5):
        self.store = store
        self.user_id = user_id
        self.flush_interval = flush_interval
        self.thread_id: str | None = None
        self._last_user_id: str | None = None
        self._tail: asyncio.Task | None = None
        self._reset()

    def _reset(self) -> None:
        self.message_id: str | None = None
        self._created_at = 0.0
        self._parent_id: str | None = None
        self._text: list[str] = []
        self._parts: list[dict[str, Any]] = []
        self._fields: dict[str, Any] = {}
        self._dirty = False
        self._last_flush = 0.0
        self._error = False
        self._interrupted = False
        self._done = False

    async def user_message(self, thread_id: str, message: Message, *,
                           message_id: str | None = None) -> StoredMessage:
        """Commit the user's message (and its attachments) to ``thread_id``, creating the thread if new.
        Awaited: when this returns, the message is durable."""
        self.thread_id = thread_id
        text = message.content
        parts: list[dict[str, Any]] = []
        if message.attachments():
            await self.store.ensure_thread(self.user_id, thread_id)
            parts = [await self._part(p, thread_id) for p in message.attachments()]
        if message.tool_calls:
            parts.append({"kind": "tool_calls", "calls": message.tool_calls})
        try:
            stored = await self.store.add_message(self.user_id, thread_id, message.role, text, parts=parts,
                                                  message_id=message_id, upsert=("content", "parts"))
        except NotFoundError:  # a new thread (attachments above already created it otherwise)
            await self.store.ensure_thread(self.user_id, thread_id)
            stored = await self.store.add_message(self.user_id, thread_id, message.role, text, parts=parts,
                                                  message_id=message_id, upsert=("content", "parts"))
        self._last_user_id = stored.id
        return stored

    async def assistant_started(self, *, message_id: str | None = None,
                                parent_id: str | None = None) -> str:
        """Start the answer: its row (empty, "interrupted") is written in the background right away, so the
        model call isn't delayed and even a crash before the first flush leaves a trace."""
        if self.thread_id is None:
            raise RuntimeError("Recorder.assistant_started() before user_message()")
        await self.wait_written()
        self._reset()
        self.message_id = message_id or str(uuid.uuid4())
        self._parent_id = parent_id or self._last_user_id
        self._created_at = time.time()
        self._last_flush = time.monotonic()
        self._write(self.store.add_message(
            self.user_id, self.thread_id, "assistant", "", message_id=self.message_id, status="interrupted",
            parent_id=self._parent_id, created_at=self._created_at,
            upsert=("status", "parent_id")))
        return self.message_id

    async def feed(self, event: ev.Event) -> None:
        """Take one engine event; schedules a background flush of the partial answer every
        ``flush_interval`` seconds (never more than one write in flight)."""
        if self.message_id is None:
            raise RuntimeError("Recorder.feed() before assistant_started()")
        await self._absorb(event)
        if (self._dirty and time.monotonic() - self._last_flush >= self.flush_interval
                and (self._tail is None or self._tail.done())):
            self._check_tail()
            self._last_flush = time.monotonic()
            self._dirty = False
            self._write(self.store.update_message(self.user_id, self.message_id, **self._snapshot()))

    async def flush(self) -> None:
        """Write the partial answer now and wait for it (and any pending write) to be stored."""
        if self.message_id is not None and self._dirty:
            self._dirty = False
            self._last_flush = time.monotonic()
            self._write(self.store.update_message(self.user_id, self.message_id, **self._snapshot()))
        await self.wait_written()

    async def finish(self, status: str | None = None) -> StoredMessage:
        """Write the final row and wait for it. Default status: "error" after an Error event; "interrupted"
        if the engine said so or the stream ended without a Done event (client gone, task cancelled);
        else "complete"."""
        if self.message_id is None:
            raise RuntimeError("Recorder.finish() before assistant_started()")
        status = status or ("error" if self._error
                            else "interrupted" if self._interrupted or not self._done else "complete")
        values = self._snapshot()
        await self.wait_written()
        await self.store.update_message(self.user_id, self.message_id, status=status, **values)
        row = StoredMessage(id=self.message_id, thread_id=self.thread_id or "", role="assistant",
                            parent_id=self._parent_id, status=status, created_at=self._created_at, **values)
        self.message_id = None
        return row

    def _snapshot(self) -> dict[str, Any]:
        return {"content": "".join(self._text), "parts": [dict(p) for p in self._parts], **self._fields}

    def _write(self, coro: Awaitable[Any]) -> None:
        previous = self._tail

        async def run() -> None:
            if previous is not None:
                await previous
            await coro

        self._tail = asyncio.ensure_future(run())

    def _check_tail(self) -> None:
        if self._tail is not None and self._tail.done() and self._tail.exception() is not None:
            tail, self._tail = self._tail, None
            raise tail.exception()  # type: ignore[misc]

    async def wait_written(self) -> None:
        """Wait until every background write so far is stored (raises if one failed)."""
        if self._tail is not None:
            tail, self._tail = self._tail, None
            await tail

    @property
    def text(self) -> str:
        return "".join(self._text)

    async def _absorb(self, event: ev.Event) -> None:
        self._dirty = True
        match event:
            case ev.TextDelta(text=text):
                self._text.append(text)
            case ev.ReasoningDelta(text=text):
                if self._parts and self._parts[-1]["kind"] == "reasoning":
                    self._parts[-1]["text"] += text
                else:
                    self._parts.append({"kind": "reasoning", "text": text})
            case ev.ToolCall() | ev.ToolResult():
                self._parts.append(ev.to_dict(event))
            case ev.Image() | ev.Audio() | ev.File():
                self._parts.append(await self._media(event))
            case ev.RouteChosen(route=route, model=model):
                self._fields.update(route=route, model=model)
            case ev.ModelChosen(model=model):
                self._fields["model"] = model
            case ev.Usage():
                f = self._fields
                f["model"] = f.get("model") or event.model
                f["prompt_tokens"] = (f.get("prompt_tokens") or 0) + event.prompt_tokens
                f["completion_tokens"] = (f.get("completion_tokens") or 0) + event.completion_tokens
                if event.cost_usd is not None:
                    f["cost_usd"] = (f.get("cost_usd") or 0.0) + event.cost_usd
            case ev.Error(message=message, error_type=error_type):
                self._error = True
                self._parts.append({"kind": "error", "message": message, "error_type": error_type})
            case ev.Done(interrupted=interrupted):
                self._done = True
                self._interrupted = interrupted
            case _:
                self._dirty = False  # Status and anything else: nothing to keep

    async def _media(self, event: ev.Image | ev.Audio | ev.File) -> dict[str, Any]:
        part = ev.to_dict(event)
        name = getattr(event, "name", None) or Path(event.path).name
        if self.store.files_dir is not None and Path(event.path).is_file():
            att = await self.store.add_attachment(self.user_id, self.thread_id or "", name, event.mime,
                                                  source=event.path, message_id=self.message_id)
            part.update(path=att.path, attachment_id=att.id, name=name)
        return part

    async def _part(self, part: Any, thread_id: str) -> dict[str, Any]:
        base = {"kind": part.kind, "mime": part.mime, "name": part.name}
        data = getattr(part, "data", None)
        source = part.path if isinstance(part, FilePart) and Path(part.path).is_file() else None
        if self.store.files_dir is not None and (data is not None or source is not None):
            att = await self.store.add_attachment(self.user_id, thread_id, part.name, part.mime,
                                                  data=data if source is None else None, source=source)
            return {**base, "path": att.path, "attachment_id": att.id, "size": att.size}
        if isinstance(part, ImagePart) and part.url:
            return {**base, "url": part.url}
        if isinstance(part, FilePart):
            return {**base, "path": part.path, "size": part.size}
        return base


def to_engine_messages(rows: list[StoredMessage]) -> list[Message]:
    """Stored user/assistant messages as engine :class:`Message` objects to continue a thread
    (images/audio re-read from disk; files by path; tool-step rows and empty answers skipped)."""
    out: list[Message] = []
    for row in rows:
        if row.role not in ("user", "assistant") or (row.role == "assistant" and not row.content):
            continue
        parts: list[Any] = [TextPart(row.content)] if row.content else []
        for p in row.parts:
            path = p.get("path")
            if p.get("kind") == "image" and path and Path(path).is_file():
                parts.append(ImagePart(p.get("mime", "image/png"), data=Path(path).read_bytes(),
                                       name=p.get("name", "image")))
            elif p.get("kind") == "image" and p.get("url"):
                parts.append(ImagePart(p.get("mime", "image/png"), url=p["url"], name=p.get("name", "image")))
            elif p.get("kind") == "audio" and row.role == "user" and path and Path(path).is_file():
                parts.append(AudioPart(p.get("mime", "audio/wav"), Path(path).read_bytes(), p.get("name", "audio")))
            elif p.get("kind") == "file" and row.role == "user" and path:
                parts.append(FilePart(p.get("name", "file"), p.get("mime", ""), path, p.get("size", 0)))
        out.append(Message(role=row.role, parts=parts))  # type: ignore[arg-type]
    return out
