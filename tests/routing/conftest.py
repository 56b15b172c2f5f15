from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def read_jsonl():
    def read(name: str) -> list[dict]:
        text = (DATA / name).read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    return read


@pytest.fixture(scope="session")
def real_encoder(tmp_path_factory):
    from vtai.routing import make_encoder

    return make_encoder("fastembed:minilm", cache_dir=tmp_path_factory.mktemp("encoders"))


@pytest.fixture(scope="session")
def real_router(real_encoder, tmp_path_factory):
    from vtai.routing import Router, load_routes

    return Router(load_routes(), real_encoder, cache_dir=tmp_path_factory.mktemp("route-vectors"))
