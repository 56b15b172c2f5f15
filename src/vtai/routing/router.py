"""The semantic router: message (+ attachment kinds) → :class:`RouteChoice`.

Scoring: each route's utterances are embedded once (vectors cached on disk, keyed by encoder id and a hash
of the utterances). A message is embedded once and scored per route as a blend of the mean of its ``k`` most
similar utterances (nearest neighbours) and the cosine to the route centroid; for longer messages the
leading instruction is scored too and averaged in (docs/routing.md has the measurements). The best route
wins if its score passes that route's threshold; otherwise the configured default route is returned with
``fallback=True``. ``route()`` is synchronous CPU work
(a few milliseconds): async callers run it with ``asyncio.to_thread``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vtai.routing.encoders import Encoder
from vtai.routing.routes import Route, RouteSet

VISION_ROUTE = "vision-image-processing"
CODE_INTERPRETER_ROUTE = "code-interpreter"
IMAGE_GENERATION_ROUTE = "image-generation"
# With a spreadsheet attached, text that scores as one of these is an analysis request.
_ANALYSIS_ROUTES = {"code-interpreter", "coding", "reasoning", "curious", "text-processing"}
_SPREADSHEET_KINDS = {"csv", "xlsx", "xls", "spreadsheet", "tsv", "ods"}
_IMAGE_EXT = {"png", "jpg", "jpeg", "gif", "webp", "bmp", "tiff", "heic"}
_HAS_WORD = re.compile(r"[^\W_]", re.UNICODE)


@dataclass(frozen=True)
class RouteChoice:
    route: str
    score: float
    fallback: bool
    runner_up: str | None
    runner_up_score: float
    handler: str
    reason: str
    scores: dict[str, float] = field(default_factory=dict)
    preferred_models: tuple[str, ...] = ()
    requires: str | None = None

    @property
    def name(self) -> str:
        """The route name (so a choice can stand in for its Route where only name/handler/models are read)."""
        return self.route

    def to_dict(self) -> dict:
        return {"route": self.route, "score": round(self.score, 4), "fallback": self.fallback,
                "runner_up": self.runner_up, "runner_up_score": round(self.runner_up_score, 4),
                "handler": self.handler, "reason": self.reason}


class Router:
    """Scores messages against a :class:`RouteSet` with one :class:`Encoder`."""

    def __init__(self, routes: RouteSet, encoder: Encoder, *, cache_dir: Path | None = None,
                 k: int = 3, centroid_weight: float = 0.3):
        self.routes = routes
        self.encoder = encoder
        self.k = k
        self.centroid_weight = centroid_weight
        self._by_name = {r.name: r for r in routes.routes}
        self._names = [r.name for r in routes.routes]
        labels, texts = [], []
        for index, route in enumerate(routes.routes):
            labels += [index] * len(route.utterances)
            texts += list(route.utterances)
        self._labels = np.array(labels)
        self._vectors = self._load_vectors(texts, cache_dir)
        self._centroids = self._make_centroids()
        self._thresholds = np.array([r.threshold for r in routes.routes], dtype=np.float32)

    # --- public ---------------------------------------------------------------------------------

    def route(self, text: str, attachments: Sequence[str] = ()) -> RouteChoice:
        text = _clean(text)
        kinds = {attachment_kind(a) for a in attachments}
        scores = self._score(text) if _HAS_WORD.search(text) else None
        return self._decide(text, scores, kinds)

    def route_batch(self, texts: Sequence[str]) -> list[RouteChoice]:
        cleaned = [_clean(t) for t in texts]
        wordy = [i for i, t in enumerate(cleaned) if _HAS_WORD.search(t)]
        matrix = self._score_matrix([cleaned[i] for i in wordy]) if wordy else np.zeros((0, len(self._names)))
        row_of = {i: row for row, i in enumerate(wordy)}
        return [self._decide(t, matrix[row_of[i]] if i in row_of else None, set())
                for i, t in enumerate(cleaned)]

    def get(self, name: str) -> Route:
        return self._by_name[name]

    def with_thresholds(self, thresholds: dict[str, float]) -> Router:
        """A copy sharing vectors, with some thresholds replaced (used by fit)."""
        clone = object.__new__(Router)
        clone.__dict__.update(self.__dict__)
        clone._thresholds = np.array([thresholds.get(n, t) for n, t in zip(self._names, self._thresholds,
                                                                           strict=True)], dtype=np.float32)
        return clone

    @property
    def thresholds(self) -> dict[str, float]:
        return {n: float(t) for n, t in zip(self._names, self._thresholds, strict=True)}

    # --- scoring --------------------------------------------------------------------------------

    def _score(self, text: str) -> np.ndarray:
        return self._score_matrix([text])[0]

    def _score_matrix(self, texts: list[str]) -> np.ndarray:
        heads = {i: h for i, t in enumerate(texts) if (h := instruction_head(t))}
        vectors = embed_sorted(self.encoder, texts + list(heads.values()))
        scores = self.score_vectors(vectors[: len(texts)])
        if heads:
            rows = list(heads)
            scores[rows] = (scores[rows] + self.score_vectors(vectors[len(texts):])) / 2
        return scores

    def score_vectors(self, queries: np.ndarray) -> np.ndarray:
        """(n, d) normalised message vectors → (n, routes) scores in [-1, 1]."""
        sims = queries @ self._vectors.T
        knn = np.empty((len(queries), len(self._names)), dtype=np.float32)
        for index in range(len(self._names)):
            route_sims = sims[:, self._labels == index]
            k = min(self.k, route_sims.shape[1])
            top = np.partition(route_sims, route_sims.shape[1] - k, axis=1)[:, -k:]
            knn[:, index] = top.mean(axis=1)
        centroid = queries @ self._centroids.T
        return (1 - self.centroid_weight) * knn + self.centroid_weight * centroid

    def _make_centroids(self) -> np.ndarray:
        rows = [self._vectors[self._labels == i].mean(axis=0) for i in range(len(self._names))]
        centroids = np.stack(rows)
        return centroids / np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)

    # --- decision -------------------------------------------------------------------------------

    def _decide(self, text: str, scores: np.ndarray | None, kinds: set[str]) -> RouteChoice:
        score_map = {} if scores is None else {n: float(s) for n, s in zip(self._names, scores, strict=True)}
        order = [] if scores is None else list(np.argsort(-scores))
        best = self._names[order[0]] if order else None
        passes = bool(order) and scores[order[0]] >= self._thresholds[order[0]]
        runner = self._names[order[1]] if len(order) > 1 else None

        forced = self._attachment_route(kinds, best if passes else None)
        if forced is not None:
            name, reason = forced
            return self._choice(name, score_map.get(name, 1.0), False, score_map, best if best != name else runner,
                                reason)
        if scores is None:
            reason = "empty message" if not text else "no words to route on"
            return self._choice(self.routes.default_route, 0.0, True, score_map, None, reason)
        if not passes:
            reason = (f"best route '{best}' scored {scores[order[0]]:.2f} below its threshold "
                      f"{self._thresholds[order[0]]:.2f}")
            return self._choice(self.routes.default_route, float(scores[order[0]]), True, score_map, best, reason)
        return self._choice(best, float(scores[order[0]]), False, score_map, runner, "semantic match")

    def _attachment_route(self, kinds: set[str], text_route: str | None) -> tuple[str, str] | None:
        if "image" in kinds and VISION_ROUTE in self._by_name and text_route != IMAGE_GENERATION_ROUTE:
            return VISION_ROUTE, "an image is attached"
        if kinds & _SPREADSHEET_KINDS and CODE_INTERPRETER_ROUTE in self._by_name and (
                text_route is None or text_route in _ANALYSIS_ROUTES):
            return CODE_INTERPRETER_ROUTE, "a spreadsheet is attached with an analysis request"
        return None

    def _choice(self, name: str, score: float, fallback: bool, scores: dict[str, float],
                runner_up: str | None, reason: str) -> RouteChoice:
        route = self._by_name[name]
        return RouteChoice(route=name, score=score, fallback=fallback, runner_up=runner_up,
                           runner_up_score=scores.get(runner_up, 0.0) if runner_up else 0.0,
                           handler=route.handler, reason=reason, scores=scores,
                           preferred_models=route.preferred_models, requires=route.requires)

    # --- vector cache ---------------------------------------------------------------------------

    def _load_vectors(self, texts: list[str], cache_dir: Path | None) -> np.ndarray:
        digest = hashlib.sha256(json.dumps([self.encoder.id, texts]).encode()).hexdigest()[:24]
        path = None
        if cache_dir is not None:
            slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.encoder.id)
            path = Path(cache_dir) / f"routes-{slug}-{digest}.npy"
            if path.is_file():
                try:
                    vectors = np.load(path)
                    if vectors.shape[0] == len(texts):
                        return vectors
                except (OSError, ValueError):
                    pass  # corrupt cache: re-embed below and overwrite it
        vectors = embed_sorted(self.encoder, texts)
        if path is not None:
            _atomic_save(path, vectors)
        return vectors


def embed_sorted(encoder: Encoder, texts: list[str]) -> np.ndarray:
    """One embed() call, texts fed in length order: batches pad to their longest text, so this saves work."""
    if len(texts) <= 1:
        return encoder.embed(texts).astype(np.float32)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    embedded = encoder.embed([texts[i] for i in order]).astype(np.float32)
    vectors = np.empty_like(embedded)
    vectors[order] = embedded
    return vectors


def _atomic_save(path: Path, vectors: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        np.save(handle, vectors)
    os.replace(tmp, path)


_HEAD_SPLIT = re.compile(r"(?<=[:?!.\n\"])\s|[\"“]")


def instruction_head(text: str, min_chars: int = 60) -> str | None:
    """The leading instruction of a longer message ("Summarize this: <pasted text>"), or None.

    Pasted content drowns the request in a single mean-pooled vector; scoring the head as well (averaged with
    the whole) recovers it: +2.5 points on long messages, no change on short ones (docs/routing.md).
    """
    if len(text) <= min_chars:
        return None
    head = _HEAD_SPLIT.split(text, maxsplit=1)[0].strip()[:160]
    return head if head and len(head) < 0.7 * len(text) else None


def _clean(text: str) -> str:
    return " ".join((text or "").split())


def attachment_kind(attachment: str) -> str:
    """'image', 'image/png', 'photo.JPG' → 'image'; 'text/csv', 'data.csv' → 'csv'; else lower-cased as is."""
    value = attachment.strip().lower()
    if value.startswith("image/") or value.rsplit(".", 1)[-1] in _IMAGE_EXT:
        return "image"
    if "spreadsheet" in value or "excel" in value:
        return "spreadsheet"
    if "/" in value:
        value = value.rsplit("/", 1)[-1]
    return value.rsplit(".", 1)[-1]
