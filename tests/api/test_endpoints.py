"""Auth, rate limit, models, embeddings, routes, health, OpenAPI, stored threads — in-process."""

from __future__ import annotations

import base64
from types import SimpleNamespace

import httpx
import numpy as np
import pytest

from tests.api.conftest import make_app
from vtai.api import ApiConfig
from vtai.api.auth import RateLimiter
from vtai.store import LOCAL_USER, Store

USER = [{"role": "user", "content": "hello"}]


def client_for(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://vtai")


class Keys:
    """A key store double: the real one is exercised in test_store_backed_keys."""

    def __init__(self, **keys: str):
        self.users = {k: SimpleNamespace(id=f"id-{u}", identifier=u) for k, u in keys.items()}
        self.calls = 0

    async def verify_api_key(self, plaintext: str):
        self.calls += 1
        return self.users.get(plaintext)


async def test_loopback_without_auth_needs_no_key(api):
    client, _, _ = api
    r = await client.post("/v1/chat/completions", json={"model": "local", "messages": USER},
                          headers={"authorization": "Bearer anything-the-sdk-sends"})
    assert r.status_code == 200


@pytest.mark.parametrize("host_or_auth", [{"host": "0.0.0.0"}, {"auth": "password"}])
def test_keys_required_beyond_loopback_or_with_auth(host_or_auth):
    assert ApiConfig.from_settings(SimpleNamespace(**{"host": "127.0.0.1", "auth": "none", **host_or_auth})
                                   ).require_auth


async def test_bearer_keys_and_rate_limit():
    keys = Keys(**{"vtai-good": "alice", "vtai-other": "bob"})
    app, _, _ = make_app(config=ApiConfig(require_auth=True, rate_limit_per_minute=2), key_store=keys)
    async with client_for(app) as client:
        r = await client.post("/v1/chat/completions", json={"model": "local", "messages": USER})
        assert r.status_code == 401 and r.json()["error"]["code"] == "missing_api_key"
        r = await client.get("/v1/models", headers={"authorization": "Bearer vtai-wrong"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
        good = {"authorization": "Bearer vtai-good"}
        assert (await client.get("/v1/models", headers=good)).status_code == 200
        assert (await client.post("/v1/chat/completions", json={"model": "local", "messages": USER},
                                  headers=good)).status_code == 200
        r = await client.post("/v1/chat/completions", json={"model": "local", "messages": USER}, headers=good)
        assert r.status_code == 429 and r.json()["error"]["type"] == "rate_limit_error"
        assert 1 <= int(r.headers["retry-after"]) <= 30
        # Limits are per key; health needs no key.
        assert (await client.get("/v1/models", headers={"authorization": "Bearer vtai-other"})).status_code == 200
        assert (await client.get("/api/health")).status_code == 200
    assert keys.calls == 3  # verified keys are cached briefly


def test_rate_limiter_refills():
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])
    assert all(limiter.check("k") == 0 for _ in range(60))
    assert limiter.check("k") == pytest.approx(1.0)
    now[0] += 1.0
    assert limiter.check("k") == 0 and limiter.check("k") > 0
    assert RateLimiter(0).check("k") == 0


async def test_store_backed_keys(vtai_home):
    app, runtime, _ = make_app(config=ApiConfig(require_auth=True, key_cache_seconds=0))
    store = await Store.from_settings(runtime.settings)
    try:
        user = await store.ensure_user(LOCAL_USER)
        key, plaintext = await store.create_api_key(user.id, "ci")
        async with client_for(app) as client:
            headers = {"authorization": f"Bearer {plaintext}"}
            assert (await client.get("/v1/models", headers=headers)).status_code == 200
            await store.revoke_api_key(user.id, key.id)
            assert (await client.get("/v1/models", headers=headers)).status_code == 401
    finally:
        await store.close()
        await runtime.aclose()


async def test_models_list_availability(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-openai-0000")
    app, _, _ = make_app()
    async with client_for(app) as client:
        body = (await client.get("/v1/models")).json()
        by_id = {m["id"]: m for m in body["data"]}
        assert body["object"] == "list" and by_id["vtai/auto"]["owned_by"] == "vtai"
        assert by_id["gpt-4o-mini"]["vtai"]["available"] is True
        claude = by_id["claude-sonnet-4-5"]["vtai"]
        assert claude["available"] is False and "vtai keys set anthropic" in claude["hint"]
        r = await client.get("/v1/models/sonnet")
        assert r.status_code == 200 and r.json()["id"] == "claude-sonnet-4-5"
        r = await client.get("/v1/models/no-such-model")
        assert r.status_code == 404 and r.json()["error"]["code"] == "model_not_found"


async def test_embeddings_use_the_router_encoder():
    app, runtime, _ = make_app(routing=True)
    async with client_for(app) as client:
        r = await client.post("/v1/embeddings", json={"model": "vtai/encoder", "input": ["a cat", "a cat", "taxes"]})
        assert r.status_code == 200, r.text
        body = r.json()
        vectors = np.array([d["embedding"] for d in body["data"]])
        assert body["model"] == runtime.engine.router.encoder.id and vectors.shape == (3, 256)
        assert np.allclose(vectors[0], vectors[1]) and not np.allclose(vectors[0], vectors[2])
        r = await client.post("/v1/embeddings", json={"model": "vtai/encoder", "input": "a cat",
                                                      "encoding_format": "base64"})
        decoded = np.frombuffer(base64.b64decode(r.json()["data"][0]["embedding"]), dtype="<f4")
        assert np.allclose(decoded, vectors[0], atol=1e-6)
        r = await client.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": "x"})
        assert r.status_code == 404 and "vtai/encoder" in r.json()["error"]["message"]
        r = await client.post("/v1/embeddings", json={"input": []})
        assert r.status_code == 400


async def test_embeddings_without_routing_is_a_clear_503(api):
    client, _, _ = api
    r = await client.post("/v1/embeddings", json={"input": "hello"})
    assert r.status_code == 503 and "routing is off" in r.json()["error"]["message"]


async def test_route_table_and_health():
    app, runtime, _ = make_app(routing=True)
    async with client_for(app) as client:
        table = (await client.get("/api/routes")).json()
        names = {r["name"]: r for r in table["routes"]}
        assert table["enabled"] is True and table["encoder"].startswith("fake")
        assert names["coding"]["handler"] == "chat" and names["image-generation"]["handler"] == "image"
        assert table["default_route"] in names
        health = (await client.get("/api/health")).json()
        assert health["status"] == "ok" and health["version"] and "state" in health["local_model"]
        assert health["routing"]["enabled"] is True and health["api"]["auth_required"] is False


async def test_openapi_documents_the_api(api):
    client, _, _ = api
    spec = (await client.get("/openapi.json")).json()
    chat = spec["paths"]["/v1/chat/completions"]["post"]
    assert set(chat["responses"]) >= {"200", "400", "401", "404", "413", "429", "502"}
    assert "text/event-stream" in chat["responses"]["200"]["content"]
    request = spec["components"]["schemas"]["ChatCompletionRequest"]
    assert {"model", "messages"} <= set(request["required"])
    assert request["properties"]["n"]["anyOf"][0]["maximum"] == 1
    assert {"/v1/models", "/v1/embeddings", "/api/routes", "/api/health"} <= set(spec["paths"])


async def test_requests_stored_as_threads_on_request():
    app, runtime, _ = make_app()
    async with client_for(app) as client:
        r = await client.post("/v1/chat/completions", json={"model": "local", "messages": USER})
        assert "x-vtai-thread-id" not in r.headers
        r = await client.post("/v1/chat/completions", json={"model": "local", "messages": USER, "stream": True},
                              headers={"x-vtai-store": "1"})
        thread_id = r.headers["x-vtai-thread-id"]
    store = await Store.from_settings(runtime.settings)
    try:
        user = await store.ensure_user(LOCAL_USER)
        rows = await store.list_messages(user.id, thread_id)
        assert [(m.role, m.content, m.status) for m in rows] == [
            ("user", "hello", "complete"), ("assistant", "Echo: hello", "complete")]
        assert rows[1].model == "local/smollm2-135m"
        page = await store.list_threads(user.id)
        assert [t.id for t in page.items] == [thread_id]
    finally:
        await store.close()
        await runtime.aclose()


async def test_thread_id_continues_a_thread_and_other_users_threads_are_404():
    keys = Keys(**{"vtai-alice": "alice", "vtai-bob": "bob"})
    app, runtime, _ = make_app(config=ApiConfig(require_auth=True), key_store=keys)
    store = await Store.from_settings(runtime.settings)
    try:
        for name in ("alice", "bob"):
            await store.create_user(name)
        alice = await store.get_user("alice")
        keys.users["vtai-alice"].id = alice.id
        keys.users["vtai-bob"].id = (await store.get_user("bob")).id
        async with client_for(app) as client:
            headers = {"authorization": "Bearer vtai-alice", "x-vtai-store": "1"}
            r = await client.post("/v1/chat/completions", json={"model": "local", "messages": USER}, headers=headers)
            thread_id = r.headers["x-vtai-thread-id"]
            r = await client.post("/v1/chat/completions", headers={**headers, "x-vtai-thread-id": thread_id},
                                  json={"model": "local", "messages": [{"role": "user", "content": "again"}]})
            assert r.headers["x-vtai-thread-id"] == thread_id
            rows = await store.list_messages(alice.id, thread_id)
            assert [m.content for m in rows] == ["hello", "Echo: hello", "again", "Echo: again"]
            r = await client.post("/v1/chat/completions", json={"model": "local", "messages": USER}, headers={
                "authorization": "Bearer vtai-bob", "x-vtai-store": "1", "x-vtai-thread-id": thread_id})
            assert r.status_code == 404 and "error" in r.json()
            assert len(await store.list_messages(alice.id, thread_id)) == 4
    finally:
        await store.close()
        await runtime.aclose()


async def test_status_events_become_sse_comments(api):
    from tests.api.conftest import sse_events
    from vtai.events import Status, TextDelta

    client, _, llm = api
    llm.enqueue([Status("Starting the local model (first use)…"), TextDelta("hi")])
    r = await client.post("/v1/chat/completions", json={"model": "local", "messages": USER, "stream": True})
    assert ": Starting the local model (first use)…\n\n" in r.text
    events = sse_events(r.text)
    assert events[-1] == "[DONE]" and events[1]["choices"][0]["delta"]["content"] == "hi"
