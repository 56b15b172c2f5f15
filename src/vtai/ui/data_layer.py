"""Chainlit's data layer over :class:`vtai.store.Store` (sidebar history, resume, rename, delete, feedback).

Chainlit calls most methods with a bare thread/step id and authorises first (``get_thread_author`` for the
HTTP routes, ``userIdentifier`` on websocket resume). This layer adds its own guards: a thread's owner is set
once and never changed by ``update_thread``, ``list_threads`` requires ``filters.userId`` and returns only that
user's threads, and every store call is made with the owner's id.

Step mapping: ``user_message``/``assistant_message`` → messages (role user/assistant, text in ``content``);
``run`` steps (Chainlit's wrapper around a callback) are skipped; other steps (tool, llm, retrieval …) are kept
as role ``step`` rows so a resumed thread shows them, and are ignored when rebuilding model history.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable
from typing import Any

from chainlit.context import ChainlitContextException, get_context
from chainlit.data.base import BaseDataLayer
from chainlit.element import Element, ElementDict
from chainlit.session import WebsocketSession
from chainlit.step import StepDict
from chainlit.types import Feedback, PageInfo, PaginatedResponse, Pagination, ThreadDict, ThreadFilter
from chainlit.user import PersistedUser, User

from vtai.errors import NotFoundError, StoreError
from vtai.store.models import Attachment, StoredMessage, iso
from vtai.store.store import Store

MESSAGE_ROLES = {"user_message": "user", "assistant_message": "assistant"}
SKIPPED_TYPES = {"run"}


def after_first_message(method):
    """Chainlit's ``queue_until_user_message``, also usable outside a Chainlit context (CLI, tests): in a
    websocket session that hasn't had a user message yet, queue the write (Chainlit flushes the queue on
    the first message), so opening the app and getting a welcome message doesn't create a thread."""

    @functools.wraps(method)
    async def wrapper(self, *args, **kwargs):
        try:
            session = get_context().session
        except ChainlitContextException:
            session = None
        if isinstance(session, WebsocketSession) and not session.has_first_interaction:
            session.thread_queues.setdefault(method.__name__, deque()).append((method, self, args, kwargs))
            return None
        return await method(self, *args, **kwargs)

    return wrapper


def default_file_url(attachment_id: str) -> str:
    return f"/vtai/files/{attachment_id}"


class VtaiDataLayer(BaseDataLayer):
    def __init__(self, store: Store, *, assistant_name: str = "VT.ai",
                 file_url: Callable[[str], str] = default_file_url, owns_store: bool = False):
        """``file_url(attachment_id)``: where the app serves a stored file (the route must check the user
        via ``store.get_attachment(user_id, id)``). ``owns_store``: close the store in :meth:`close`."""
        self.store = store
        self.assistant_name = assistant_name
        self.file_url = file_url
        self.owns_store = owns_store

    # ---- users ---------------------------------------------------------------------------------------------

    async def get_user(self, identifier: str) -> PersistedUser | None:
        user = await self.store.get_user(identifier)
        return _persisted(user) if user else None

    async def create_user(self, user: User) -> PersistedUser | None:
        stored = await self.store.ensure_user(user.identifier, display_name=user.display_name)
        return _persisted(stored)

    # ---- threads -------------------------------------------------------------------------------------------

    async def get_thread_author(self, thread_id: str) -> str:
        exists, owner = await self.store.thread_owner(thread_id)
        user = await self.store.get_user_by_id(owner) if owner else None
        return user.identifier if user else ""

    async def get_thread(self, thread_id: str) -> ThreadDict | None:
        exists, owner = await self.store.thread_owner(thread_id)
        if not exists:
            return None
        try:
            thread = await self.store.get_thread(owner, thread_id)  # type: ignore[arg-type]
            rows = await self.store.list_messages(owner, thread_id)  # type: ignore[arg-type]
            files = await self.store.list_attachments(owner, thread_id)  # type: ignore[arg-type]
        except NotFoundError:
            return None
        user = await self.store.get_user_by_id(owner) if owner else None
        identifier = user.identifier if user else None
        return ThreadDict(
            id=thread.id, createdAt=iso(thread.created_at) or "", name=thread.name, userId=owner,
            userIdentifier=identifier, tags=thread.tags, metadata=thread.metadata,
            steps=[self._step(m, identifier) for m in rows], elements=[self._element(a) for a in files])

    async def list_threads(self, pagination: Pagination, filters: ThreadFilter) -> PaginatedResponse[ThreadDict]:
        if not filters.userId:
            return PaginatedResponse(PageInfo(False, None, None), [])
        page = int(pagination.cursor) if pagination.cursor and pagination.cursor.isdigit() else 1
        result = await self.store.list_threads(filters.userId, page, pagination.first or 20,
                                               search=filters.search, feedback_value=filters.feedback)
        data = [ThreadDict(id=t.id, createdAt=iso(t.updated_at) or "", name=t.name, userId=t.user_id,
                           userIdentifier=None, tags=t.tags, metadata=t.metadata, steps=[], elements=[])
                for t in result.items]
        return PaginatedResponse(
            PageInfo(result.has_next, str(page) if data else None, str(page + 1) if result.has_next else None),
            data)

    async def update_thread(self, thread_id: str, name: str | None = None, user_id: str | None = None,
                            metadata: dict | None = None, tags: list[str] | None = None) -> None:
        exists, owner = await self.store.thread_owner(thread_id)
        if not exists:
            try:
                await self.store.create_thread(user_id, name, thread_id=thread_id, metadata=metadata or {},
                                               tags=tags or [])
                return
            except StoreError:  # created concurrently by a step
                exists, owner = await self.store.thread_owner(thread_id)
        if owner is None and user_id:
            await self.store.ensure_thread(user_id, thread_id)  # claim: the first owner named wins, forever
            owner = user_id
        if metadata is not None:
            current = await self.store.get_thread(owner, thread_id)  # type: ignore[arg-type]
            metadata = {**current.metadata, **metadata}
        await self.store.update_thread(owner, thread_id, name=name, metadata=metadata,  # type: ignore[arg-type]
                                       tags=tags)

    async def delete_thread(self, thread_id: str) -> None:
        exists, owner = await self.store.thread_owner(thread_id)
        if exists:
            await self.store.delete_thread(owner, thread_id)  # type: ignore[arg-type]

    # ---- steps ---------------------------------------------------------------------------------------------

    @after_first_message
    async def create_step(self, step_dict: StepDict) -> None:
        await self._upsert_step(step_dict)

    @after_first_message
    async def update_step(self, step_dict: StepDict) -> None:
        await self._upsert_step(step_dict)

    @after_first_message
    async def delete_step(self, step_id: str) -> None:
        found = await self.store.message_owner(step_id)
        if found:
            try:
                await self.store.delete_message(found[1], step_id)
            except NotFoundError:
                pass

    async def get_favorite_steps(self, user_id: str) -> list[StepDict]:
        user = await self.store.get_user_by_id(user_id)
        rows = await self.store.favorite_messages(user_id)
        return [self._step(m, user.identifier if user else None) for m in rows]

    async def _upsert_step(self, step: StepDict) -> None:
        kind = step.get("type", "undefined")
        thread_id = step.get("threadId")
        if kind in SKIPPED_TYPES or not thread_id or not step.get("id"):
            return
        exists, owner = await self.store.thread_owner(thread_id)
        if not exists:
            await self.update_thread(thread_id)
        fields = _step_fields(step)
        found = await self.store.message_owner(step["id"])
        if found is None:
            fields.pop("favorite", None)
            try:
                await self.store.add_message(owner, thread_id, fields.pop("role"),  # type: ignore[arg-type]
                                             fields.pop("content", "") or "", message_id=step["id"], **fields)
                return
            except StoreError:  # inserted concurrently (Chainlit fires create/update as separate tasks)
                found = await self.store.message_owner(step["id"])
                if found is None:
                    raise
        if found[0] != thread_id:
            return  # a step id from another thread: never move or overwrite it
        fields.pop("role")
        fields.pop("parent_id", None)  # keep the first writer's (the Recorder links answer → user message)
        if not fields.get("content"):
            fields.pop("content", None)
        fields.pop("created_at", None)
        if fields.get("status") != "error":
            fields.pop("status", None)  # the Recorder owns complete/interrupted
        await self.store.update_message(found[1], step["id"], **fields)  # type: ignore[arg-type]

    # ---- feedback ------------------------------------------------------------------------------------------

    async def upsert_feedback(self, feedback: Feedback) -> str:
        found = await self.store.message_owner(feedback.forId)
        if found is None or found[1] is None:
            raise NotFoundError(f"Message {feedback.forId} not found")
        saved = await self.store.set_feedback(found[1], feedback.forId, int(feedback.value), feedback.comment)
        return saved.id

    async def delete_feedback(self, feedback_id: str) -> bool:
        owner = await self.store.feedback_owner(feedback_id)
        if owner is None:
            return False
        await self.store.delete_feedback(owner, feedback_id)
        return True

    # ---- elements ------------------------------------------------------------------------------------------

    @after_first_message
    async def create_element(self, element: Element) -> None:
        exists, owner = await self.store.thread_owner(element.thread_id)
        if not exists:
            await self.update_thread(element.thread_id)
        content = element.content.encode() if isinstance(element.content, str) else element.content
        meta = {"type": element.type, "display": element.display, "url": element.url,
                "size": getattr(element, "size", None), "language": element.language,
                "page": getattr(element, "page", None), "props": getattr(element, "props", None),
                "autoPlay": getattr(element, "auto_play", None)}
        await self.store.add_attachment(
            owner, element.thread_id, element.name or "file", element.mime or "application/octet-stream",  # type: ignore[arg-type]
            data=content if not element.path else None, source=element.path or None,
            message_id=element.for_id, attachment_id=element.id, meta=meta)

    async def get_element(self, thread_id: str, element_id: str) -> ElementDict | None:
        exists, owner = await self.store.thread_owner(thread_id)
        if not exists:
            return None
        try:
            att = await self.store.get_attachment(owner, element_id)  # type: ignore[arg-type]
        except NotFoundError:
            return None
        return self._element(att) if att.thread_id == thread_id else None

    @after_first_message
    async def delete_element(self, element_id: str, thread_id: str | None = None) -> None:
        owner = None
        if thread_id:
            owner = (await self.store.thread_owner(thread_id))[1]
        try:
            await self.store.delete_attachment(owner, element_id)  # type: ignore[arg-type]
        except NotFoundError:
            pass

    # ---- misc ----------------------------------------------------------------------------------------------

    async def build_debug_url(self) -> str:
        return ""

    async def close(self) -> None:
        if self.owns_store:
            await self.store.close()

    def _step(self, m: StoredMessage, identifier: str | None) -> StepDict:
        kind = m.meta.get("step_type") or {"user": "user_message", "assistant": "assistant_message"}.get(
            m.role, "undefined")
        default_name = (identifier or "User") if m.role == "user" else self.assistant_name
        step = StepDict(
            id=m.id, threadId=m.thread_id, parentId=m.parent_id, type=kind,
            name=m.meta.get("step_name") or default_name, output=m.content, input=m.meta.get("input", ""),
            createdAt=iso(m.created_at), start=iso(m.created_at), end=iso(m.created_at),
            metadata={**(m.meta.get("cl_metadata") or {}), "favorite": m.favorite, "status": m.status},
            isError=m.status == "error", streaming=False, showInput=m.meta.get("showInput"),
            language=m.meta.get("language"), defaultOpen=m.meta.get("defaultOpen", False), tags=None)
        if m.feedback:
            step["feedback"] = {"forId": m.id, "id": m.feedback.id, "value": m.feedback.value,
                                "comment": m.feedback.comment}
        return step

    def _element(self, a: Attachment) -> ElementDict:
        meta = a.meta
        return ElementDict(
            id=a.id, threadId=a.thread_id, type=meta.get("type") or _type_from_mime(a.mime), name=a.name,
            url=meta.get("url") or (self.file_url(a.id) if a.path else None), path=None, objectKey=None,
            chainlitKey=None, display=meta.get("display") or "inline", size=meta.get("size"),
            language=meta.get("language"), page=meta.get("page"), props=meta.get("props"),
            autoPlay=meta.get("autoPlay"), playerConfig=None, forId=a.message_id, mime=a.mime)


def _step_fields(step: StepDict) -> dict[str, Any]:
    kind = step.get("type", "undefined")
    role = MESSAGE_ROLES.get(kind, "step")
    meta: dict[str, Any] = {"step_name": step.get("name"), "step_type": kind,
                            "cl_metadata": {k: v for k, v in (step.get("metadata") or {}).items()
                                            if k != "favorite"},
                            "language": step.get("language"), "showInput": step.get("showInput"),
                            "defaultOpen": step.get("defaultOpen")}
    if role == "step":
        meta["input"] = step.get("input") or ""
    fields: dict[str, Any] = {"role": role, "content": step.get("output") or "", "meta": meta,
                              "parent_id": step.get("parentId")}
    if step.get("isError"):
        fields["status"] = "error"
    if "favorite" in (step.get("metadata") or {}):
        fields["favorite"] = bool(step["metadata"]["favorite"])
    return fields


def _type_from_mime(mime: str) -> str:
    if mime.startswith("image/"):
        return "image"
    if mime.startswith("audio/"):
        return "audio"
    if mime.startswith("video/"):
        return "video"
    return "pdf" if mime == "application/pdf" else "file"


def _persisted(user: Any) -> PersistedUser:
    return PersistedUser(id=user.id, identifier=user.identifier, display_name=user.display_name,
                         metadata=user.metadata, createdAt=iso(user.created_at) or "")
