"""Persistence: threads, messages, users, feedback, files and API keys on SQLite or PostgreSQL.

    store = await Store.open("sqlite+aiosqlite:///path/vtai.db", files_dir=home / "files")
    thread = await store.create_thread(user.id, "Trip")
    await store.add_message(user.id, thread.id, "user", "Hello")

Every method that touches user data takes ``user_id`` first and enforces it in SQL. The Chainlit data
layer lives in :mod:`vtai.ui.data_layer` (imported only by the UI, since it imports chainlit).
"""

from .accounts import LOCAL_USER
from .auth import ensure_auth_secret, hash_password, header_identity, verify_password
from .models import ApiKey, Attachment, Feedback, Page, StoredMessage, Thread, User
from .recorder import Recorder, to_engine_messages
from .store import Store

__all__ = [
    "LOCAL_USER", "ApiKey", "Attachment", "Feedback", "Page", "Recorder", "Store", "StoredMessage", "Thread",
    "User", "ensure_auth_secret", "hash_password", "header_identity", "to_engine_messages", "verify_password",
]
