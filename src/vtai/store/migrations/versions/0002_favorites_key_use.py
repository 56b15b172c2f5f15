"""v2: favourite messages (Chainlit's star) and when an API key was last used.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("favorite", sa.Boolean, nullable=False, server_default=sa.false()))
    op.add_column("api_keys", sa.Column("last_used_at", sa.Float))
    op.create_index("ix_feedback_user", "feedback", ["user_id"])
