"""Export (JSON, Markdown) and import (ours, ChatGPT's conversations.json): all or nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text

from vtai.errors import InputError, StoreError

CHATGPT = [{
    "title": "Sourdough help", "create_time": 1700000000.5, "update_time": 1700000100.0, "id": "conv-1",
    "current_node": "n4",
    "mapping": {
        "root": {"id": "root", "message": None, "parent": None, "children": ["n1"]},
        "n1": {"id": "n1", "parent": "root", "children": ["n2"], "message": {
            "id": "n1", "author": {"role": "system"}, "content": {"content_type": "text", "parts": [""]},
            "metadata": {"is_visually_hidden_from_conversation": True}}},
        "n2": {"id": "n2", "parent": "n1", "children": ["n3", "n3b"], "message": {
            "id": "n2", "author": {"role": "user"}, "create_time": 1700000001.0,
            "content": {"content_type": "text", "parts": ["Why is my starter flat?"]}}},
        "n3b": {"id": "n3b", "parent": "n2", "children": [], "message": {
            "id": "n3b", "author": {"role": "assistant"},
            "content": {"content_type": "text", "parts": ["An abandoned regeneration"]}}},
        "n3": {"id": "n3", "parent": "n2", "children": ["n4"], "message": {
            "id": "n3", "author": {"role": "assistant"}, "create_time": 1700000002.0,
            "metadata": {"model_slug": "gpt-4o"},
            "content": {"content_type": "text", "parts": ["Feed it more often."]}}},
        "n4": {"id": "n4", "parent": "n3", "children": [], "message": {
            "id": "n4", "author": {"role": "user"}, "create_time": 1700000003.0,
            "content": {"content_type": "multimodal_text",
                        "parts": [{"content_type": "image_asset_pointer"}, "Like this?"]}}},
    },
}]


async def _thread_with_everything(store, user):
    t = await store.create_thread(user.id, "Tools test", tags=["demo"])
    await store.add_message(user.id, t.id, "user", "What's the weather?")
    a = await store.add_message(
        user.id, t.id, "assistant", "Sunny, 21 °C.", route="search", model="gpt-4o-mini",
        parts=[{"kind": "reasoning", "text": "Need a lookup"},
               {"kind": "tool_call", "id": "c1", "name": "web_search", "arguments": {"q": "weather"}},
               {"kind": "tool_result", "id": "c1", "name": "web_search", "output": "21C sunny"}],
        prompt_tokens=10, completion_tokens=5, cost_usd=0.001)
    await store.set_feedback(user.id, a.id, 1, "thanks")
    return t


async def test_json_export_round_trips_through_import(store, alice, bob):
    t = await _thread_with_everything(store, alice)
    exported = json.loads(await store.export_thread(alice.id, t.id, "json"))
    assert exported["format"] == "vtai-threads" and exported["version"] == 1
    (doc,) = exported["threads"]
    assert [m["role"] for m in doc["messages"]] == ["user", "assistant"]
    assert doc["messages"][1]["usage"] == {"prompt_tokens": 10, "completion_tokens": 5, "cost_usd": 0.001}
    assert doc["messages"][1]["feedback"] == {"value": 1, "comment": "thanks"}

    (new_id,) = await store.import_threads(bob.id, json.dumps(exported))
    assert new_id != t.id
    copy = await store.get_thread(bob.id, new_id)
    assert (copy.name, copy.tags, copy.metadata["imported_id"]) == ("Tools test", ["demo"], t.id)
    original, imported = await store.list_messages(alice.id, t.id), await store.list_messages(bob.id, new_id)
    strip = lambda rows: [(m.role, m.content, m.parts, m.route, m.model, m.prompt_tokens, m.status)  # noqa: E731
                          for m in rows]
    assert strip(imported) == strip(original)
    assert [x.id for x in (await store.search(bob.id, "sunny")).items] == [new_id]


async def test_markdown_export(store, alice):
    t = await _thread_with_everything(store, alice)
    md = await store.export_thread(alice.id, t.id, "md")
    assert md.startswith("# Tools test\n")
    assert "## You\n\nWhat's the weather?" in md
    assert "## Assistant (gpt-4o-mini, route search)\n\n> Need a lookup\n\nSunny, 21 °C." in md
    assert '*Tool call `web_search`:* `{"q": "weather"}`' in md
    with pytest.raises(InputError):
        await store.export_thread(alice.id, t.id, "pdf")


async def test_chatgpt_import_follows_the_shown_branch(store, alice):
    (tid,) = await store.import_threads(alice.id, json.dumps(CHATGPT).encode())
    thread = await store.get_thread(alice.id, tid)
    assert (thread.name, thread.created_at, thread.metadata["imported_from"]) == ("Sourdough help",
                                                                                  1700000000.5, "chatgpt")
    rows = await store.list_messages(alice.id, tid)
    assert [(m.role, m.content) for m in rows] == [
        ("user", "Why is my starter flat?"), ("assistant", "Feed it more often."),
        ("user", "[image]\nLike this?")]
    assert rows[1].model == "gpt-4o"


@pytest.mark.parametrize("payload, error", [
    ("{not json", "not valid JSON"),
    ('{"hello": 1}', "Unrecognised import file"),
    ('{"format": "vtai-threads", "version": 7, "threads": []}', "Unsupported vtai-threads version 7"),
    ('{"format": "vtai-threads", "version": 1, "threads": [{"messages": [{"role": "user", "content": "ok"}]},'
     ' {"messages": [{"role": "wizard", "content": "x"}]}]}', "thread 2, message 1"),
    ('[{"title": "a", "mapping": {"n": {"message": {"author": {"role": "user"}, "content": '
     '{"parts": ["hi"]}}, "parent": null}}, "current_node": "n", "create_time": "yesterday"}]',
     "timestamps must be numbers"),
    ('{"format": "vtai-threads", "version": 1, "threads": [{"messages": [{"role": "user", "content": "x", '
     '"status": "exploded"}]}]}', "bad status"),
    ('[{"title": "a", "mapping": []}]', "has no 'mapping' object"),
])
async def test_malformed_imports_fail_clearly_and_import_nothing(store, alice, payload, error):
    with pytest.raises(InputError, match=error):
        await store.import_threads(alice.id, payload)
    assert await store.count_threads(alice.id) == 0


async def test_database_failure_mid_import_rolls_back_everything(store, db, alice):
    # A trigger makes the database itself refuse the second thread's message, after the first thread
    # was written in the same transaction.
    boom = {
        "sqlite": ["CREATE TRIGGER boom BEFORE INSERT ON messages WHEN new.content = 'boom' "
                   "BEGIN SELECT RAISE(ABORT, 'boom refused'); END"],
        "postgres": ["CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN IF NEW.content = 'boom' THEN "
                     "RAISE EXCEPTION 'boom refused'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
                     "CREATE TRIGGER boom BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION boom()"],
    }[db.kind]
    async with store.engine.begin() as conn:
        for statement in boom:
            await conn.execute(text(statement))
    doc = {"format": "vtai-threads", "version": 1, "threads": [
        {"name": "fine", "messages": [{"role": "user", "content": "first thread"}]},
        {"name": "doomed", "messages": [{"role": "user", "content": "boom"}]}]}
    with pytest.raises(StoreError, match="nothing was imported"):
        await store.import_threads(alice.id, json.dumps(doc))
    assert await store.count_threads(alice.id) == 0
    assert (await store.search(alice.id, "first")).items == []


async def test_huge_import_is_refused(store, alice):
    with pytest.raises(InputError, match="too large"):
        await store.import_threads(alice.id, b"[" + b" " * 2048 + b"]", max_bytes=1024)
    assert await store.count_threads(alice.id) == 0
