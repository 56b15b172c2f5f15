"""Alembic environment: runs on the connection :func:`vtai.store.migrate.upgrade` hands over (never from a URL)."""

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
