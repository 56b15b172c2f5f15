"""Full-text search over a user's threads, done by the database.

SQLite: an FTS5 index on ``messages.content`` kept current by triggers (migration 0001). PostgreSQL: a
generated ``tsvector`` column with a GIN index. Both match every word of the query as a prefix within one
message; thread names match by substring on SQLite and by word prefix (GIN) on PostgreSQL. Only the
matching page of threads comes back to Python.
"""

from __future__ import annotations

import re

from sqlalchemy import ColumnElement, or_, select, text

from .schema import messages, threads

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_TERMS = 12


def terms(query: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(query)][:MAX_TERMS]


def _like_pattern(query: str) -> str:
    escaped = query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def matching(dialect: str, query: str) -> ColumnElement[bool]:
    """A condition on ``threads``: the name or any message matches ``query``."""
    words = terms(query)
    name_like = threads.c.name.ilike(_like_pattern(query), escape="\\")
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
        return or_(threads.c.id.in_(hits), name_like)
    if dialect == "postgresql":
        # Messages through their GIN index (a hashed subplan), names through the GIN-indexed column of the
        # user's own rows (migration 0003).
        ts_query = " & ".join(f"{w}:*" for w in words)
        hits = select(messages.c.thread_id).where(
            text("messages.tsv @@ to_tsquery('simple', :ts_q)").bindparams(ts_q=ts_query))
        name_match = text("threads.name_tsv @@ to_tsquery('simple', :ts_q2)").bindparams(ts_q2=ts_query)
        return or_(threads.c.id.in_(hits), name_match)
    hits = select(messages.c.thread_id).where(  # other databases: correct but unindexed
        *[messages.c.content.ilike(_like_pattern(w), escape="\\") for w in words])
    return or_(threads.c.id.in_(hits), name_like)
