"""Optional history: store a request and its answer as a thread (header ``x-vtai-store: 1`` or the
``api_store_threads`` setting). ``x-vtai-thread-id`` continues a thread; the id is echoed in the response."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import Request

from vtai.api.convert import to_engine
from vtai.api.schemas import ChatCompletionRequest
from vtai.events import Event


class ThreadRecorder:
    def __init__(self, store_handle: Any, always: bool = False):
        self.store_handle = store_handle
        self.always = always

    def wanted(self, request: Request) -> bool:
        return self.always or request.headers.get("x-vtai-store", "").lower() in ("1", "true", "yes")

    async def wrap(self, request: Request, principal: Any, body: ChatCompletionRequest,
                   events: AsyncIterator[Event]) -> AsyncIterator[Event]:
        if not self.wanted(request):
            return events
        from vtai.store import LOCAL_USER, Recorder

        store = await self.store_handle.get()
        user_id = principal.user_id if principal is not None else (await store.ensure_user(LOCAL_USER)).id
        thread_id = request.headers.get("x-vtai-thread-id") or str(uuid.uuid4())
        recorder = Recorder(store, user_id)
        _, messages = to_engine(body.messages)
        await recorder.user_message(thread_id, messages[-1])
        await recorder.assistant_started()
        request.state.vtai_thread_id = thread_id
        return _recorded(recorder, events)


async def _recorded(recorder: Any, events: AsyncIterator[Event]) -> AsyncIterator[Event]:
    try:
        async for event in events:
            await recorder.feed(event)
            yield event
    finally:
        with anyio.CancelScope(shield=True):
            await events.aclose()
            await recorder.finish()
