"""Routes as data: the shipped file, user overrides, and errors that name file and line."""

from __future__ import annotations

import textwrap

import pytest

from vtai.errors import RoutingError
from vtai.routing import KNOWN_HANDLERS, load_routes

FIXED = ["casual-conversation", "curious", "text-processing", "coding", "code-interpreter", "reasoning",
         "web-search", "image-generation", "vision-image-processing", "text-to-speech"]


def write(path, text):
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def test_shipped_routes_are_the_ten_fixed_ones_with_enough_examples():
    routes = load_routes()
    assert routes.names == FIXED
    assert routes.default_route == "casual-conversation"
    for route in routes.routes:
        assert len(set(route.utterances)) >= 30, route.name
        assert route.handler in KNOWN_HANDLERS
        assert route.preferred_models, route.name
        assert 0 <= route.threshold <= 1
    assert routes.get("reasoning").preferred_models[0] == "o4-mini"
    assert routes.get("vision-image-processing").requires == "vision"
    assert routes.get("text-to-speech").handler == "speech"


def test_user_file_overrides_fields_by_name_and_adds_routes(tmp_path):
    user = write(tmp_path / "routes.yaml", """
        default_route: curious
        routes:
          - name: coding
            threshold: 0.42
            preferred_models: [my-local-coder]
          - name: recipes
            handler: chat
            utterances: [give me a recipe for lasagna, what can I cook with eggs and rice]
    """)
    routes = load_routes(user)
    coding = routes.get("coding")
    assert coding.threshold == 0.42
    assert coding.preferred_models == ("my-local-coder",)
    assert len(coding.utterances) >= 30  # untouched fields come from the shipped file
    assert routes.names[-1] == "recipes"
    assert routes.default_route == "curious"
    assert str(user) in routes.sources


@pytest.mark.parametrize(("body", "line", "words"), [
    ("""
        routes:
          - name: a
            handler: chat
            utterances: [hi]
          - name: a
            handler: chat
            utterances: [yo]
     """, 5, "duplicate route name 'a' (first defined at line 2)"),
    ("""
        routes:
          - name: weird
            handler: teleport
            utterances: [beam me up]
     """, 3, "unknown handler 'teleport'"),
    ("""
        routes:
          - name: empty
            handler: chat
            utterances: []
     """, 4, "no utterances"),
    ("""
        routes:
          - name: colon
            handler: chat
            utterances:
              - fine
              - debug this: oops
     """, 6, "utterance 2"),
    ("""
        routes:
          - name: coding
            threshold: 7
     """, 3, "threshold"),
])
def test_bad_user_file_names_file_and_line(tmp_path, body, line, words):
    user = write(tmp_path / "routes.yaml", body)
    with pytest.raises(RoutingError) as info:
        load_routes(user)
    assert f"{user}:{line}:" in str(info.value)
    assert words in str(info.value)


def test_unknown_default_route_and_broken_yaml(tmp_path):
    with pytest.raises(RoutingError, match="default_route 'nope'"):
        load_routes(write(tmp_path / "a.yaml", "default_route: nope\n"))
    bad = write(tmp_path / "b.yaml", "routes:\n  - name: x\n    handler: [chat\n")
    with pytest.raises(RoutingError, match=rf"{bad}:\d+: invalid YAML"):
        load_routes(bad)


def test_known_handlers_are_passed_in(tmp_path):
    user = write(tmp_path / "routes.yaml", "routes:\n  - name: songs\n    handler: music\n    utterances: [play]\n")
    assert load_routes(user, known_handlers={*KNOWN_HANDLERS, "music"}).get("songs").handler == "music"
    with pytest.raises(RoutingError, match="unknown handler 'chat'"):
        load_routes(None, known_handlers={"x"})
