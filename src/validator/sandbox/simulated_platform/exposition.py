"""Prometheus text exposition format (0.0.4), written with the standard library.

prometheus_client is not a dependency of the project; this covers what the simulated platform
exposes: gauges, counters and one histogram."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Labels = dict[str, str]


@dataclass(frozen=True, slots=True)
class MetricFamily:
    name: str
    kind: str  # gauge | counter
    help: str
    samples: list[tuple[Labels, float]]


@dataclass(frozen=True, slots=True)
class HistogramSnapshot:
    buckets: tuple[tuple[float, int], ...]  # (upper bound, cumulative count), +Inf last
    count: int
    total: float


class Histogram:
    def __init__(self, bounds: tuple[float, ...]) -> None:
        self._bounds = tuple(sorted(bounds))
        self._counts = [0] * (len(self._bounds) + 1)
        self._sum = 0.0
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        with self._lock:
            self._sum += value
            for i, bound in enumerate(self._bounds):
                if value <= bound:
                    self._counts[i] += 1
                    return
            self._counts[-1] += 1

    def snapshot(self) -> HistogramSnapshot:
        with self._lock:
            cumulative, running = [], 0
            for bound, count in zip((*self._bounds, math.inf), self._counts, strict=True):
                running += count
                cumulative.append((bound, running))
            return HistogramSnapshot(buckets=tuple(cumulative), count=running, total=self._sum)


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape_label(v)}"' for k, v in sorted(labels.items())) + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(float(value)) if value != int(value) else f"{int(value)}"


def render(
    families: list[MetricFamily], histograms: list[tuple[str, str, HistogramSnapshot]] | None = None
) -> str:
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {family.help}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        lines.extend(f"{family.name}{_labels(labels)} {_number(value)}" for labels, value in family.samples)
    for name, help_text, snap in histograms or []:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} histogram")
        for bound, count in snap.buckets:
            lines.append(f'{name}_bucket{{le="{_number(bound)}"}} {count}')
        lines.append(f"{name}_sum {_number(snap.total)}")
        lines.append(f"{name}_count {snap.count}")
    return "\n".join(lines) + "\n"
