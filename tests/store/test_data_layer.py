"""VtaiDataLayer driven the way Chainlit 2 drives it (same call order, same dict shapes)."""

from __future__ import annotations

import uuid
from pathlib import Path

import chainlit as cl
import pytest
from chainlit.types import Feedback, Pagination, ThreadFilter
from chainlit.user import User

from vtai.ui.data_layer import VtaiDataLayer


def _step(thread_id: str, kind: str, output: str = "", **extra) -> dict:
    return {"id": str(uuid.uuid4()), "threadId": thread_id, "type": kind, "name": extra.pop("name", kind),
            "output": output, "input": extra.pop("input", ""), "createdAt": "2026-01-01T00:00:00Z",
            "metadata": extra.pop("metadata", {}), "streaming": False, "parentId": extra.pop("parentId", None),
            **extra}


async def _conversation(dl: VtaiDataLayer, identifier: str, text: str):
    """What Chainlit does for one exchange: user, thread ownership + name, steps, element, answer."""
    user = await dl.create_user(User(identifier=identifier))
    tid = str(uuid.uuid4())
    user_step = _step(tid, "user_message", text, name=identifier)
    await dl.update_thread(tid, user_id=user.id)  # init_ws_context
    await dl.create_step(user_step)
    await dl.update_thread(tid, name=text, user_id=user.id, tags=None)  # flush_thread_queues
    run = _step(tid, "run", name="on_message", parentId=user_step["id"])
    await dl.create_step(run)
    tool = _step(tid, "tool", name="web_search", input='{"q": "x"}', parentId=run["id"])
    await dl.create_step(tool)
    await dl.update_step({**tool, "output": "3 results"})
    answer = _step(tid, "assistant_message", "", name="VT.ai", parentId=run["id"])
    await dl.create_step(answer)
    await dl.update_step({**answer, "output": f"Answer about {text}"})
    image = cl.Image(content=b"\x89PNG", name="chart.png", mime="image/png", thread_id=tid,
                     for_id=answer["id"])
    await dl.create_element(image)
    return user, tid, user_step, tool, answer, image


@pytest.fixture
def layer(store):
    return VtaiDataLayer(store, assistant_name="VT.ai")


async def test_history_resume_rename_feedback_delete(layer, store, db):
    user, tid, user_step, tool, answer, image = await _conversation(layer, "alice", "zebra stripes")
    assert (await layer.get_user("alice")).id == user.id
    assert await layer.get_user("nobody") is None

    page = await layer.list_threads(Pagination(first=20), ThreadFilter(userId=user.id))
    assert [(t["id"], t["name"]) for t in page.data] == [(tid, "zebra stripes")]
    assert page.to_dict()["pageInfo"]["hasNextPage"] is False

    thread = await layer.get_thread(tid)
    assert thread["userIdentifier"] == "alice" and thread["userId"] == user.id
    steps = thread["steps"]
    assert [(s["type"], s["name"], s["output"]) for s in steps] == [
        ("user_message", "alice", "zebra stripes"), ("tool", "web_search", "3 results"),
        ("assistant_message", "VT.ai", "Answer about zebra stripes")]
    assert steps[1]["input"] == '{"q": "x"}' and steps[2]["id"] == answer["id"]
    (element,) = thread["elements"]
    assert (element["id"], element["type"], element["forId"], element["url"]) == (
        image.id, "image", answer["id"], f"/vtai/files/{image.id}")
    stored = await store.get_attachment(user.id, image.id)
    assert Path(stored.path).read_bytes() == b"\x89PNG"
    assert (await layer.get_element(tid, image.id))["name"] == "chart.png"

    fid = await layer.upsert_feedback(Feedback(forId=answer["id"], value=1, comment="nice", threadId=tid))
    assert fid == await layer.upsert_feedback(Feedback(forId=answer["id"], value=0, id=fid))
    assert (await layer.get_thread(tid))["steps"][2]["feedback"]["value"] == 0
    assert [t["id"] for t in (await layer.list_threads(Pagination(first=5),
                                                       ThreadFilter(userId=user.id, feedback=0))).data] == [tid]
    assert await layer.delete_feedback(fid) is True
    assert "feedback" not in (await layer.get_thread(tid))["steps"][2]

    await layer.update_thread(tid, name="Renamed", metadata={"chat_settings": {"temperature": 0.2}})
    await layer.update_thread(tid, metadata={"chat_profile": "fast"})
    thread = await layer.get_thread(tid)
    assert thread["name"] == "Renamed"
    assert thread["metadata"] == {"chat_settings": {"temperature": 0.2}, "chat_profile": "fast"}

    await layer.delete_step(tool["id"])
    assert [s["type"] for s in (await layer.get_thread(tid))["steps"]] == ["user_message", "assistant_message"]

    await layer.delete_thread(tid)
    assert await layer.get_thread(tid) is None
    assert await layer.get_thread_author(tid) == ""
    assert not (db.files_dir / user.id / tid).exists()


async def test_search_and_pagination_through_the_layer(layer):
    user = await layer.create_user(User(identifier="alice"))
    for i in range(3):
        tid = f"t{i}"
        await layer.update_thread(tid, user_id=user.id, name=f"chat {i}")
        await layer.create_step(_step(tid, "user_message", f"topic {'giraffe' if i == 1 else 'otter'} {i}"))
    first = await layer.list_threads(Pagination(first=2), ThreadFilter(userId=user.id))
    second = await layer.list_threads(Pagination(first=2, cursor=first.pageInfo.endCursor),
                                      ThreadFilter(userId=user.id))
    assert [t["id"] for t in first.data] == ["t2", "t1"] and first.pageInfo.hasNextPage
    assert [t["id"] for t in second.data] == ["t0"] and not second.pageInfo.hasNextPage
    found = await layer.list_threads(Pagination(first=20), ThreadFilter(userId=user.id, search="giraffe"))
    assert [t["id"] for t in found.data] == ["t1"]


async def test_user_b_cannot_reach_user_a_thread(layer, store):
    alice, tid, user_step, _, answer, image = await _conversation(layer, "alice", "private diary")
    bob = await layer.create_user(User(identifier="bob"))

    everything = await layer.list_threads(Pagination(first=50), ThreadFilter(userId=bob.id))
    assert everything.data == []
    searched = await layer.list_threads(Pagination(first=50), ThreadFilter(userId=bob.id, search="diary"))
    assert searched.data == []
    no_user = await layer.list_threads(Pagination(first=50), ThreadFilter(search="diary"))
    assert no_user.data == []
    # Chainlit authorises get/delete/resume with these: Bob is not the author.
    assert await layer.get_thread_author(tid) == "alice"
    assert (await layer.get_thread(tid))["userIdentifier"] == "alice"
    # Naming Bob as owner later (Chainlit's init_ws_context does this) never transfers the thread.
    await layer.update_thread(tid, user_id=bob.id)
    assert await layer.get_thread_author(tid) == "alice"
    # A step id of Alice's replayed into Bob's thread can't overwrite or move her message.
    await layer.update_thread("bobs-thread", user_id=bob.id)
    await layer.update_step({**user_step, "threadId": "bobs-thread", "output": "hijacked"})
    assert (await layer.get_thread(tid))["steps"][0]["output"] == "private diary"
    assert (await layer.get_thread("bobs-thread"))["steps"] == []
    # The store refuses Bob outright.
    assert (await store.search(bob.id, "diary")).items == []
    assert await layer.get_element("bobs-thread", image.id) is None


async def test_favorites_and_error_steps(layer):
    user, tid, _, _, answer, _ = await _conversation(layer, "alice", "favourite things")
    await layer.set_step_favorite(dict(answer), True)
    favs = await layer.get_favorite_steps(user.id)
    assert [s["id"] for s in favs] == [answer["id"]] and favs[0]["metadata"]["favorite"] is True
    await layer.update_step({**answer, "isError": True, "output": "Provider failed"})
    step = (await layer.get_thread(tid))["steps"][-1]
    assert step["isError"] and step["output"] == "Provider failed"
    assert await layer.build_debug_url() == ""


async def test_steps_before_the_owner_is_known_are_claimed(layer):
    tid = "early-thread"
    await layer.create_step(_step(tid, "user_message", "arrived first"))
    user = await layer.create_user(User(identifier="carol"))
    await layer.update_thread(tid, user_id=user.id, name="arrived first")
    assert await layer.get_thread_author(tid) == "carol"
    page = await layer.list_threads(Pagination(first=5), ThreadFilter(userId=user.id))
    assert [t["id"] for t in page.data] == [tid]


@pytest.mark.parametrize("chainlit_first", [True, False])
async def test_recorder_and_data_layer_share_message_ids(layer, store, chainlit_first):
    """The UI records turns with the Recorder (partial flushes) while Chainlit writes the same steps
    through the data layer, in either order: one row per message, the Recorder's status and text win."""
    from vtai import events as ev
    from vtai.messages import Message
    from vtai.store import Recorder

    user = await layer.create_user(User(identifier="alice"))
    tid = "shared-thread"
    await layer.update_thread(tid, user_id=user.id)
    user_step = _step(tid, "user_message", "What is 2+2?")
    answer_step = _step(tid, "assistant_message", "", name="VT.ai")
    rec = Recorder(store, user.id)
    if chainlit_first:
        await layer.create_step(user_step)
        await layer.create_step(answer_step)
    await rec.user_message(tid, Message.text("user", "What is 2+2?"), message_id=user_step["id"])
    await rec.assistant_started(message_id=answer_step["id"])
    await rec.feed(ev.TextDelta("4"))
    await rec.wait_written()
    if not chainlit_first:
        await layer.create_step(user_step)
        await layer.create_step(answer_step)
    assert (await store.get_message(user.id, answer_step["id"])).status == "interrupted"
    await rec.feed(ev.Done())
    await rec.finish()
    await layer.update_step({**answer_step, "output": "4"})

    rows = await store.list_messages(user.id, tid)
    assert [(m.id, m.role, m.content, m.status) for m in rows] == [
        (user_step["id"], "user", "What is 2+2?", "complete"),
        (answer_step["id"], "assistant", "4", "complete")]
    assert rows[1].parent_id == user_step["id"]


async def test_writes_wait_for_the_first_user_message_like_chainlit(layer, store):
    from chainlit.context import init_ws_context
    from chainlit.session import WebsocketSession

    user = await layer.create_user(User(identifier="alice"))
    session = WebsocketSession(id="sess-1", socket_id="sock-1", emit=lambda *a: None,
                               emit_call=lambda *a: None, user_env={}, client_type="webapp",
                               thread_id="welcome-thread", user=user)
    try:
        init_ws_context(session)
        welcome = _step("welcome-thread", "assistant_message", "Hi! Ask me anything.")
        await layer.create_step(welcome)  # on_chat_start's welcome: queued, no thread yet
        assert await layer.get_thread("welcome-thread") is None
        session.has_first_interaction = True  # what Chainlit does on the first user message
        await layer.update_thread("welcome-thread", user_id=user.id, name="first question")
        await session.flush_method_queue()
        thread = await layer.get_thread("welcome-thread")
        assert [s["output"] for s in thread["steps"]] == ["Hi! Ask me anything."]
        await layer.create_step(_step("welcome-thread", "user_message", "first question"))
        assert len((await layer.get_thread("welcome-thread"))["steps"]) == 2  # direct once interacting
    finally:
        session.delete()
