"""Table definitions at the current schema head, used by the store's queries.

The migrations in ``migrations/versions`` create these tables; this module only describes them. Times are
UTC epoch seconds (floats) so that SQLite and PostgreSQL sort and compare them the same way.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# An explicit integer key on messages: SQLite's FTS5 index refers to rows by rowid, and VACUUM may renumber
# implicit rowids. On SQLite this column *is* the rowid.
SEQ = BigInteger().with_variant(Integer(), "sqlite")

users = Table(
    "users", metadata,
    Column("id", String(36), primary_key=True),
    Column("identifier", String(255), nullable=False, unique=True),
    Column("password_hash", String(255)),
    Column("display_name", String(255)),
    Column("metadata", JSON),
    Column("created_at", Float, nullable=False),
)

threads = Table(
    "threads", metadata,
    Column("id", String(64), primary_key=True),
    # NULL only briefly: Chainlit may write a thread's first step before it names the owner.
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE")),
    Column("name", String(255)),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("metadata", JSON),
    Column("tags", JSON),
)

messages = Table(
    "messages", metadata,
    Column("seq", SEQ, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("thread_id", String(64), ForeignKey("threads.id", ondelete="CASCADE"), nullable=False),
    Column("parent_id", String(64)),
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False, default=""),
    Column("parts", JSON),
    Column("meta", JSON),
    Column("route", String(64)),
    Column("model", String(255)),
    Column("prompt_tokens", Integer),
    Column("completion_tokens", Integer),
    Column("cost_usd", Float),
    Column("status", String(16), nullable=False, default="complete"),
    Column("created_at", Float, nullable=False),
    Column("favorite", Boolean, nullable=False, default=False),  # v2
)

feedback = Table(
    "feedback", metadata,
    Column("id", String(36), primary_key=True),
    Column("message_id", String(64), ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("value", Integer, nullable=False),
    Column("comment", Text),
    Column("created_at", Float, nullable=False),
)

attachments = Table(
    "attachments", metadata,
    Column("id", String(64), primary_key=True),
    Column("thread_id", String(64), ForeignKey("threads.id", ondelete="CASCADE"), nullable=False),
    Column("message_id", String(64)),  # no FK: Chainlit may send an element before its step
    Column("name", String(255), nullable=False),
    Column("mime", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("path", Text, nullable=False),  # relative to the files folder
    Column("meta", JSON),
    Column("created_at", Float, nullable=False),
)

api_keys = Table(
    "api_keys", metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("key_hash", String(128), nullable=False, unique=True),
    Column("prefix", String(32), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
    Column("last_used_at", Float),  # v2
)
