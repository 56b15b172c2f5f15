"""Attachments: bytes on disk under ``<files_dir>/<user id>/<thread id>/``, rows in ``attachments``
(a mixin of :class:`vtai.store.Store`). The folder uses the user's id, never the login name, so no
user-chosen text reaches a path; file names are reduced to a safe basename."""

from __future__ import annotations

import asyncio
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select

from vtai.errors import NotFoundError, StoreError

from .models import Attachment
from .schema import attachments, threads

_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def safe_name(name: str) -> str:
    base = _UNSAFE.sub("_", Path(name or "file").name).strip("._") or "file"
    return base[:100]


class FilesMixin:
    files_dir: Path | None

    def _files_root(self) -> Path:
        if self.files_dir is None:
            raise StoreError("No files folder configured for attachments (pass files_dir to Store.open)")
        return self.files_dir

    def thread_files_dir(self, user_id: str | None, thread_id: str) -> Path | None:
        if self.files_dir is None:
            return None
        return self.files_dir / safe_name(user_id or "_unowned") / safe_name(thread_id)

    def remove_user_files(self, user_id: str) -> None:
        if self.files_dir is not None:
            shutil.rmtree(self.files_dir / safe_name(user_id), ignore_errors=True)

    async def add_attachment(self, user_id: str, thread_id: str, name: str, mime: str, *,
                             data: bytes | None = None, source: str | Path | None = None,
                             message_id: str | None = None, attachment_id: str | None = None,
                             meta: dict | None = None) -> Attachment:
        """Store ``data`` (or a copy of the file at ``source``) for one of the user's threads."""
        if data is not None and source is not None:
            raise TypeError("add_attachment takes data= or source=, not both")
        await self.get_thread(user_id, thread_id)
        att_id = attachment_id or str(uuid.uuid4())
        folder = self.thread_files_dir(user_id, thread_id) or self._files_root()
        target = folder / f"{safe_name(att_id)}-{safe_name(name)}"
        if data is None and source is None:  # a link only (meta["url"]): nothing on disk
            size, rel = 0, ""
        else:
            size = await asyncio.to_thread(_write, target, data, Path(source) if source else None)
            rel = str(target.relative_to(self._files_root()))
        row = {"id": att_id, "thread_id": thread_id, "message_id": message_id, "name": name[:255],
               "mime": mime or "application/octet-stream", "size": size,
               "path": rel, "meta": meta or {},
               "created_at": time.time()}
        try:
            async with self.tx() as conn:
                await conn.execute(insert(attachments).values(**row))
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        return self._attachment(row)

    async def get_attachment(self, user_id: str, attachment_id: str) -> Attachment:
        query = (select(attachments).join(threads, threads.c.id == attachments.c.thread_id)
                 .where(attachments.c.id == attachment_id, threads.c.user_id == user_id))
        async with self.tx() as conn:
            row = (await conn.execute(query)).first()
        if row is None:
            raise NotFoundError(f"File {attachment_id} not found")
        return self._attachment(row._mapping)

    async def list_attachments(self, user_id: str, thread_id: str) -> list[Attachment]:
        query = (select(attachments).join(threads, threads.c.id == attachments.c.thread_id)
                 .where(attachments.c.thread_id == thread_id, threads.c.user_id == user_id)
                 .order_by(attachments.c.created_at))
        async with self.tx() as conn:
            rows = (await conn.execute(query)).all()
            if not rows:
                await self._require_thread(conn, user_id, thread_id)
        return [self._attachment(r._mapping) for r in rows]

    async def delete_attachment(self, user_id: str, attachment_id: str) -> None:
        att = await self.get_attachment(user_id, attachment_id)
        async with self.tx() as conn:
            await conn.execute(delete(attachments).where(attachments.c.id == attachment_id))
        if att.path:
            Path(att.path).unlink(missing_ok=True)

    def _attachment(self, m: Any) -> Attachment:
        return Attachment(id=m["id"], thread_id=m["thread_id"], message_id=m["message_id"], name=m["name"],
                          mime=m["mime"], size=m["size"],
                          path=str(self._files_root() / m["path"]) if m["path"] else "",
                          created_at=m["created_at"], meta=m["meta"] or {})


def _write(target: Path, data: bytes | None, source: Path | None) -> int:
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if source is not None:
        if not source.is_file():
            raise NotFoundError(f"File {source} not found")
        shutil.copyfile(source, target)
    else:
        target.write_bytes(data or b"")
    return target.stat().st_size
