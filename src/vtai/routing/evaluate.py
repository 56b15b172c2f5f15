"""Evaluate a router on labelled messages and fit per-route thresholds.

Labelled rows are JSON lines ``{"text": ..., "route": ...}`` (optionally ``"attachments": ["image"]``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from vtai.errors import InputError
from vtai.routing.router import Router, embed_sorted

_GRID = np.round(np.arange(0.0, 0.81, 0.01), 2)


@dataclass(frozen=True)
class RouteMetrics:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Report:
    accuracy: float
    total: int
    per_route: dict[str, RouteMetrics]
    labels: list[str]
    confusion: dict[str, dict[str, int]]  # confusion[true][predicted]
    fallbacks: int
    mistakes: list[tuple[str, str, str]]  # (text, expected, got)

    @property
    def macro_f1(self) -> float:
        return float(np.mean([m.f1 for m in self.per_route.values()])) if self.per_route else 0.0


def load_rows(path: Path) -> list[dict]:
    """Read labelled JSON lines; bad lines are an InputError naming the line."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
            if not isinstance(row, dict) or not isinstance(row.get("text"), str) or not row.get("route"):
                raise InputError(f"{path}:{number}: each line needs \"text\" and \"route\"")
            rows.append(row)
    return rows


def evaluate(router: Router, rows: Sequence[dict]) -> Report:
    predicted = _predict(router, rows)
    expected = [row["route"] for row in rows]
    labels = list(dict.fromkeys(router.routes.names + sorted(set(expected) - set(router.routes.names))))
    confusion = {t: dict.fromkeys(labels, 0) for t in labels}
    for truth, (got, _) in zip(expected, predicted, strict=True):
        confusion[truth][got] += 1
    per_route = {}
    for label in labels:
        tp = confusion[label][label]
        predicted_n = sum(confusion[t][label] for t in labels)
        support = sum(confusion[label].values())
        precision = tp / predicted_n if predicted_n else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_route[label] = RouteMetrics(precision, recall, f1, support)
    correct = sum(confusion[label][label] for label in labels)
    mistakes = [(row["text"], truth, got) for row, truth, (got, _) in zip(rows, expected, predicted, strict=True)
                if truth != got]
    return Report(accuracy=correct / len(rows) if rows else 0.0, total=len(rows), per_route=per_route,
                  labels=labels, confusion=confusion, fallbacks=sum(fb for _, fb in predicted), mistakes=mistakes)


def _predict(router: Router, rows: Sequence[dict]) -> list[tuple[str, bool]]:
    plain = [i for i, row in enumerate(rows) if not row.get("attachments")]
    out: list[tuple[str, bool] | None] = [None] * len(rows)
    for i, choice in zip(plain, router.route_batch([rows[i]["text"] for i in plain]), strict=True):
        out[i] = (choice.route, choice.fallback)
    for i, row in enumerate(rows):
        if out[i] is None:
            choice = router.route(row["text"], row["attachments"])
            out[i] = (choice.route, choice.fallback)
    return out  # type: ignore[return-value]


def fit(router: Router, rows: Sequence[dict], seed: int = 0, rounds: int = 15) -> dict[str, float]:
    """Per-route thresholds that maximise accuracy on ``rows``, robustly.

    Each of ``rounds`` bootstrap resamples (drawn from ``seed``) gets a coordinate-ascent search over a grid of
    thresholds; the median per route is returned. Same rows + seed → same thresholds.
    """
    names = router.routes.names
    known = [i for i, row in enumerate(rows) if row["route"] in names]
    if not known:
        raise InputError("None of the labelled rows names a configured route; nothing to fit.")
    texts = [rows[i]["text"] for i in known]
    scores = router.score_vectors(embed_sorted(router.encoder, texts))
    truth = np.array([names.index(rows[i]["route"]) for i in known])
    default = names.index(router.routes.default_route)
    rng = np.random.default_rng(seed)
    start = np.array([router.thresholds[n] for n in names])
    fitted = []
    for _ in range(rounds):
        sample = rng.integers(0, len(truth), len(truth))
        fitted.append(_coordinate_ascent(scores[sample], truth[sample], default, start.copy(), rng))
    median = np.median(np.stack(fitted), axis=0)
    return {n: float(np.round(t, 2)) for n, t in zip(names, median, strict=True)}


def _coordinate_ascent(scores: np.ndarray, truth: np.ndarray, default: int, thresholds: np.ndarray,
                       rng: np.random.Generator, passes: int = 3) -> np.ndarray:
    best = scores.argmax(axis=1)
    top = scores[np.arange(len(scores)), best]
    for _ in range(passes):
        for route in rng.permutation(len(thresholds)):
            mine = best == route
            gains = []
            for candidate in _GRID:
                predicted = np.where(mine & (top < candidate), default, best)
                # prefer the lower threshold on ties (the default route is only a safety net)
                gains.append((predicted == truth).sum() - 1e-3 * candidate)
            thresholds[route] = _GRID[int(np.argmax(gains))]
    return thresholds


def write_thresholds(path: Path, thresholds: dict[str, float]) -> None:
    """Merge ``thresholds`` into the user's routes file (created if missing); other entries are kept."""
    path = Path(path)
    data = (yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None) or {}
    data.setdefault("version", 1)
    entries = data.setdefault("routes", [])
    by_name = {e.get("name"): e for e in entries if isinstance(e, dict)}
    for name, value in thresholds.items():
        if name in by_name:
            by_name[name]["threshold"] = value
        else:
            entries.append({"name": name, "threshold": value})
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("# Thresholds written by `vtai route --fit`; edit freely.\n"
                   + yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    tmp.replace(path)


def format_report(report: Report) -> str:
    """Plain-text accuracy, per-route P/R/F1 and confusion matrix."""
    width = max(len(label) for label in report.labels)
    lines = [f"accuracy: {report.accuracy:.3f} ({round(report.accuracy * report.total)}/{report.total}), "
             f"macro F1: {report.macro_f1:.3f}, fallbacks: {report.fallbacks}", "",
             f"{'route':<{width}}  precision  recall     f1  support"]
    for label, m in report.per_route.items():
        lines.append(f"{label:<{width}}  {m.precision:9.3f}  {m.recall:6.3f}  {m.f1:5.3f}  {m.support:7d}")
    short = [label[:6] for label in report.labels]
    lines += ["", "confusion (rows: expected, columns: predicted)",
              f"{'':<{width}}  " + " ".join(f"{s:>6}" for s in short)]
    for truth in report.labels:
        lines.append(f"{truth:<{width}}  " + " ".join(f"{report.confusion[truth][p]:6d}" for p in report.labels))
    return "\n".join(lines)
