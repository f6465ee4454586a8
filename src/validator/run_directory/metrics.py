"""evidence/metrics.json: the Prometheus range queries over the run's window (schema
validator.metrics/v1), written by the collector and read back for the criteria."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from validator.model import (
    MetricsEvidence,
    QueryResult,
    QueryStatus,
    Series,
)
from validator.run_directory.json_values import as_list, as_map
from validator.run_directory.layout import METRICS, write_text_atomically

METRICS_SCHEMA = "validator.metrics/v1"


def write_metrics_json(run_dir: Path, document: Mapping[str, Any]) -> Path:
    """Write evidence/metrics.json atomically (a crash leaves the old file or none, never half of one)."""
    return write_text_atomically(run_dir / METRICS, json.dumps(document, indent=1, sort_keys=False) + "\n")


def load_metrics(path: Path) -> MetricsEvidence:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
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
                points = []
                for point in as_list(item.get("points")):
                    try:
                        t, v = float(point[0]), float(point[1])
                    except (TypeError, ValueError, IndexError):
                        unread += 1
                        continue
                    if math.isfinite(v):
                        points.append((t, v))
                labels = {str(k): str(v) for k, v in as_map(item.get("labels")).items()}
                series.append(Series(labels=labels, points=tuple(sorted(points))))
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

