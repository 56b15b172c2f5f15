"""Users, passwords, API keys and the auth helpers."""

from __future__ import annotations

import stat

import pytest

from vtai.errors import InputError, NotFoundError
from vtai.store import ensure_auth_secret, hash_password, header_identity, verify_password


async def test_users_and_passwords(store):
    u = await store.create_user("carol", "s3cret-pass", display_name="Carol")
    assert u.has_password and u.display_name == "Carol"
    assert (await store.authenticate("carol", "s3cret-pass")).id == u.id
    assert await store.authenticate("carol", "wrong-pass") is None
    assert await store.authenticate("nobody", "s3cret-pass") is None
    await store.set_password("carol", "new-password")
    assert await store.authenticate("carol", "s3cret-pass") is None
    assert (await store.authenticate("carol", "new-password")).identifier == "carol"
    with pytest.raises(InputError):
        await store.create_user("carol", "another-pass")
    with pytest.raises(InputError):
        await store.create_user("bad name/../x", "password1")
    with pytest.raises(NotFoundError):
        await store.set_password("nobody", "password1")


async def test_passwordless_user_cannot_log_in_with_password(store):
    await store.ensure_user("local")
    assert await store.authenticate("local", "") is None
    assert await store.authenticate("local", "anything-at-all") is None
    assert (await store.ensure_user("local")).identifier == "local"
    assert [u.identifier for u in await store.list_users()] == ["local"]


async def test_delete_user_removes_their_threads_and_files(store, alice, bob, db):
    t = await store.create_thread(alice.id)
    await store.add_attachment(alice.id, t.id, "f.txt", "text/plain", data=b"x")
    keep = await store.create_thread(bob.id, "bob's")
    await store.delete_user("alice")
    assert await store.get_user("alice") is None
    assert not (db.files_dir / alice.id).exists()
    assert (await store.get_thread(bob.id, keep.id)).name == "bob's"
    with pytest.raises(NotFoundError):
        await store.delete_user("alice")


async def test_api_keys(store, alice, bob):
    key, plaintext = await store.create_api_key(alice.id, "laptop")
    assert plaintext.startswith("vtai-") and key.prefix == plaintext[:12] and len(plaintext) > 40
    assert (await store.verify_api_key(plaintext)).id == alice.id
    assert await store.verify_api_key(plaintext + "x") is None
    assert await store.verify_api_key("sk-whatever") is None
    listed = await store.list_api_keys(alice.id)
    assert [k.name for k in listed] == ["laptop"] and listed[0].last_used_at is not None
    assert await store.list_api_keys(bob.id) == []
    with pytest.raises(NotFoundError):
        await store.revoke_api_key(bob.id, key.id)  # not Bob's
    await store.revoke_api_key(alice.id, key.id)
    assert await store.verify_api_key(plaintext) is None
    with pytest.raises(NotFoundError):
        await store.revoke_api_key(alice.id, key.id)


def test_password_hash_is_salted_scrypt():
    a, b = hash_password("hunter2-hunter2"), hash_password("hunter2-hunter2")
    assert a != b and a.startswith("scrypt$16384$8$1$")
    assert verify_password("hunter2-hunter2", a) and not verify_password("hunter2-hunter3", a)
    assert not verify_password("x", None) and not verify_password("x", "garbage")
    with pytest.raises(InputError):
        hash_password("short")


def test_header_identity():
    assert header_identity({"X-Forwarded-User": "dana@example.com"}, "x-forwarded-user") == "dana@example.com"
    assert header_identity({"x-forwarded-user": ""}, "X-Forwarded-User") is None
    assert header_identity({}, "X-Forwarded-User") is None
    assert header_identity({"X-Forwarded-User": "../../etc"}, "X-Forwarded-User") is None


def test_auth_secret_is_generated_once_and_private(tmp_path):
    (tmp_path / ".env").write_text("VTAI_MODEL=gpt-4o-mini")  # no trailing newline
    secret = ensure_auth_secret(tmp_path)
    assert len(secret) >= 40
    assert ensure_auth_secret(tmp_path) == secret
    text = (tmp_path / ".env").read_text()
    assert text == f"VTAI_MODEL=gpt-4o-mini\nCHAINLIT_AUTH_SECRET={secret}\n"
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600
    fresh = tmp_path / "new-home"
    assert ensure_auth_secret(fresh) != secret and stat.S_IMODE((fresh / ".env").stat().st_mode) == 0o600
