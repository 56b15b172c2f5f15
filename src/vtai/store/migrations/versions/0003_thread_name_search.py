"""v3: PostgreSQL indexes thread names for full-text search (a generated tsvector + GIN), so a search that
matches no message doesn't fall back to scanning every thread name. SQLite keeps LIKE on names: one user's
names are scanned through ix_threads_user_updated, and SQLite has no cheap way to key an FTS table on a text id.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE threads ADD COLUMN name_tsv tsvector"
                   " GENERATED ALWAYS AS (to_tsvector('simple', coalesce(name, ''))) STORED")
        op.execute("CREATE INDEX ix_threads_name_tsv ON threads USING GIN (name_tsv)")
