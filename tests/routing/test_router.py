"""Router behaviour with the keyword FakeEncoder: decisions, attachments, bad input, vector cache, fit."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from vtai.errors import RoutingError
from vtai.routing import (
    FakeEncoder,
    LiteLLMEmbeddingEncoder,
    Route,
    Router,
    RouteSet,
    evaluate,
    fit,
    load_routes,
    make_encoder,
    write_thresholds,
)


def small_routes(threshold: float = 0.2) -> RouteSet:
    def r(name, handler, *utterances):
        return Route(name=name, handler=handler, utterances=utterances, threshold=threshold,
                     preferred_models=(f"{name}-model",))

    return RouteSet((
        r("casual-conversation", "chat", "hello there", "hi how are you", "thanks a lot"),
        r("web-search", "search", "weather in paris today", "latest news headlines", "bitcoin price now"),
        r("image-generation", "image", "draw a cat", "generate an image of a dog", "make a logo picture"),
        r("vision-image-processing", "vision", "what is in this photo", "describe this picture"),
        r("code-interpreter", "code", "plot a chart of this data", "analyze the csv columns average"),
        r("text-processing", "chat", "summarize this text", "translate this paragraph"),
    ), default_route="casual-conversation")


@pytest.fixture
def router(tmp_path):
    return Router(small_routes(), FakeEncoder(), cache_dir=tmp_path / "vectors")


def test_routes_by_meaning_and_reports_runner_up(router):
    choice = router.route("what's the weather in paris")
    assert (choice.route, choice.handler, choice.fallback) == ("web-search", "search", False)
    assert choice.score == max(choice.scores.values()) == choice.scores["web-search"]
    assert choice.runner_up != "web-search" and choice.runner_up_score <= choice.score
    assert set(choice.scores) == set(router.routes.names)
    assert choice.preferred_models == ("web-search-model",)
    assert router.route("draw a cat in space").route == "image-generation"


def test_below_threshold_falls_back_to_default(tmp_path):
    strict = Router(small_routes(threshold=0.99), FakeEncoder(), cache_dir=tmp_path)
    choice = strict.route("weather in paris")
    assert choice.route == "casual-conversation" and choice.fallback
    assert choice.runner_up == "web-search"
    assert "below its threshold" in choice.reason


@pytest.mark.parametrize("text", ["", "   \n\t ", "🎉🎉🔥", "?!..."])
def test_empty_and_wordless_messages_go_to_default(router, text):
    choice = router.route(text)
    assert choice.route == "casual-conversation" and choice.fallback and choice.scores == {}


def test_huge_and_non_english_messages_do_not_crash(router):
    assert router.route("weather " * 20_000).route == "web-search"  # 160k chars, clipped before embedding
    assert router.route("¿Qué tiempo hace hoy en Madrid? 今日の天気").route in router.routes.names


@pytest.mark.parametrize(("text", "attachments", "expected"), [
    ("what is this?", ["image"], "vision-image-processing"),
    ("", ["photo.JPG"], "vision-image-processing"),
    ("hello there", ["image/png"], "vision-image-processing"),
    ("draw a cat like this", ["image"], "image-generation"),  # editing/generating from an image
    ("analyze the csv columns average", ["sales.csv"], "code-interpreter"),
    ("summarize this text", ["xlsx"], "code-interpreter"),
    ("", ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"], "code-interpreter"),
    ("weather in paris today", ["data.csv"], "web-search"),  # not an analysis request
])
def test_attachments_decide_first(router, text, attachments, expected):
    choice = router.route(text, attachments)
    assert choice.route == expected
    assert not choice.fallback


def test_batch_matches_single(router):
    texts = ["hello there", "", "bitcoin price now please", "summarize this text for me", "🙂"]
    assert [c.route for c in router.route_batch(texts)] == [router.route(t).route for t in texts]
    assert [c.fallback for c in router.route_batch(texts)] == [router.route(t).fallback for t in texts]


def test_warm_start_does_not_re_embed(tmp_path):
    cold = FakeEncoder()
    Router(small_routes(), cold, cache_dir=tmp_path)
    assert cold.calls == 1 and cold.texts_embedded == sum(len(r.utterances) for r in small_routes().routes)
    warm = FakeEncoder()
    Router(small_routes(), warm, cache_dir=tmp_path).route("hi")
    assert warm.calls == 1 and warm.texts_embedded == 1  # only the message itself
    changed = RouteSet((*small_routes().routes,
                        Route(name="extra", handler="chat", utterances=("brand new utterance",))),
                       default_route="casual-conversation")
    third = FakeEncoder()
    Router(changed, third, cache_dir=tmp_path)
    assert third.calls == 1 and third.texts_embedded > 1  # content changed: re-embedded


def test_corrupt_cache_is_rebuilt(tmp_path):
    Router(small_routes(), FakeEncoder(), cache_dir=tmp_path)
    (cache_file,) = tmp_path.glob("routes-*.npy")
    cache_file.write_bytes(b"garbage")
    encoder = FakeEncoder()
    assert Router(small_routes(), encoder, cache_dir=tmp_path).route("draw a cat").route == "image-generation"
    assert encoder.texts_embedded > 1


def test_encoder_registry(tmp_path):
    assert make_encoder("fake").id == "fake:256"
    with pytest.raises(RoutingError, match="Unknown encoder 'bogus:x'"):
        make_encoder("bogus:x")
    with pytest.raises(RoutingError, match="never downloaded"):
        make_encoder("fastembed:BAAI/bge-small-en-v1.5", cache_dir=tmp_path)  # not on disk here
    with pytest.raises(RoutingError, match="No ONNX model in"):
        make_encoder(f"fastembed:sentence-transformers/all-MiniLM-L6-v2={tmp_path / 'missing'}")
    vectors = make_encoder("fake").embed(["a b", "c"])
    assert vectors.shape == (2, 256) and abs(float((vectors**2).sum(axis=1)[0]) - 1) < 1e-5


def test_litellm_encoder_normalises_rows_from_its_call():
    seen = []

    def call(model, texts):
        seen.append((model, texts))
        return [[3.0, 4.0], [0.0, 2.0]]

    encoder = LiteLLMEmbeddingEncoder("text-embedding-3-small", call=call)
    vectors = encoder.embed(["x" * 5000, "y"])
    assert encoder.id == "litellm:text-embedding-3-small"
    assert seen[0][1][0] == "x" * 2000  # clipped to the encoder window
    assert np.allclose(vectors, [[0.6, 0.8], [0.0, 1.0]])


def test_evaluate_counts_confusions(router):
    rows = [{"text": "hello there", "route": "casual-conversation"},
            {"text": "draw a cat", "route": "image-generation"},
            {"text": "draw a cat", "route": "web-search"},  # deliberately wrong label
            {"text": "what is in it", "route": "vision-image-processing", "attachments": ["image"]}]
    report = evaluate(router, rows)
    assert report.accuracy == 0.75 and report.total == 4
    assert report.confusion["web-search"]["image-generation"] == 1
    assert report.per_route["image-generation"].precision == 0.5
    assert report.per_route["web-search"].recall == 0.0
    assert report.mistakes == [("draw a cat", "web-search", "image-generation")]


def test_fit_is_reproducible_and_round_trips_through_user_file(tmp_path):
    strict = Router(small_routes(threshold=0.95), FakeEncoder(), cache_dir=tmp_path)
    rows = [{"text": t, "route": r} for t, r in [
        ("weather paris", "web-search"), ("news headlines", "web-search"), ("draw dog", "image-generation"),
        ("image of a cat", "image-generation"), ("hi", "casual-conversation"), ("thanks", "casual-conversation"),
        ("summarize text", "text-processing"), ("plot this data", "code-interpreter")]]
    first, second = fit(strict, rows, seed=3), fit(strict, rows, seed=3)
    assert first == second
    assert evaluate(strict.with_thresholds(first), rows).accuracy > evaluate(strict, rows).accuracy
    target = tmp_path / "home" / "routes.yaml"
    target.parent.mkdir()
    target.write_text("routes:\n  - name: recipes\n    handler: chat\n    utterances: [lasagna]\n")
    write_thresholds(target, {"coding": 0.31, "recipes": 0.4})
    data = yaml.safe_load(target.read_text())
    assert {"name": "coding", "threshold": 0.31} in data["routes"]
    loaded = load_routes(target)
    assert loaded.get("coding").threshold == 0.31 and loaded.get("recipes").threshold == 0.4
    assert loaded.get("recipes").utterances == ("lasagna",)
