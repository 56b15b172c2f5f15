"""A client that hangs up mid-stream cancels the upstream call (real uvicorn server, in-process)."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest
import uvicorn

from tests.api.conftest import make_app
from vtai.events import TextDelta
from vtai.llm.local import free_port
from vtai.testing import Fault
from vtai.testing.fake_llm import FakeLLM


class SlowLLM(FakeLLM):
    """Yields one token, then waits 'forever' for the next: records how the stream ended."""

    def __init__(self) -> None:
        super().__init__()
        self.closed = asyncio.Event()
        self.cancelled = False

    async def stream(self, request):
        self.requests.append(request)
        try:
            yield TextDelta("first ")
            await asyncio.sleep(60)
            yield TextDelta("never")
        except (asyncio.CancelledError, GeneratorExit):
            self.cancelled = True
            raise
        finally:
            self.closed.set()


@contextlib.asynccontextmanager
async def serving(app):
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def hang_up_after_first_token(url: str, model: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        body = {"model": model, "messages": [{"role": "user", "content": "count to one hundred"}], "stream": True}
        async with client.stream("POST", "/v1/chat/completions", json=body) as r:
            assert r.status_code == 200
            async for line in r.aiter_lines():
                if '"content":"' in line and '"content":""' not in line:
                    break  # got a token: hang up


async def test_disconnect_cancels_the_model_stream():
    llm = SlowLLM()
    app, _, _ = make_app(llm=llm)
    async with serving(app) as url:
        await hang_up_after_first_token(url, "local")
        await asyncio.wait_for(llm.closed.wait(), 5)
        assert llm.cancelled
        async with httpx.AsyncClient(base_url=url) as client:  # the server is fine afterwards
            assert (await client.get("/api/health")).status_code == 200


@pytest.mark.slow  # imports LiteLLM (several seconds on a loaded machine)
async def test_disconnect_with_the_real_adapter_leaves_no_task_behind(provider_env):
    provider_env.enqueue(Fault("slow", delay_s=0.2, text="one two three four five six seven eight nine ten"))
    app, runtime, _ = make_app(llm=None)
    async with serving(app) as url:
        before = {t for t in asyncio.all_tasks()}
        await hang_up_after_first_token(url, "gpt-4o-mini")
        for _ in range(100):
            leftover = {t for t in asyncio.all_tasks() - before if not t.done()} - {asyncio.current_task()}
            if not leftover:
                break
            await asyncio.sleep(0.05)
        assert not leftover, leftover
        assert len(provider_env.requests_to("chat")) == 1
    await runtime.aclose()
