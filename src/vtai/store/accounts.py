"""Users and API keys (a mixin of :class:`vtai.store.Store`)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from vtai.errors import InputError, NotFoundError

from . import auth
from .models import ApiKey, User
from .schema import api_keys, users

LOCAL_USER = "local"


class AccountsMixin:
    async def create_user(self, identifier: str, password: str | None = None, *,
                          display_name: str | None = None, metadata: dict | None = None) -> User:
        identifier = auth.check_identifier(identifier)
        pw_hash = await asyncio.to_thread(auth.hash_password, password) if password is not None else None
        row = {"id": str(uuid.uuid4()), "identifier": identifier, "password_hash": pw_hash,
               "display_name": display_name, "metadata": metadata or {}, "created_at": time.time()}
        try:
            async with self.tx() as conn:
                await conn.execute(insert(users).values(**row))
        except IntegrityError as exc:
            raise InputError(f"User {identifier!r} already exists") from exc
        return _user(row)

    async def get_user(self, identifier: str) -> User | None:
        async with self.tx() as conn:
            row = (await conn.execute(select(users).where(users.c.identifier == identifier))).first()
        return _user(row._mapping) if row else None

    async def get_user_by_id(self, user_id: str) -> User | None:
        async with self.tx() as conn:
            row = (await conn.execute(select(users).where(users.c.id == user_id))).first()
        return _user(row._mapping) if row else None

    async def ensure_user(self, identifier: str, *, display_name: str | None = None) -> User:
        """Get or create a password-less user (the local user, header-auth and OAuth users)."""
        user = await self.get_user(identifier)
        if user is None:
            try:
                user = await self.create_user(identifier, display_name=display_name)
            except InputError:  # created concurrently
                user = await self.get_user(identifier)
        assert user is not None
        return user

    async def list_users(self) -> list[User]:
        async with self.tx() as conn:
            rows = (await conn.execute(select(users).order_by(users.c.identifier))).all()
        return [_user(r._mapping) for r in rows]

    async def delete_user(self, identifier: str) -> None:
        """Delete the user with their threads, messages, keys and files."""
        user = await self.get_user(identifier)
        if user is None:
            raise NotFoundError(f"User {identifier!r} not found")
        for thread in await self._all_thread_ids(user.id):
            await self.delete_thread(user.id, thread)
        async with self.tx() as conn:
            await conn.execute(delete(users).where(users.c.id == user.id))
        self.remove_user_files(user.id)

    async def _all_thread_ids(self, user_id: str) -> list[str]:
        from .schema import threads

        async with self.tx() as conn:
            return list((await conn.execute(select(threads.c.id).where(threads.c.user_id == user_id))).scalars())

    async def set_password(self, identifier: str, password: str) -> None:
        pw_hash = await asyncio.to_thread(auth.hash_password, password)
        async with self.tx() as conn:
            result = await conn.execute(update(users).where(users.c.identifier == identifier)
                                        .values(password_hash=pw_hash))
        if result.rowcount == 0:
            raise NotFoundError(f"User {identifier!r} not found")

    async def authenticate(self, identifier: str, password: str) -> User | None:
        """The user if the password matches, else None (same work and answer for unknown users)."""
        async with self.tx() as conn:
            row = (await conn.execute(select(users).where(users.c.identifier == identifier))).first()
        encoded = row.password_hash if row else None
        ok = await asyncio.to_thread(auth.verify_password, password, encoded)
        return _user(row._mapping) if ok and row else None

    # ---- API keys (for the HTTP API) ------------------------------------------------------------------------

    async def create_api_key(self, user_id: str, name: str) -> tuple[ApiKey, str]:
        """A new key for ``user_id``: returns the record and the plaintext key (shown once, never stored)."""
        if await self.get_user_by_id(user_id) is None:
            raise NotFoundError(f"User {user_id} not found")
        plaintext = auth.new_api_key()
        row = {"id": str(uuid.uuid4()), "user_id": user_id, "name": name.strip() or "key",
               "key_hash": auth.hash_api_key(plaintext), "prefix": plaintext[:12], "created_at": time.time(),
               "revoked_at": None, "last_used_at": None}
        async with self.tx() as conn:
            await conn.execute(insert(api_keys).values(**row))
        return _key(row), plaintext

    async def list_api_keys(self, user_id: str) -> list[ApiKey]:
        async with self.tx() as conn:
            rows = (await conn.execute(select(api_keys).where(api_keys.c.user_id == user_id)
                                       .order_by(api_keys.c.created_at))).all()
        return [_key(r._mapping) for r in rows]

    async def revoke_api_key(self, user_id: str, key_id: str) -> None:
        async with self.tx() as conn:
            result = await conn.execute(
                update(api_keys).where(api_keys.c.id == key_id, api_keys.c.user_id == user_id,
                                       api_keys.c.revoked_at.is_(None)).values(revoked_at=time.time()))
        if result.rowcount == 0:
            raise NotFoundError(f"API key {key_id} not found")

    async def verify_api_key(self, plaintext: str) -> User | None:
        """The owner of a valid, unrevoked key, else None. Looked up by hash (the hash is the index)."""
        if not plaintext.startswith(auth.API_KEY_PREFIX):
            return None
        key_hash = auth.hash_api_key(plaintext)
        query = (select(users, api_keys.c.id.label("key_id")).join(api_keys, api_keys.c.user_id == users.c.id)
                 .where(api_keys.c.key_hash == key_hash, api_keys.c.revoked_at.is_(None)))
        async with self.tx() as conn:
            row = (await conn.execute(query)).first()
            if row is None:
                return None
            await conn.execute(update(api_keys).where(api_keys.c.id == row.key_id)
                               .values(last_used_at=time.time()))
        return _user(row._mapping)


def _user(m: Any) -> User:
    return User(id=m["id"], identifier=m["identifier"], display_name=m["display_name"],
                metadata=m["metadata"] or {}, created_at=m["created_at"], has_password=bool(m["password_hash"]))


def _key(m: Any) -> ApiKey:
    return ApiKey(id=m["id"], user_id=m["user_id"], name=m["name"], prefix=m["prefix"],
                  created_at=m["created_at"], revoked_at=m["revoked_at"], last_used_at=m["last_used_at"])
