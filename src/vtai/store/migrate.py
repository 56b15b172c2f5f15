"""Opening a database safely: engine set-up per dialect and Alembic migrations on start.

Rules: an empty database is brought to the head revision; an older VT.ai schema is upgraded in one
transaction (PostgreSQL: under an advisory lock, so replicas starting together don't race); a database whose
revision this VT.ai doesn't know (written by a newer version), a database with foreign tables and no VT.ai
revision, or a file that isn't SQLite → :class:`StoreError`. Nothing is ever dropped or recreated.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from vtai.errors import StoreError

MIGRATIONS = Path(__file__).parent / "migrations"
_ADVISORY_LOCK = 0x7674_6169  # "vtai"


def _alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head() or ""


def make_engine(url: str, *, schema: str | None = None, durable: bool = False) -> AsyncEngine:
    """An async engine with the settings VT.ai relies on (SQLite: WAL, foreign keys, real transactions)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db != ":memory:":
            try:
                path = Path(db).expanduser()
                path.parent.mkdir(parents=True, exist_ok=True)
                # Conversations and password hashes: readable by the owner only (SQLite gives its -wal and
                # -shm files the main file's permissions).
                os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
            except OSError as exc:
                raise StoreError(f"Cannot create the folder for the database {db}: {exc}") from exc
        # Every use is engine.begin() (commit or rollback), so the pool's reset-rollback is a wasted hop.
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_reset_on_return=None)
        _sqlite_pragmas(engine, in_memory=not db or db == ":memory:", durable=durable)
        return engine
    # ``?schema=name`` in a PostgreSQL URL selects the schema (search_path), like the ``schema`` argument.
    schema = schema or parsed.query.get("schema")  # type: ignore[assignment]
    parsed = parsed.difference_update_query(["schema"])
    server_settings = {"search_path": schema} if schema else {}
    if not durable:  # see Store.open: same guarantee as SQLite's WAL/NORMAL, no fsync wait per commit
        server_settings["synchronous_commit"] = "off"
    connect_args = {"server_settings": server_settings}
    # No pre-ping (a round trip per checkout); a dropped connection invalidates the pool on first error.
    return create_async_engine(parsed, connect_args=connect_args, pool_recycle=1800, pool_reset_on_return=None)


def _sqlite_pragmas(engine: AsyncEngine, *, in_memory: bool, durable: bool) -> None:
    # SQLAlchemy's recipe for true SQLite transactions (DDL included): let the driver autocommit and emit
    # BEGIN ourselves, so a migration or an import either happens whole or not at all.
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a killed process loses nothing committed; only a power cut may lose the last commits.
        cursor.execute("PRAGMA synchronous=FULL" if durable else "PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    # IMMEDIATE: take the write lock up front. A deferred transaction that reads and then writes can fail at
    # once with "database is locked" when another writer got in between (busy_timeout can't help there); an
    # immediate one waits its turn. Seen in the 200-conversation soak.
    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


async def upgrade(engine: AsyncEngine) -> str:
    """Bring the database to the head revision; returns the revision it was at before ("" if empty)."""
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(_upgrade_sync)
    except StoreError:
        raise
    except (OperationalError, DBAPIError, OSError) as exc:  # OSError: asyncpg can't connect at all
        raise StoreError(_describe(engine, exc)) from exc


def _upgrade_sync(conn: Connection) -> str:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK})
    script = ScriptDirectory.from_config(_alembic_config())
    current = MigrationContext.configure(conn).get_current_revision()
    if current is None:
        tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
        if tables:
            raise StoreError(
                f"The database has tables ({', '.join(sorted(tables)[:5])}) but no VT.ai schema version; "
                "refusing to touch it. Point VTAI_DATABASE_URL at an empty or VT.ai database."
            )
    else:
        known = {rev.revision for rev in script.walk_revisions()}
        if current not in known:
            raise StoreError(
                f"The database schema version '{current}' is newer than this VT.ai understands "
                f"(latest known: '{script.get_current_head()}'). Upgrade VT.ai; the database was not changed."
            )
    if current != script.get_current_head():
        command.upgrade(_alembic_config(conn), "head")
    return current or ""


def _describe(engine: AsyncEngine, exc: Exception) -> str:
    url = engine.url.render_as_string(hide_password=True)
    detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    if engine.url.get_backend_name() == "sqlite" and (
        "not a database" in detail or "malformed" in detail or "corrupt" in detail
    ):
        return (f"The database file {engine.url.database} is corrupt or not a SQLite database ({detail}). "
                "It was left untouched: restore it from a backup or move it away to start afresh.")
    return f"Cannot open the database {url}: {detail}"
