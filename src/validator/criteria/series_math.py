"""Arithmetic over Prometheus series: grouping, alignment, coverage, counter increases, percentiles."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence

from validator.model import QueryResult, SamplePoints, Series, TimeWindow

Points = list[tuple[float, float]]

# A query whose samples cover less than this share of the window's steps is partial data.
MIN_COVERAGE = 0.9


def finite(points: Iterable[tuple[float, float]]) -> Points:
    return [(t, v) for t, v in points if math.isfinite(v)]


def sum_by(
    result: QueryResult, *labels: str, window: TimeWindow | None = None
) -> dict[tuple[str, ...], Points]:
    """Series of `result` summed per value of `labels`, each sorted by time, NaN dropped."""
    acc: dict[tuple[str, ...], dict[float, float]] = {}
    for series in result.series:
        key = tuple(series.label(name) for name in labels)
        slot = acc.setdefault(key, {})
        for t, v in finite(series.points):
            if window is not None and not (window.start <= t <= window.end):
                continue
            slot[t] = slot.get(t, 0.0) + v
    return {k: sorted(v.items()) for k, v in acc.items() if v}


def max_by(
    result: QueryResult, *labels: str, window: TimeWindow | None = None
) -> dict[tuple[str, ...], Points]:
    """Series of `result` maxed per value of `labels` (at each time the largest value, the first
    series' on a tie), each sorted by time, NaN dropped."""
    acc: dict[tuple[str, ...], dict[float, float]] = {}
    isfinite = math.isfinite
    for series in result.series:
        key = tuple(series.label(name) for name in labels)
        slot = acc.get(key)
        if slot is None:
            # the usual case, a key's one series: its points as they are, built in C, when they are
            # inside the window, finite (a non-finite time or value makes its sum non-finite) and
            # each time is there once
            slot = dict(series.points)
            if (
                len(slot) == len(series.points)
                and (window is None or not slot or (window.start <= min(slot) and max(slot) <= window.end))
                and isfinite(sum(slot.values()))
                and (window is None or isfinite(sum(slot)))
            ):
                acc[key] = slot
                continue
            slot = acc[key] = {}
        get = slot.get
        # one loop per case, no per-point call: this runs over every sample of every pod's series
        if window is None:
            for t, v in series.points:
                if isfinite(v) and ((old := get(t)) is None or v > old):
                    slot[t] = v
        else:
            start, end = window.start, window.end
            for t, v in series.points:
                if start <= t <= end and isfinite(v) and ((old := get(t)) is None or v > old):
                    slot[t] = v
    return {k: sorted(v.items()) for k, v in acc.items() if v}


def max_by_samples(
    result: QueryResult, *labels: str, window: TimeWindow | None = None
) -> dict[tuple[str, ...], SamplePoints]:
    """`max_by`, each key's points held compactly (`SamplePoints`): for the per-pod series of a big
    run, where lists of every pod's points would cost more than the evidence itself. A key's one
    series that is already what `max_by` would make of it (finite values, increasing times inside
    the window) is its own result, not copied."""
    grouped: dict[tuple[str, ...], list[Series]] = {}
    for series in result.series:
        grouped.setdefault(tuple(series.label(name) for name in labels), []).append(series)
    out: dict[tuple[str, ...], SamplePoints] = {}
    for key, members in grouped.items():
        own = members[0].points
        if len(members) == 1 and isinstance(own, SamplePoints) and _as_it_is(own, window):
            points = own
        else:
            maxed = max_by(QueryResult(key="", series=tuple(members)), window=window)
            points = SamplePoints.of(next(iter(maxed.values()), []))
        if points:
            out[key] = points
    return out


def _as_it_is(points: SamplePoints, window: TimeWindow | None) -> bool:
    """Points `max_by` would leave as they are: finite values at increasing times inside `window`."""
    return points.in_shape() and (
        window is None or not points or (window.start <= points[0][0] and points[-1][0] <= window.end)
    )


def ratio_points(
    numerator: Iterable[tuple[float, float]], denominator: Iterable[tuple[float, float]]
) -> Points:
    """numerator / denominator at the timestamps both have, where the denominator is > 0."""
    den = dict(denominator)
    return [(t, v / den[t]) for t, v in numerator if t in den and den[t] > 0]


def coverage(timestamps: Iterable[float], window: TimeWindow, step: float) -> float:
    """Share of the window's query steps that have a sample (1.0 = complete)."""
    if step <= 0 or window.duration <= 0:
        return 1.0
    expected = math.floor(window.duration / step) + 1
    seen = {round((t - window.start) / step) for t in timestamps if window.start <= t <= window.end}
    return min(1.0, len(seen) / expected)


def all_timestamps(result: QueryResult) -> set[float]:
    found: set[float] = set()
    for series in result.series:
        points = series.points
        found.update(points.times() if isinstance(points, SamplePoints) else [t for t, _ in points])
    return found


def mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in 0..1."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = q * (len(ordered) - 1)
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def counter_increases(points: Points) -> list[tuple[float, float]]:
    """(time, increase) for each step where a counter went up. A drop is a reset: the new value
    counts as the increase since the reset (as Prometheus' `increase` does)."""
    out: list[tuple[float, float]] = []
    for (_, prev), (t, cur) in itertools.pairwise(points):
        if cur > prev:
            out.append((t, cur - prev))
        elif cur < prev and cur > 0:
            out.append((t, cur))
    return out


def value_at(points: Points, t: float, tolerance: float) -> float | None:
    """The sample at or just after `t` (within `tolerance`), else the latest before it within tolerance."""
    best: tuple[float, float] | None = None
    for ts, v in points:
        if abs(ts - t) <= tolerance and (best is None or abs(ts - t) < abs(best[0] - t) or ts >= t > best[0]):
            best = (ts, v)
    return None if best is None else best[1]


def linear_slope(points: Points) -> float | None:
    """Least-squares slope (units per second); None with fewer than two distinct times."""
    if len(points) < 2:
        return None
    ts = [t for t, _ in points]
    vs = [v for _, v in points]
    mt = mean(ts)
    mv = mean(vs)
    den = math.fsum((t - mt) ** 2 for t in ts)
    if den == 0:
        return None
    return math.fsum((t - mt) * (v - mv) for t, v in zip(ts, vs, strict=True)) / den


def paired_share(first: Points, second: Points) -> float:
    """Of the sample times either series has, the share both have: how much of the span a scope
    was seen to exist in (by either source) is actually measured (by both). 0.0 when neither has any."""
    a = {t for t, _ in first}
    b = {t for t, _ in second}
    seen = a | b
    return len(a & b) / len(seen) if seen else 0.0
