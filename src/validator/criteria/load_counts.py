"""Counting requests and failures from Locust's cumulative stats history over a span."""

from __future__ import annotations

from validator.criteria.series_math import counter_increases
from validator.model import LoadSample, TimeWindow


def increase(samples: tuple[LoadSample, ...], span: TimeWindow, *, failures: bool) -> tuple[int, int]:
    """(increase of the cumulative total over `span`, samples inside it). A drop is a Locust restart.

    The baseline is the last sample at or before the span's start; the span's samples are those after
    its start up to and including its end.
    """
    points: list[tuple[float, float]] = []
    before = [s for s in samples if s.timestamp <= span.start]
    if before:
        points.append((before[-1].timestamp, _total(before[-1], failures)))
    inside = [s for s in samples if span.start < s.timestamp <= span.end]
    points.extend((s.timestamp, _total(s, failures)) for s in inside)
    if not before and inside:
        # no baseline: Locust started inside the span, so its counters started at zero
        points.insert(0, (span.start, 0.0))
    return int(sum(v for _, v in counter_increases(points))), len(inside)


def p95_values(samples: tuple[LoadSample, ...], span: TimeWindow, *, include_end: bool = True) -> list[float]:
    return [
        s.p95
        for s in samples
        if s.p95 is not None
        and span.start <= s.timestamp
        and (s.timestamp <= span.end if include_end else s.timestamp < span.end)
    ]


def _total(sample: LoadSample, failures: bool) -> float:
    return float(sample.total_failures if failures else sample.total_requests)
