"""The store: threads, messages, feedback — every call scoped by ``user_id``.

Isolation is enforced in the SQL itself (``threads.user_id = :user``): another user's thread id gives the
same :class:`NotFoundError` as an id that doesn't exist. Users, API keys and files live in the mixins
(``accounts.py``, ``files.py``); import/export in ``porting.py``.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from vtai.errors import InputError, NotFoundError, StoreError

from . import migrate, search
from .accounts import AccountsMixin
from .files import FilesMixin
from .models import STATUSES, Feedback, Page, StoredMessage, Thread
from .porting import PortingMixin
from .schema import feedback, messages, threads

if TYPE_CHECKING:
    from vtai.settings import Settings

MAX_PAGE_SIZE = 200
RECENT_WINDOW = 400
NAME_LEN = 80


def new_id() -> str:
    return str(uuid.uuid4())


class Store(AccountsMixin, FilesMixin, PortingMixin):
    def __init__(self, engine: AsyncEngine, files_dir: Path | None):
        self.engine = engine
        self.dialect = engine.dialect.name
        self.files_dir = files_dir

    @classmethod
    async def open(cls, url: str, *, files_dir: Path | None = None, schema: str | None = None,
                   durable: bool = False) -> Store:
        """Open (creating a SQLite file if needed) and migrate. ``files_dir`` holds attachments; by default
        the ``files`` folder next to a SQLite file. ``schema``: PostgreSQL schema to use (search_path).

        Commits survive VT.ai being killed at any moment. By default they don't wait for the disk: SQLite
        runs WAL with ``synchronous=NORMAL`` and PostgreSQL sessions use ``synchronous_commit=off``, so a
        crash of the *database host* (power cut) may lose its last fraction of a second, never consistency.
        That saves an fsync (3-4 ms on the test machine) before every model call. ``durable=True``: every
        commit waits for the disk (SQLite ``synchronous=FULL``, PostgreSQL ``synchronous_commit=on``)."""
        engine = migrate.make_engine(url, schema=schema, durable=durable)
        if files_dir is None:
            parsed = make_url(url)
            if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
                files_dir = Path(parsed.database).expanduser().parent / "files"
        try:
            await migrate.upgrade(engine)
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine, files_dir)

    @classmethod
    async def from_settings(cls, settings: Settings) -> Store:
        return await cls.open(settings.db_url, files_dir=settings.home / "files")

    async def close(self) -> None:
        await self.engine.dispose()

    async def __aenter__(self) -> Store:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @asynccontextmanager
    async def tx(self) -> AsyncIterator[AsyncConnection]:
        """One transaction; database failures become :class:`StoreError`."""
        try:
            async with self.engine.begin() as conn:
                yield conn
        except DBAPIError as exc:
            if isinstance(exc, IntegrityError):
                raise
            detail = str(exc.orig or exc).strip().splitlines()[0]
            raise StoreError(f"Database error: {detail}") from exc

    # ---- threads -------------------------------------------------------------------------------------------

    async def create_thread(self, user_id: str | None, name: str | None = None, *, thread_id: str | None = None,
                            metadata: dict | None = None, tags: list[str] | None = None) -> Thread:
        now = time.time()
        row = {"id": thread_id or new_id(), "user_id": user_id, "name": _clip(name), "created_at": now,
               "updated_at": now, "metadata": metadata or {}, "tags": tags or []}
        try:
            async with self.tx() as conn:
                await conn.execute(insert(threads).values(**row))
        except IntegrityError as exc:
            raise StoreError(f"Thread {row['id']} already exists or the user does not exist") from exc
        return Thread(**row)

    async def ensure_thread(self, user_id: str, thread_id: str, name: str | None = None) -> Thread:
        """The user's thread ``thread_id``, created if no one has it; an ownerless thread (Chainlit writes
        steps before it names the owner) is claimed. Someone else's → :class:`NotFoundError`."""
        async with self.tx() as conn:
            owner = (await conn.execute(select(threads.c.user_id).where(threads.c.id == thread_id))).first()
            if owner is not None and owner.user_id is None:
                await conn.execute(update(threads).where(threads.c.id == thread_id).values(user_id=user_id))
        if owner is None:
            try:
                return await self.create_thread(user_id, name, thread_id=thread_id)
            except StoreError:  # created concurrently: fall through to the scoped read
                pass
        return await self.get_thread(user_id, thread_id)

    async def get_thread(self, user_id: str, thread_id: str) -> Thread:
        async with self.tx() as conn:
            row = (await conn.execute(select(threads).where(_own(user_id, thread_id)))).first()
        if row is None:
            raise NotFoundError(f"Thread {thread_id} not found")
        return _thread(row)

    async def list_threads(self, user_id: str, page: int = 1, page_size: int = 20,
                           search: str | None = None, *, feedback_value: int | None = None) -> Page[Thread]:
        """Most recently updated first. ``search``: full-text (see :mod:`vtai.store.search`);
        ``feedback_value``: only threads with a message the user rated 0 or 1."""
        page, page_size = max(1, int(page)), max(1, min(int(page_size), MAX_PAGE_SIZE))
        searching = bool(search and search.strip())
        rows = None
        if searching and self.dialect == "postgresql" and page * page_size + 1 <= RECENT_WINDOW // 2:
            # Frequent words match thousands of messages; the newest threads then hold the whole page.
            # If the user's RECENT_WINDOW newest threads contain page*size+1 matches, every match outside
            # (older by construction) comes later, so this page is exact. Otherwise ask the whole index.
            recent = search_mod.recent_window(user_id, RECENT_WINDOW, self.dialect)
            rows = await self._page(recent, user_id, search, feedback_value, page, page_size)
            if len(rows) <= page_size:
                rows = None
        if rows is None:
            rows = await self._page(threads, user_id, search if searching else None, feedback_value, page,
                                    page_size)
        return Page([_thread(r) for r in rows[:page_size]], page, page_size, len(rows) > page_size)

    async def _page(self, t: Any, user_id: str, search: str | None, feedback_value: int | None, page: int,
                    page_size: int) -> list[Any]:
        query = select(*[t.c[c.name] for c in threads.c]).where(t.c.user_id == user_id)
        if search:
            query = query.where(search_mod.matching(self.dialect, search, t))
        if feedback_value is not None:
            rated = (select(messages.c.thread_id).join(feedback, feedback.c.message_id == messages.c.id)
                     .where(feedback.c.value == feedback_value, feedback.c.user_id == user_id))
            query = query.where(t.c.id.in_(rated))
        query = (query.order_by(t.c.updated_at.desc(), t.c.id.desc())
                 .limit(page_size + 1).offset((page - 1) * page_size))
        async with self.tx() as conn:
            return list((await conn.execute(query)).all())

    async def search(self, user_id: str, query: str, page: int = 1, page_size: int = 20) -> Page[Thread]:
        return await self.list_threads(user_id, page, page_size, search=query or " ")

    async def count_threads(self, user_id: str) -> int:
        async with self.tx() as conn:
            return (await conn.execute(
                select(func.count()).select_from(threads).where(threads.c.user_id == user_id))).scalar_one()

    async def update_thread(self, user_id: str, thread_id: str, *, name: str | None = None,
                            metadata: dict | None = None, tags: list[str] | None = None) -> Thread:
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = _clip(name)
        if metadata is not None:
            values["metadata"] = metadata
        if tags is not None:
            values["tags"] = tags
        if values:
            async with self.tx() as conn:
                result = await conn.execute(update(threads).where(_own(user_id, thread_id)).values(**values))
            if result.rowcount == 0:
                raise NotFoundError(f"Thread {thread_id} not found")
        return await self.get_thread(user_id, thread_id)

    async def rename_thread(self, user_id: str, thread_id: str, name: str) -> Thread:
        return await self.update_thread(user_id, thread_id, name=name)

    async def delete_thread(self, user_id: str, thread_id: str) -> None:
        """Delete the thread, its messages, feedback, attachment rows and files on disk."""
        async with self.tx() as conn:
            # Messages first and explicitly, so SQLite's FTS delete trigger sees every row.
            await conn.execute(delete(messages).where(
                messages.c.thread_id.in_(select(threads.c.id).where(_own(user_id, thread_id)))))
            result = await conn.execute(delete(threads).where(_own(user_id, thread_id)))
        if result.rowcount == 0:
            raise NotFoundError(f"Thread {thread_id} not found")
        folder = self.thread_files_dir(user_id, thread_id)
        if folder is not None and folder.exists():
            await asyncio.to_thread(shutil.rmtree, folder, True)

    # ---- unscoped look-ups, for adapters that authorise elsewhere (the Chainlit data layer) -------------

    async def thread_owner(self, thread_id: str) -> tuple[bool, str | None]:
        """(exists, owner user id)."""
        async with self.tx() as conn:
            row = (await conn.execute(select(threads.c.user_id).where(threads.c.id == thread_id))).first()
        return (row is not None, row.user_id if row else None)

    async def message_owner(self, message_id: str) -> tuple[str, str | None] | None:
        """(thread id, owner user id) of a message, or None."""
        query = (select(messages.c.thread_id, threads.c.user_id)
                 .join(threads, threads.c.id == messages.c.thread_id).where(messages.c.id == message_id))
        async with self.tx() as conn:
            row = (await conn.execute(query)).first()
        return (row.thread_id, row.user_id) if row else None

    # ---- messages ------------------------------------------------------------------------------------------

    async def add_message(self, user_id: str, thread_id: str, role: str, content: str = "", *,
                          parts: list[dict] | None = None, message_id: str | None = None,
                          parent_id: str | None = None, route: str | None = None, model: str | None = None,
                          status: str = "complete", prompt_tokens: int | None = None,
                          completion_tokens: int | None = None, cost_usd: float | None = None,
                          meta: dict | None = None, created_at: float | None = None,
                          upsert: tuple[str, ...] = ()) -> StoredMessage:
        """Insert and commit one message (bumps the thread; names it after its first user message).
        ``upsert``: if ``message_id`` already exists in this thread with this role (e.g. Chainlit's data layer
        wrote the step first), overwrite these fields instead of failing."""
        _check_status(status)
        row = {"id": message_id or new_id(), "thread_id": thread_id, "parent_id": parent_id, "role": role,
               "content": content or "", "parts": parts or [], "meta": meta or {}, "route": route,
               "model": model, "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
               "cost_usd": cost_usd, "status": status, "created_at": created_at or time.time(),
               "favorite": False}
        first_text = content if role == "user" else None
        try:
            async with self.tx() as conn:
                await self._touch(conn, user_id, thread_id, first_text)
                await conn.execute(insert(messages).values(**row))
            return StoredMessage(**row)
        except IntegrityError as exc:
            if upsert:
                async with self.tx() as conn:
                    await self._touch(conn, user_id, thread_id, first_text)
                    result = await conn.execute(
                        update(messages).where(messages.c.id == row["id"], messages.c.thread_id == thread_id,
                                               messages.c.role == role)
                        .values(**{k: row[k] for k in upsert}))
                if result.rowcount:
                    return await self.get_message(user_id, row["id"])
            raise StoreError(f"Message {row['id']} already exists") from exc

    async def _touch(self, conn: AsyncConnection, user_id: str, thread_id: str, first_text: str | None) -> None:
        values: dict[str, Any] = {"updated_at": time.time()}
        if first_text and first_text.strip():
            values["name"] = func.coalesce(threads.c.name, _clip(first_text))
        result = await conn.execute(update(threads).where(_own(user_id, thread_id)).values(**values))
        if result.rowcount == 0:
            raise NotFoundError(f"Thread {thread_id} not found")

    async def update_message(self, user_id: str, message_id: str, **values: Any) -> None:
        """Update any of: content, parts, status, route, model, prompt_tokens, completion_tokens, cost_usd,
        meta, favorite, parent_id. Used for partial flushes while an answer streams."""
        allowed = {"content", "parts", "status", "route", "model", "prompt_tokens", "completion_tokens",
                   "cost_usd", "meta", "favorite", "parent_id"}
        unknown = set(values) - allowed
        if unknown:
            raise TypeError(f"update_message: unknown fields {sorted(unknown)}")
        if "status" in values:
            _check_status(values["status"])
        if not values:
            return
        async with self.tx() as conn:
            result = await conn.execute(update(messages).where(messages.c.id == message_id, _owned_msg(user_id))
                                        .values(**values))
        if result.rowcount == 0:
            raise NotFoundError(f"Message {message_id} not found")

    async def delete_message(self, user_id: str | None, message_id: str) -> None:
        async with self.tx() as conn:
            result = await conn.execute(delete(messages).where(messages.c.id == message_id, _owned_msg(user_id)))
        if result.rowcount == 0:
            raise NotFoundError(f"Message {message_id} not found")

    async def get_message(self, user_id: str, message_id: str) -> StoredMessage:
        query = (select(messages).join(threads, threads.c.id == messages.c.thread_id)
                 .where(messages.c.id == message_id, threads.c.user_id == user_id))
        async with self.tx() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise NotFoundError(f"Message {message_id} not found")
        return _message(row)

    async def list_messages(self, user_id: str, thread_id: str) -> list[StoredMessage]:
        """The thread's messages in insertion order, each with the user's feedback on it."""
        fb = feedback.alias("fb")
        query = (select(messages, fb.c.id.label("fb_id"), fb.c.value.label("fb_value"),
                        fb.c.comment.label("fb_comment"), fb.c.user_id.label("fb_user"))
                 .join(threads, threads.c.id == messages.c.thread_id)
                 .outerjoin(fb, (fb.c.message_id == messages.c.id) & (fb.c.user_id == threads.c.user_id))
                 .where(threads.c.id == thread_id, threads.c.user_id == user_id)
                 .order_by(messages.c.seq))
        async with self.tx() as conn:
            rows = (await conn.execute(query)).all()
            if not rows:
                await self._require_thread(conn, user_id, thread_id)
        return [_message(r) for r in rows]

    async def _require_thread(self, conn: AsyncConnection, user_id: str, thread_id: str) -> None:
        if (await conn.execute(select(threads.c.id).where(_own(user_id, thread_id)))).first() is None:
            raise NotFoundError(f"Thread {thread_id} not found")

    # ---- feedback ------------------------------------------------------------------------------------------

    async def set_feedback(self, user_id: str, message_id: str, value: int,
                           comment: str | None = None) -> Feedback:
        """Upsert the user's feedback (1 good, 0 bad) on a message of one of their threads."""
        if value not in (0, 1):
            raise InputError("Feedback value must be 0 or 1")
        await self.get_message(user_id, message_id)
        async with self.tx() as conn:
            existing = (await conn.execute(select(feedback.c.id).where(
                feedback.c.message_id == message_id, feedback.c.user_id == user_id))).first()
            if existing:
                fid = existing.id
                await conn.execute(update(feedback).where(feedback.c.id == fid)
                                   .values(value=value, comment=comment))
            else:
                fid = new_id()
                await conn.execute(insert(feedback).values(id=fid, message_id=message_id, user_id=user_id,
                                                           value=value, comment=comment,
                                                           created_at=time.time()))
        return Feedback(fid, message_id, user_id, value, comment)

    async def delete_feedback(self, user_id: str, feedback_id: str) -> None:
        async with self.tx() as conn:
            result = await conn.execute(delete(feedback).where(feedback.c.id == feedback_id,
                                                               feedback.c.user_id == user_id))
        if result.rowcount == 0:
            raise NotFoundError(f"Feedback {feedback_id} not found")

    async def feedback_owner(self, feedback_id: str) -> str | None:
        async with self.tx() as conn:
            row = (await conn.execute(select(feedback.c.user_id).where(feedback.c.id == feedback_id))).first()
        return row.user_id if row else None

    async def favorite_messages(self, user_id: str, limit: int = 100) -> list[StoredMessage]:
        query = (select(messages).join(threads, threads.c.id == messages.c.thread_id)
                 .where(threads.c.user_id == user_id, messages.c.favorite.is_(True))
                 .order_by(messages.c.seq.desc()).limit(limit))
        async with self.tx() as conn:
            return [_message(r) for r in (await conn.execute(query)).all()]


search_mod = search


def _owned_msg(user_id: str | None):
    """A correlated EXISTS (not an IN over all the user's threads): the message's thread is the user's."""
    return exists().where(threads.c.id == messages.c.thread_id, threads.c.user_id == user_id)


def _own(user_id: str, thread_id: str):
    return (threads.c.id == thread_id) & (threads.c.user_id == user_id)


def _clip(name: str | None) -> str | None:
    if name is None:
        return None
    name = " ".join(name.split())
    return name[: NAME_LEN - 1] + "…" if len(name) > NAME_LEN else name


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise InputError(f"Unknown message status {status!r}; expected one of {', '.join(STATUSES)}")


def _thread(row: Any) -> Thread:
    return Thread(row.id, row.user_id, row.name, row.created_at, row.updated_at, row.metadata or {},
                  list(row.tags or []))


def _message(row: Any) -> StoredMessage:
    m = row._mapping
    fb = Feedback(m["fb_id"], m["id"], m["fb_user"], m["fb_value"], m["fb_comment"]) \
        if m.get("fb_id") else None
    return StoredMessage(
        id=m["id"], thread_id=m["thread_id"], role=m["role"], content=m["content"], parts=m["parts"] or [],
        parent_id=m["parent_id"], route=m["route"], model=m["model"], prompt_tokens=m["prompt_tokens"],
        completion_tokens=m["completion_tokens"], cost_usd=m["cost_usd"], status=m["status"],
        created_at=m["created_at"], meta=m["meta"] or {}, favorite=bool(m["favorite"]), feedback=fb)
