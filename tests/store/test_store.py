"""Threads, messages, feedback, search, files — and that one user never reaches another's data."""

from __future__ import annotations

import pytest

from vtai.errors import InputError, NotFoundError


async def test_thread_lifecycle(store, alice):
    t = await store.create_thread(alice.id, "First")
    assert (await store.get_thread(alice.id, t.id)).name == "First"
    await store.rename_thread(alice.id, t.id, "Renamed")
    assert (await store.get_thread(alice.id, t.id)).name == "Renamed"
    await store.add_message(alice.id, t.id, "user", "hello")
    await store.delete_thread(alice.id, t.id)
    with pytest.raises(NotFoundError):
        await store.get_thread(alice.id, t.id)
    with pytest.raises(NotFoundError):
        await store.list_messages(alice.id, t.id)


async def test_first_user_message_names_an_unnamed_thread(store, alice):
    t = await store.create_thread(alice.id)
    await store.add_message(alice.id, t.id, "user", "  How do   tides work?  ")
    await store.add_message(alice.id, t.id, "user", "second question")
    assert (await store.get_thread(alice.id, t.id)).name == "How do tides work?"


async def test_messages_keep_order_parts_usage_and_status(store, alice):
    t = await store.create_thread(alice.id)
    u = await store.add_message(alice.id, t.id, "user", "draw a cat")
    parts = [{"kind": "reasoning", "text": "think"}, {"kind": "tool_call", "id": "c1", "name": "img",
                                                       "arguments": {"q": "cat"}}]
    a = await store.add_message(alice.id, t.id, "assistant", "", parts=parts, parent_id=u.id,
                                status="interrupted", route="image", model="dall-e")
    await store.update_message(alice.id, a.id, content="Here", prompt_tokens=5, completion_tokens=7,
                               cost_usd=0.02, status="complete")
    rows = await store.list_messages(alice.id, t.id)
    assert [r.role for r in rows] == ["user", "assistant"]
    got = rows[1]
    assert (got.content, got.parts, got.status, got.route, got.model) == ("Here", parts, "complete", "image",
                                                                           "dall-e")
    assert (got.prompt_tokens, got.completion_tokens, got.cost_usd, got.parent_id) == (5, 7, 0.02, u.id)
    with pytest.raises(InputError):
        await store.update_message(alice.id, a.id, status="done")


async def test_other_users_ids_look_exactly_like_missing_ones(store, alice, bob):
    t = await store.create_thread(alice.id, "secret plans")
    m = await store.add_message(alice.id, t.id, "user", "the password is swordfish")
    att = await store.add_attachment(alice.id, t.id, "a.txt", "text/plain", data=b"private")
    calls = [
        lambda u, tid: store.get_thread(u, tid),
        lambda u, tid: store.list_messages(u, tid),
        lambda u, tid: store.rename_thread(u, tid, "mine now"),
        lambda u, tid: store.delete_thread(u, tid),
        lambda u, tid: store.add_message(u, tid, "user", "hi"),
        lambda u, tid: store.export_thread(u, tid),
        lambda u, tid: store.list_attachments(u, tid) if tid == "missing" else store.get_attachment(u, att.id),
    ]
    for call in calls:
        with pytest.raises(NotFoundError) as theirs:
            await call(bob.id, t.id)
        with pytest.raises(NotFoundError) as missing:
            await call(bob.id, "missing")
        assert type(theirs.value) is type(missing.value)
    for call in (lambda: store.update_message(bob.id, m.id, content="x"),
                 lambda: store.get_message(bob.id, m.id), lambda: store.set_feedback(bob.id, m.id, 1),
                 lambda: store.get_attachment(bob.id, att.id), lambda: store.delete_attachment(bob.id, att.id)):
        with pytest.raises(NotFoundError):
            await call()
    assert (await store.list_threads(bob.id)).items == []
    assert (await store.search(bob.id, "swordfish")).items == []
    # ... and nothing of Alice's changed.
    assert (await store.get_thread(alice.id, t.id)).name == "secret plans"
    assert [r.content for r in await store.list_messages(alice.id, t.id)] == ["the password is swordfish"]


async def test_pagination_newest_first(store, alice):
    ids = []
    for i in range(5):
        t = await store.create_thread(alice.id, f"t{i}")
        await store.add_message(alice.id, t.id, "user", f"message {i}")
        ids.append(t.id)
    p1 = await store.list_threads(alice.id, page=1, page_size=2)
    p3 = await store.list_threads(alice.id, page=3, page_size=2)
    assert [t.name for t in p1.items] == ["t4", "t3"] and p1.has_next
    assert [t.name for t in p3.items] == ["t0"] and not p3.has_next
    # Writing to an old thread moves it to the top.
    await store.add_message(alice.id, ids[0], "assistant", "bump")
    assert (await store.list_threads(alice.id, page_size=1)).items[0].id == ids[0]


async def test_search_is_full_text_and_stays_current(store, alice):
    a = await store.create_thread(alice.id, "Holiday")
    b = await store.create_thread(alice.id, "Work")
    await store.add_message(alice.id, a.id, "user", "Best beaches in Portugal?")
    m = await store.add_message(alice.id, b.id, "assistant", "The quarterly report is due")
    names = lambda page: sorted(t.name for t in page.items)  # noqa: E731
    assert names(await store.search(alice.id, "portugal")) == ["Holiday"]
    assert names(await store.search(alice.id, "beach")) == ["Holiday"]  # prefix match
    assert names(await store.search(alice.id, "quarterly due")) == ["Work"]  # all words
    assert names(await store.search(alice.id, "quarterly portugal")) == []
    assert names(await store.search(alice.id, "work")) == ["Work"]  # thread name
    assert names(await store.list_threads(alice.id, search="Portugal")) == ["Holiday"]
    # Updates re-index; deletes un-index.
    await store.update_message(alice.id, m.id, content="Budget meeting moved")
    assert names(await store.search(alice.id, "quarterly")) == []
    assert names(await store.search(alice.id, "budget")) == ["Work"]
    await store.delete_thread(alice.id, a.id)
    assert names(await store.search(alice.id, "portugal")) == []


@pytest.mark.parametrize("query", ['"', "a*b OR (", "NEAR(x y)", "%_\\", "'; DROP TABLE threads; --", "ünïcödé"])
async def test_search_tolerates_any_query_text(store, alice, query):
    t = await store.create_thread(alice.id, "x")
    await store.add_message(alice.id, t.id, "user", "ünïcödé text with a*b and 100% proof")
    page = await store.search(alice.id, query)
    assert all(item.user_id == alice.id for item in page.items)
    assert await store.count_threads(alice.id) == 1


async def test_feedback_upsert_and_delete(store, alice):
    t = await store.create_thread(alice.id)
    m = await store.add_message(alice.id, t.id, "assistant", "answer")
    first = await store.set_feedback(alice.id, m.id, 1, "great")
    second = await store.set_feedback(alice.id, m.id, 0, "actually wrong")
    assert first.id == second.id
    row = (await store.list_messages(alice.id, t.id))[0]
    assert (row.feedback.value, row.feedback.comment) == (0, "actually wrong")
    assert [x.id for x in (await store.list_threads(alice.id, feedback_value=0)).items] == [t.id]
    assert (await store.list_threads(alice.id, feedback_value=1)).items == []
    with pytest.raises(InputError):
        await store.set_feedback(alice.id, m.id, 5)
    await store.delete_feedback(alice.id, first.id)
    assert (await store.list_messages(alice.id, t.id))[0].feedback is None


async def test_attachments_live_under_user_and_thread_and_go_with_it(store, alice, db):
    t = await store.create_thread(alice.id)
    att = await store.add_attachment(alice.id, t.id, "../../etc/passwd", "text/plain", data=b"hello")
    path = db.files_dir / alice.id / t.id
    assert att.path.startswith(str(path)) and open(att.path, "rb").read() == b"hello"
    assert att.size == 5 and ".." not in att.path
    assert [a.id for a in await store.list_attachments(alice.id, t.id)] == [att.id]
    await store.delete_thread(alice.id, t.id)
    assert not path.exists()
    with pytest.raises(NotFoundError):
        await store.get_attachment(alice.id, att.id)


async def test_search_pages_are_exact_whether_or_not_the_recent_window_suffices(store, alice, monkeypatch):
    import vtai.store.store as store_module

    monkeypatch.setattr(store_module, "RECENT_WINDOW", 8)  # PostgreSQL tries the 8 newest threads first
    words = {i: ["common"] + (["rare"] if i in (1, 3) else []) + (["mid"] if i % 3 == 0 else [])
             for i in range(20)}
    ids = {}
    for i in range(20):
        t = await store.create_thread(alice.id, f"thread {i}")
        await store.add_message(alice.id, t.id, "user", " ".join(words[i]) + f" number{i}")
        ids[i] = t.id
    for query in ("common", "rare", "mid", "mid common", "number1"):
        expected = [ids[i] for i in range(19, -1, -1)
                    if all(any(w.startswith(q) for w in words[i] + [f"number{i}"]) for q in query.split())]
        got, page = [], 1
        while True:
            result = await store.search(alice.id, query, page=page, page_size=2)
            got += [t.id for t in result.items]
            assert result.has_next == (len(got) < len(expected)), (query, page)
            if not result.has_next:
                break
            page += 1
        assert got == expected, query
