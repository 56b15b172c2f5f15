"""Store fixtures: every test runs on SQLite and, when VTAI_TEST_POSTGRES_URL is set, on PostgreSQL in a
fresh schema that is dropped afterwards."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from vtai.store import Store

PG_URL = os.environ.get("VTAI_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)] if PG_URL else ["sqlite"]


@dataclass
class Db:
    kind: str
    url: str
    schema: str | None
    files_dir: Path

    async def open(self) -> Store:
        return await Store.open(self.url, files_dir=self.files_dir, schema=self.schema)


@pytest.fixture(params=BACKENDS)
async def db(request, tmp_path):
    if request.param == "sqlite":
        yield Db("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'db' / 'vtai.db'}", None, tmp_path / "files")
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(PG_URL)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield Db("postgres", PG_URL, schema, tmp_path / "files")
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
async def store(db):
    s = await db.open()
    yield s
    await s.close()


@pytest.fixture
async def alice(store):
    return await store.create_user("alice", "correct horse")


@pytest.fixture
async def bob(store):
    return await store.create_user("bob", "battery staple")
