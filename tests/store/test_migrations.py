"""Migrations: from empty, from the previous schema version, and refusal of what we must not touch."""

from __future__ import annotations

import sqlite3

import pytest
from alembic import command
from sqlalchemy import inspect, text

from vtai.errors import StoreError
from vtai.store import Store, migrate


async def _revision(store: Store) -> str:
    async with store.engine.connect() as conn:
        return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()


async def _columns(store: Store, table: str) -> set[str]:
    async with store.engine.connect() as conn:
        return await conn.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns(table)})


async def test_empty_database_reaches_head(store):
    assert await _revision(store) == migrate.head_revision() == "0003"
    assert "favorite" in await _columns(store, "messages")


async def test_reopening_is_a_no_op(db):
    s = await db.open()
    u = await s.create_user("x")
    await s.close()
    s = await db.open()
    assert (await s.get_user("x")).id == u.id
    await s.close()


async def test_upgrade_from_v1_keeps_data(db):
    engine = migrate.make_engine(db.url, schema=db.schema)
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: command.upgrade(migrate._alembic_config(c), "0001"))
        await conn.execute(text("INSERT INTO users (id, identifier, created_at) VALUES ('u1', 'old', 1)"))
        await conn.execute(text("INSERT INTO threads (id, user_id, name, created_at, updated_at) "
                                "VALUES ('t1', 'u1', 'Old thread', 1, 1)"))
        await conn.execute(text("INSERT INTO messages (id, thread_id, role, content, status, created_at) "
                                "VALUES ('m1', 't1', 'user', 'remember the aardvark', 'complete', 1)"))
    await engine.dispose()

    s = await db.open()
    try:
        assert await _revision(s) == "0003"
        assert "last_used_at" in await _columns(s, "api_keys")
        (msg,) = await s.list_messages("u1", "t1")
        assert (msg.content, msg.favorite) == ("remember the aardvark", False)
        assert [t.id for t in (await s.search("u1", "aardvark")).items] == ["t1"]  # v1 index still serves
        await s.update_message("u1", "m1", favorite=True)
        assert [m.id for m in await s.favorite_messages("u1")] == ["m1"]
    finally:
        await s.close()


async def test_future_schema_version_is_refused_untouched(db):
    s = await db.open()
    await s.create_user("keep-me")
    async with s.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    await s.close()
    with pytest.raises(StoreError, match="newer than this VT.ai"):
        await db.open()
    engine = migrate.make_engine(db.url, schema=db.schema)
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one() == "9999"
        assert (await conn.execute(text("SELECT identifier FROM users"))).scalar_one() == "keep-me"
    await engine.dispose()


async def test_foreign_database_is_refused(db):
    engine = migrate.make_engine(db.url, schema=db.schema)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
    await engine.dispose()
    with pytest.raises(StoreError, match="no VT.ai schema version"):
        await db.open()


async def test_corrupt_sqlite_file_is_refused_untouched(tmp_path):
    path = tmp_path / "vtai.db"
    garbage = b"this is not a database " * 500
    path.write_bytes(garbage)
    with pytest.raises(StoreError, match="corrupt or not a SQLite database"):
        await Store.open(f"sqlite+aiosqlite:///{path}")
    assert path.read_bytes() == garbage


async def test_sqlite_file_and_folder_are_created(tmp_path):
    path = tmp_path / "deep" / "er" / "vtai.db"
    s = await Store.open(f"sqlite+aiosqlite:///{path}")
    await s.close()
    assert path.is_file() and s.files_dir == path.parent / "files"
    assert path.stat().st_mode & 0o777 == 0o600
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("url, message", [
    ("postgresql+asyncpg://postgres@127.0.0.1:1/test", "Cannot open the database postgresql"),
    ("sqlite+aiosqlite:////proc/no-such-dir/vtai.db", "Cannot create the folder"),
])
async def test_unreachable_database_is_a_clear_store_error(url, message):
    with pytest.raises(StoreError, match=message):
        await Store.open(url)


@pytest.mark.parametrize("durable", [False, True])
async def test_commit_mode(db, durable):
    s = await Store.open(db.url, files_dir=db.files_dir, schema=db.schema, durable=durable)
    try:
        async with s.engine.connect() as conn:
            if db.kind == "sqlite":
                value = (await conn.execute(text("PRAGMA synchronous"))).scalar_one()
                assert value == (2 if durable else 1)  # FULL / NORMAL
            else:
                value = (await conn.execute(text("SHOW synchronous_commit"))).scalar_one()
                assert value == ("on" if durable else "off")
    finally:
        await s.close()
