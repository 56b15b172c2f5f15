"""`vtai threads …` and `vtai users …` through click's runner: the transcript, then the stored rows."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from vtai.cli.threads import threads
from vtai.cli.users import users
from vtai.settings import load_settings
from vtai.store import Store

from .conftest import BACKENDS, PG_URL
from .test_porting import CHATGPT


async def _pg(statement: str) -> None:
    engine = create_async_engine(PG_URL)
    async with engine.begin() as conn:
        await conn.execute(text(statement))
    await engine.dispose()


@pytest.fixture(params=BACKENDS)
def home(request, tmp_path, monkeypatch):
    """VTAI_HOME in tmp_path; on Postgres also VTAI_DATABASE_URL with a fresh schema."""
    monkeypatch.setenv("VTAI_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("VTAI_DATABASE_URL", raising=False)
    if request.param == "sqlite":
        yield tmp_path / "home"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg(f'CREATE SCHEMA "{schema}"'))
    monkeypatch.setenv("VTAI_DATABASE_URL", f"{PG_URL}?schema={schema}")
    try:
        yield tmp_path / "home"
    finally:
        asyncio.run(_pg(f'DROP SCHEMA "{schema}" CASCADE'))


def with_store(fn):
    async def main():
        store = await Store.from_settings(load_settings())
        try:
            return await fn(store)
        finally:
            await store.close()
    return asyncio.run(main())


def seed(identifier: str = "local") -> tuple[str, str]:
    async def fn(store: Store):
        user = await store.ensure_user(identifier)
        a = await store.create_thread(user.id)
        await store.add_message(user.id, a.id, "user", "How tall is a giraffe?")
        await store.add_message(user.id, a.id, "assistant", "About 5 metres.", model="gpt-4o-mini", route="chat")
        b = await store.create_thread(user.id, "Packing list")
        await store.add_message(user.id, b.id, "user", "Tent, stove, torch")
        return a.id, b.id
    return with_store(fn)


def invoke(group, args, **kw):
    return CliRunner().invoke(group, args, catch_exceptions=False, **kw)


def test_list_search_show(home):
    assert invoke(threads, ["list"]).output == "No threads yet.\n"
    a, b = seed()
    out = invoke(threads, ["list"]).output.splitlines()
    assert [line.split("  ")[0] for line in out] == [b, a]
    assert out[0].endswith("  Packing list") and out[1].endswith("  How tall is a giraffe?")
    assert invoke(threads, ["list", "--search", "giraffe"]).output.splitlines()[0].startswith(a)
    assert invoke(threads, ["list", "-s", "nothing-like-this"]).output == "No matching threads.\n"
    rows = [json.loads(line) for line in invoke(threads, ["list", "--json", "--limit", "1"]).output.splitlines()]
    assert [r["id"] for r in rows] == [b]

    shown = invoke(threads, ["show", a]).output
    assert shown.startswith(f"How tall is a giraffe?\n{a} · created ")
    assert shown.endswith("2 messages\n\n[user]\nHow tall is a giraffe?\n\n"
                          "[assistant · gpt-4o-mini · route chat]\nAbout 5 metres.\n")


def test_export_import_delete(home, tmp_path):
    a, _ = seed()
    md = tmp_path / "a.md"
    result = invoke(threads, ["export", a, "--format", "md", "-o", str(md)])
    assert result.exit_code == 0 and md.read_text().startswith("# How tall is a giraffe?\n")
    exported = invoke(threads, ["export", a]).stdout
    doc = json.loads(exported)
    assert doc["threads"][0]["messages"][1]["content"] == "About 5 metres."
    dump = tmp_path / "export.json"
    dump.write_text(exported)

    result = invoke(threads, ["import", str(dump)])
    assert result.output.startswith("Imported 1 thread from export.json\n")
    new_id = result.output.splitlines()[1]
    result = invoke(threads, ["delete", a], input="y\n")
    assert result.output.endswith(f"Deleted {a}\n")
    result = invoke(threads, ["delete", a, "--yes"])
    assert result.exit_code == 1 and f"Error: Thread {a} not found" in result.stderr

    async def rows(store: Store):
        user = await store.get_user("local")
        listed = await store.list_threads(user.id)
        return [t.id for t in listed.items], [m.content for m in await store.list_messages(user.id, new_id)]
    ids, contents = with_store(rows)
    assert new_id in ids and a not in ids and len(ids) == 2
    assert contents == ["How tall is a giraffe?", "About 5 metres."]


def test_import_chatgpt_and_refuse_malformed(home, tmp_path):
    good = tmp_path / "conversations.json"
    good.write_text(json.dumps(CHATGPT))
    assert invoke(threads, ["import", str(good)]).output.startswith("Imported 1 thread from conversations.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([*CHATGPT, {"title": "broken", "mapping": "nope"}]))
    result = invoke(threads, ["import", str(bad)])
    assert result.exit_code == 1 and "conversation 2 has no 'mapping' object" in result.stderr
    names = with_store(lambda s: _names(s, "local"))
    assert names == ["Sourdough help"]  # only the first import; nothing from the refused file


async def _names(store: Store, identifier: str) -> list[str]:
    user = await store.get_user(identifier)
    return [t.name for t in (await store.list_threads(user.id)).items]


def test_another_users_thread_is_not_found(home):
    a, _ = seed("alice")
    invoke(users, ["add", "bob", "--stdin"], input="bob-password\n")
    for args in (["show", a], ["export", a], ["delete", a, "--yes"]):
        theirs = invoke(threads, [*args, "--user", "bob"])
        missing = invoke(threads, [*[x if x != a else "no-such-id" for x in args], "--user", "bob"])
        assert theirs.exit_code == missing.exit_code == 1
        assert theirs.stderr.replace(a, "ID") == missing.stderr.replace("no-such-id", "ID")
    assert invoke(threads, ["list", "--user", "bob", "-s", "giraffe"]).output == "No matching threads.\n"
    assert "No user 'carol'" in invoke(threads, ["list", "--user", "carol"]).stderr
    assert with_store(lambda s: _names(s, "alice")) == ["Packing list", "How tall is a giraffe?"]


def test_users_commands(home):
    assert invoke(users, ["list"]).output == "No users yet. Add one with `vtai users add NAME`.\n"
    result = invoke(users, ["add", "erin", "--display-name", "Erin E."], input="first-pass\nfirst-pass\n")
    assert result.exit_code == 0 and result.output.endswith("Added user erin\n")
    assert "first-pass" not in result.output  # hidden prompt
    assert invoke(users, ["add", "erin", "--stdin"], input="whatever1\n").stderr == \
        "Error: User 'erin' already exists\n"
    assert "too short" in invoke(users, ["add", "frank", "--stdin"], input="short\n").stderr
    listed = invoke(users, ["list"]).output
    assert listed.startswith("erin ") and listed.rstrip().endswith("password  Erin E.")
    assert invoke(users, ["passwd", "erin", "--stdin"], input="second-pass\n").output == \
        "Password changed for erin\n"
    assert with_store(lambda s: s.authenticate("erin", "second-pass")) is not None
    assert with_store(lambda s: s.authenticate("erin", "first-pass")) is None
    assert invoke(users, ["remove", "erin"], input="n\n").exit_code == 1  # aborted
    assert invoke(users, ["remove", "erin", "--yes"]).output == "Removed user erin\n"
    assert with_store(lambda s: s.get_user("erin")) is None
    assert invoke(users, ["passwd", "erin", "--stdin"], input="x-password\n").stderr == \
        "Error: User 'erin' not found\n"
