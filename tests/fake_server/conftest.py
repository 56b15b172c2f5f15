from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Before anything imports litellm: never fetch the price list from the network.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from vtai.testing import FakeOpenAIServer  # noqa: E402


@pytest.fixture(scope="module")
def _module_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def server(_module_server: FakeOpenAIServer) -> Iterator[FakeOpenAIServer]:
    """One server per test module (starting one costs ~50 ms), wiped before each test."""
    _module_server.reset()
    yield _module_server
    assert _module_server.pending == 0, "a test queued replies it never consumed"
