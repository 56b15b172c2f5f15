"""The loss-free write path, including a real kill -9 in the middle of a streamed answer."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from vtai import events as ev
from vtai.errors import StoreError
from vtai.messages import FilePart, ImagePart, Message, TextPart
from vtai.store import Recorder, to_engine_messages


async def test_user_message_is_committed_before_the_answer(store, db, alice):
    rec = Recorder(store, alice.id)
    await rec.user_message("thread-1", Message.text("user", "Hello there"))
    other = await db.open()  # a second connection sees it: it is committed
    try:
        assert [m.content for m in await other.list_messages(alice.id, "thread-1")] == ["Hello there"]
        await rec.assistant_started()
        await rec.wait_written()
        (_, answer) = await other.list_messages(alice.id, "thread-1")
        assert (answer.role, answer.content, answer.status) == ("assistant", "", "interrupted")
    finally:
        await other.close()


async def test_events_become_one_complete_row(store, alice, tmp_path):
    image = tmp_path / "out.png"
    image.write_bytes(b"\x89PNG fake")
    rec = Recorder(store, alice.id)
    user = await rec.user_message("t", Message("user", [TextPart("Draw and explain"),
                                                        ImagePart("image/png", data=b"PNGDATA", name="in.png")]))
    assert user.parts[0]["kind"] == "image" and open(user.parts[0]["path"], "rb").read() == b"PNGDATA"
    await rec.assistant_started()
    for event in [ev.RouteChosen("image", 0.8, "gpt-image", "keywords"), ev.Status("working"),
                  ev.ReasoningDelta("Let me "), ev.ReasoningDelta("think."),
                  ev.ToolCall("c1", "draw", {"prompt": "cat"}), ev.ToolResult("c1", "draw", "ok"),
                  ev.Image(str(image), prompt="cat"), ev.TextDelta("Here is "), ev.TextDelta("a cat."),
                  ev.Usage("gpt-image", 12, 30, 0.04), ev.Done()]:
        await rec.feed(event)
    final = await rec.finish()
    assert final == await store.get_message(alice.id, final.id)
    assert (final.content, final.status, final.route, final.model) == ("Here is a cat.", "complete", "image",
                                                                       "gpt-image")
    assert (final.prompt_tokens, final.completion_tokens, final.cost_usd) == (12, 30, 0.04)
    assert [p["kind"] for p in final.parts] == ["reasoning", "tool_call", "tool_result", "image"]
    assert final.parts[0]["text"] == "Let me think."
    stored_image = final.parts[3]
    assert stored_image["path"] != str(image) and open(stored_image["path"], "rb").read() == b"\x89PNG fake"
    assert final.parent_id == user.id
    history = to_engine_messages(await store.list_messages(alice.id, "t"))
    assert [(m.role, m.content) for m in history] == [("user", "Draw and explain"), ("assistant", "Here is a cat.")]
    assert history[0].parts[1].data == b"PNGDATA"


async def test_error_event_marks_the_answer(store, alice):
    rec = Recorder(store, alice.id)
    await rec.user_message("t", Message.text("user", "hi"))
    await rec.assistant_started()
    await rec.feed(ev.TextDelta("Partial"))
    await rec.feed(ev.Error("Provider timed out", "provider", partial=True))
    final = await rec.finish()
    assert (final.content, final.status, final.parts[-1]["message"]) == ("Partial", "error",
                                                                         "Provider timed out")


async def test_partial_text_is_flushed_while_streaming(store, alice):
    rec = Recorder(store, alice.id, flush_interval=0.05)
    await rec.user_message("t", Message.text("user", "count"))
    mid = await rec.assistant_started()
    await rec.feed(ev.TextDelta("one "))
    await rec.wait_written()
    assert (await store.get_message(alice.id, mid)).content == ""  # not yet: within the interval
    await asyncio.sleep(0.06)
    await rec.feed(ev.TextDelta("two "))
    await rec.wait_written()
    row = await store.get_message(alice.id, mid)
    assert (row.content, row.status) == ("one two ", "interrupted")


async def test_file_parts_are_copied_into_the_thread_folder(store, alice, tmp_path, db):
    upload = tmp_path / "report.csv"
    upload.write_text("a,b\n1,2\n")
    rec = Recorder(store, alice.id)
    m = await rec.user_message("t", Message("user", [TextPart("summarise"),
                                                     FilePart("report.csv", "text/csv", str(upload), 8)]))
    part = m.parts[0]
    assert part["path"].startswith(str(db.files_dir / alice.id / "t")) and part["size"] == 8
    upload.unlink()
    assert open(part["path"]).read() == "a,b\n1,2\n"


CHILD = textwrap.dedent("""
    import asyncio, sys
    from pathlib import Path
    from vtai import events as ev
    from vtai.messages import Message
    from vtai.store import Recorder, Store

    async def main(url, schema, files):
        store = await Store.open(url, files_dir=Path(files), schema=schema or None)
        user = await store.ensure_user("crash")
        rec = Recorder(store, user.id, flush_interval=0.05)
        await rec.user_message("crash-thread", Message.text("user", "Tell me a long story"))
        await rec.assistant_started()
        i = 0
        while True:
            await rec.feed(ev.TextDelta(f"word{i} "))
            i += 1
            if i == 40:
                print("STREAMING", flush=True)
            await asyncio.sleep(0.005)

    asyncio.run(main(*sys.argv[1:]))
""")


@pytest.mark.slow
async def test_kill_9_mid_stream_keeps_message_and_partial_answer(db):
    proc = subprocess.Popen([sys.executable, "-c", CHILD, db.url, db.schema or "", str(db.files_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 30)
        assert line.strip() == "STREAMING", proc.stderr.read()
        await asyncio.sleep(0.15)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stdout.close()
        proc.stderr.close()
    store = await db.open()
    try:
        user = await store.get_user("crash")
        user_msg, answer = await store.list_messages(user.id, "crash-thread")
        assert (user_msg.role, user_msg.content) == ("user", "Tell me a long story")
        assert answer.status == "interrupted"
        words = answer.content.split()
        assert len(words) >= 40 and words == [f"word{i}" for i in range(len(words))]
    finally:
        await store.close()


async def test_a_failed_background_write_is_not_swallowed(store, alice):
    rec = Recorder(store, alice.id)
    user = await rec.user_message("t", Message.text("user", "hi"))
    await rec.assistant_started(message_id=user.id)  # duplicate id: the background insert fails
    await rec.feed(ev.TextDelta("text"))
    with pytest.raises(StoreError, match="already exists"):
        await rec.finish()


async def test_a_stream_cut_before_done_is_interrupted(store, alice):
    rec = Recorder(store, alice.id)
    await rec.user_message("t", Message.text("user", "hi"))
    await rec.assistant_started()
    await rec.feed(ev.TextDelta("half an ans"))
    final = await rec.finish()  # e.g. the HTTP client disconnected: no Done event arrived
    assert (final.content, final.status) == ("half an ans", "interrupted")
    assert (await store.get_message(alice.id, final.id)).status == "interrupted"
