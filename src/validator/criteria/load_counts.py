"""Counting requests and failures from Locust's cumulative stats history over a span."""

from __future__ import annotations

from validator.criteria.series_math import counter_increases
from validator.model import LoadSample, TimeWindow


def increase(samples: tuple[LoadSample, ...], span: TimeWindow, *, failures: bool) -> tuple[int, int]:
    """(increase of the cumulative total over `span`, samples inside it). A drop is a Locust restart."""
    points: list[tuple[float, float]] = []
    before = [s for s in samples if s.timestamp < span.start]
    if before:
        points.append((before[-1].timestamp, _total(before[-1], failures)))
    inside = [s for s in samples if span.start <= s.timestamp <= span.end]
    points.extend((s.timestamp, _total(s, failures)) for s in inside)
    if not before and inside:
        # the first sample in the span has no baseline: count from zero only if Locust started inside it
        points.insert(0, (span.start, 0.0))
    return int(sum(v for _, v in counter_increases(points))), len(inside)


def p95_values(samples: tuple[LoadSample, ...], span: TimeWindow) -> list[float]:
    return [s.p95 for s in samples if span.start <= s.timestamp <= span.end and s.p95 is not None]


def _total(sample: LoadSample, failures: bool) -> float:
    return float(sample.total_failures if failures else sample.total_requests)
