"""evidence/metrics.json: the Prometheus range queries over the run's window (schema
validator.metrics/v1), written by the collector and read back for the criteria."""

from __future__ import annotations

import json
import math
from array import array
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from validator.model import (
    MetricsEvidence,
    QueryResult,
    QueryStatus,
    SamplePoints,
    Series,
)
from validator.run_directory.json_values import as_list, as_map, decode_line
from validator.run_directory.layout import METRICS, write_text_atomically

METRICS_SCHEMA = "validator.metrics/v1"


def write_metrics_json(run_dir: Path, document: Mapping[str, Any]) -> Path:
    """Write evidence/metrics.json atomically (a crash leaves the old file or none, never half of one)."""
    return write_text_atomically(run_dir / METRICS, json.dumps(document, indent=1, sort_keys=False) + "\n")


class _TypedSeries(msgspec.Struct):
    labels: dict[str, str] = {}
    points: msgspec.Raw = msgspec.Raw(b"[]")  # decoded one series at a time


class _TypedQuery(msgspec.Struct):
    status: str | None = None
    promql: str = ""
    series: list[_TypedSeries] = []


class _TypedDocument(msgspec.Struct):
    queries: dict[str, _TypedQuery]
    step_seconds: float = 15.0
    prometheus_url: str = ""


_TYPED = msgspec.json.Decoder(_TypedDocument)
_POINTS = msgspec.json.Decoder(list[tuple[float, float]])


def load_metrics(path: Path) -> MetricsEvidence:
    """The queries, their series and points. A document of the usual shape (every query ok, every
    point a [time, value] pair of numbers) is decoded by msgspec, typed, one series' points at a
    time straight into the model's compact `SamplePoints`, so no second copy of the points is
    ever held; anything else is read leniently, point by point."""
    data = path.read_bytes()
    try:
        return _load_typed(data)
    except msgspec.MsgspecError:
        return _load_lenient(data)


def _load_typed(data: bytes) -> MetricsEvidence:
    typed = _TYPED.decode(data)
    if not all(q.status == "ok" for q in typed.queries.values()) or typed.step_seconds <= 0:
        raise msgspec.ValidationError("not every query is ok")
    queries: dict[str, QueryResult] = {}
    for key, entry in typed.queries.items():
        series: list[Series] = []
        for item in entry.series:
            points = _POINTS.decode(item.points)
            compact = _compact(points)
            # as written, the usual case: every value finite (a non-finite one makes the sum so), the
            # times increasing; otherwise the finite points, sorted
            if not compact.in_shape():
                compact = _compact(sorted(p for p in points if math.isfinite(p[1])))
            series.append(Series(labels=item.labels, points=compact))
        queries[key] = QueryResult(key=key, promql=entry.promql, series=tuple(series))
    return MetricsEvidence(
        queries=queries, step_seconds=typed.step_seconds, prometheus_url=typed.prometheus_url
    )


def _compact(points: list[tuple[float, float]]) -> SamplePoints:
    if not points:
        return SamplePoints(array("d"), array("d"))
    times, values = zip(*points, strict=True)
    return SamplePoints(array("d", times), array("d", values))


def _load_lenient(data: bytes) -> MetricsEvidence:
    try:
        raw = decode_line(data)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("queries"), dict):
        raise ValueError("expected an object with a `queries` mapping (schema validator.metrics/v1)")
    problems: list[str] = []
    queries: dict[str, QueryResult] = {}
    for key, entry in raw["queries"].items():
        if not isinstance(entry, dict):
            problems.append(f"queries.{key}: not an object")
            continue
        status = entry.get("status")
        if status == "ok":
            series = []
            unread = 0
            for item in as_list(entry.get("series")):
                item = as_map(item)
                points, bad = _points(as_list(item.get("points")))
                unread += bad
                labels = {str(k): str(v) for k, v in as_map(item.get("labels")).items()}
                series.append(Series(labels=labels, points=_compact(sorted(points))))
            partial = f"{unread} point(s) of query `{key}` are not [time, value]" if unread else ""
            if partial:
                problems.append(f"queries.{key}: {partial}")
            queries[str(key)] = QueryResult(
                key=str(key), promql=str(entry.get("promql", "")), series=tuple(series), partial=partial
            )
        else:
            queries[str(key)] = QueryResult(
                key=str(key),
                promql=str(entry.get("promql", "")),
                status=QueryStatus.ERROR,
                error=str(entry.get("error", "") or f"status {status!r}"),
            )
    step = raw.get("step_seconds", 15)
    return MetricsEvidence(
        queries=queries,
        step_seconds=float(step) if isinstance(step, int | float) and step > 0 else 15.0,
        prometheus_url=str(raw.get("prometheus_url", "") or ""),
        partial="; ".join(problems[:3]),
    )


def _points(raw: list[Any]) -> tuple[list[tuple[float, float]], int]:
    """The finite (time, value) points of one series, and how many were not [time, value]."""
    try:  # the common shape, in one comprehension: pairs of numbers
        points = [(float(t), float(v)) for t, v in raw]
    except (TypeError, ValueError):
        pass
    else:
        return [p for p in points if math.isfinite(p[1])], 0
    points = []
    unread = 0
    for point in raw:
        try:
            t, v = float(point[0]), float(point[1])
        except (TypeError, ValueError, IndexError):
            unread += 1
            continue
        if math.isfinite(v):
            points.append((t, v))
    return points, unread
