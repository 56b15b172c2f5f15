"""Full-text search over a user's threads, done by the database.

SQLite: an FTS5 index on ``messages.content`` kept current by triggers (migration 0001). PostgreSQL: a
generated ``tsvector`` column with a GIN index. Both match every word of the query as a prefix within one
message; thread names match by substring on SQLite and by word prefix (GIN) on PostgreSQL. Only the
matching page of threads comes back to Python.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, FromClause, Subquery, exists, func, literal_column, or_, select, text

from .schema import messages, threads

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 12


def terms(query: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(query)][:MAX_TERMS]


def _like_pattern(query: str) -> str:
    escaped = query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matching(dialect: str, query: str, t: FromClause = threads) -> ColumnElement[bool]:
    """A condition on ``t`` (``threads`` or a subquery of it) true when the thread's name or any of its
    messages matches ``query``."""
    words = terms(query)
    name_like = t.c.name.ilike(_like_pattern(query), escape="\\")
    if not words:
        return name_like
    if dialect == "sqlite":
        fts_query = " ".join(f'"{w}"*' for w in words)
        hits = select(messages.c.thread_id).where(
            messages.c.seq.in_(
                select(text("rowid")).select_from(text("messages_fts")).where(
                    text("messages_fts MATCH :fts_q").bindparams(fts_q=fts_query)
                )
            )
        )
        return or_(t.c.id.in_(hits), name_like)
    if dialect == "postgresql":
        # EXISTS lets PostgreSQL choose per plan between one hashed pass over the GIN matches (rare words)
        # and probing thread by thread, newest first, stopping at the page (frequent words, in a window).
        ts_query = " & ".join(f"{w}:*" for w in words)
        in_messages = exists().where(
            messages.c.thread_id == t.c.id,
            text("messages.tsv @@ to_tsquery('simple', :ts_q)").bindparams(ts_q=ts_query))
        name_match = literal_column(f"{t.name}.name_tsv").op("@@")(func.to_tsquery("simple", ts_query))
        return or_(in_messages, name_match)
    hits = select(messages.c.thread_id).where(  # other databases: correct but unindexed
        *[messages.c.content.ilike(_like_pattern(w), escape="\\") for w in words])
    return or_(t.c.id.in_(hits), name_like)


def recent_window(user_id: str, size: int, dialect: str) -> Subquery:
    """The user's ``size`` most recently updated threads (with ``name_tsv`` on PostgreSQL)."""
    extra = [literal_column("threads.name_tsv").label("name_tsv")] if dialect == "postgresql" else []
    return (select(threads, *extra).where(threads.c.user_id == user_id)
            .order_by(threads.c.updated_at.desc(), threads.c.id.desc()).limit(size).subquery("recent"))
