"""Schema-based fuzzing: schemathesis generates requests from /openapi.json; no response may be a 5xx.

In-process over ASGI with FakeLLM and the keyword FakeEncoder router (so /v1/embeddings works); bounded by
``max_examples`` per operation. (schemathesis' own pytest plugin does not run under this pytest, so the
strategies are driven with hypothesis directly.)
"""

from __future__ import annotations

import pytest
import schemathesis  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.api.conftest import make_app  # noqa: E402

# schemathesis finds no negative chat request it can send (every candidate is filtered): the arbitrary-JSON
# fuzz below covers invalid chat bodies instead.
OPERATIONS = [("/v1/chat/completions", "POST", "positive"), ("/v1/embeddings", "POST", "positive"),
              ("/v1/embeddings", "POST", "negative"), ("/v1/models/{model_id}", "GET", "positive"),
              ("/v1/models", "GET", "positive"), ("/api/routes", "GET", "positive"),
              ("/api/health", "GET", "positive")]
SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=20))
JSON = st.recursive(SCALARS,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                                  max_size=5), max_leaves=20)
KEYS = st.sampled_from(["model", "messages", "role", "content", "tools", "type", "function", "name", "n",
                        "stream", "parameters", "image_url", "url", "tool_calls", "tool_call_id", "stop"])
CHATTY = st.fixed_dictionaries({"model": st.sampled_from(["local", "vtai/auto", "gpt-4o", "x"]) | JSON,
                                "messages": st.lists(st.dictionaries(KEYS, JSON, max_size=4), max_size=3) | JSON},
                               optional={"stream": JSON, "n": JSON, "tools": JSON, "stop": JSON,
                                         "tool_choice": JSON, "response_format": JSON})


def real_model_sometimes(pair):
    """Random model names are all 404s: half the time use a model that exists, to reach the model call."""
    case, use_real = pair
    if use_real and isinstance(case.body, dict) and "model" in case.body:
        case.body["model"] = "local" if "messages" in case.body else "vtai/encoder"
    return case


@pytest.mark.parametrize(("path", "method", "mode"), OPERATIONS)
def test_no_server_errors(path, method, mode):
    app, _, _ = make_app(routing=True)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operation = schema[path][method]
    seen: dict[int, int] = {}
    documented = set(schema.raw_schema["paths"][path][method.lower()]["responses"])

    @given(case=st.tuples(operation.as_strategy(schemathesis.GenerationMode(mode)), st.booleans())
           .map(real_model_sometimes))
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case):
        response = case.call()
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        assert response.status_code < 500, f"{method} {path} -> {response.status_code}: {response.text[:500]}"
        status = str(response.status_code)
        assert status in documented or (status.startswith("4") and "4XX" in documented), (status, documented)
        if response.status_code >= 400:
            error = response.json().get("error")
            assert error and error["message"] and error["type"], (case.path, case.body, case.headers,
                                                                  response.status_code, response.text)

    run()
    print(path, method, mode, seen)
    assert seen



def test_arbitrary_json_chat_bodies_get_4xx_not_5xx():
    from starlette.testclient import TestClient

    app, _, _ = make_app(routing=True)
    with TestClient(app) as client:

        @given(body=CHATTY | JSON)
        @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(body):
            response = client.post("/v1/chat/completions", json=body)
            assert response.status_code < 500, response.text[:500]
            if response.status_code != 200:
                assert response.json()["error"]["message"]

        run()
