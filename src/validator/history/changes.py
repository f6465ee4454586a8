"""Regressions, not just verdicts: change-point detection over each criterion-scope's values, night
after night (Apache Otava's e-divisive means with a t-test, the method of Fleming et al., "Hunter").

A shift is significant at p < MAX_PVALUE; it is a regression when it moves the value the bad way
for its criterion (higher for a `max`, lower for a `min`, away from the middle of a band), even
while the value is still inside its threshold (recovery 40 s -> 140 s is a regression before it is a
failure). Fewer than MIN_RUNS values cannot say (`inconclusive`); nights that did not judge the
scope are skipped, not read as zero.

Change points need several runs on each side of a change, so the newest runs are also checked on
their own (`step`): the latest value against the runs since the last change point (at least
MIN_STEP_BASELINE of them) is a step when it lies further from their mean than SPREAD_K of their
standard deviations AND than a magnitude floor: `tolerance` (default 15%) of that mean, and
MAGNITUDE_OF_BAND (2%) of the threshold's edge. That last floor holds for change points too: a
series that is exactly 0 s night after night makes any 3 s night "significant", yet 3 s of a 300 s
budget is nothing anyone acts on. A step is what a nightly sees the morning after a change; the
change point confirms it once enough nights follow.

An excursion that ended is not a trend: two consecutive change points that go one way and then
back, the second landing within RETURNED_WITHIN of the first's size of where the series was
before it (a bad deploy reverted, or, over a year of noise, a few outlier nights in a row), are
left out of the shifts. Otava at p < 0.001 still finds such pairs in long series of pure noise:
without this, 3 of 57 noise-only series of a year (benchmarks/history_backfill.py) ended on an
excursion's return read as a "regression" or an "improvement"."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from validator.model import DEFAULT_REGRESSION_TOLERANCE

MIN_RUNS = 4
MIN_STEP_BASELINE = 2  # earlier runs a step is measured against
SPREAD_K = 4.0  # standard deviations of the baseline a step must exceed
DEFAULT_TOLERANCE = DEFAULT_REGRESSION_TOLERANCE  # share of the baseline's mean a step must exceed
MAGNITUDE_OF_BAND = 0.02  # share of the threshold's edge any reported change must exceed
MAX_PVALUE = 0.001  # Otava's own default: noise alone must not read as a change
WINDOW = 30  # runs compared at a time (Otava's window_len)
RETURNED_WITHIN = 1 / 3  # an excursion's return lands this close (of its size) to where it began


class Method(StrEnum):
    CHANGE_POINT = "change point"  # Otava's e-divisive means, significant at p < MAX_PVALUE
    STEP = "step"  # the latest run against the runs before it (see the module doc)


class Trend(StrEnum):
    STEADY = "steady"
    REGRESSED = "regressed"
    IMPROVED = "improved"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True, slots=True, kw_only=True)
class Shift:
    """A significant change between two runs of the series."""

    index: int  # position in the series given (the first run after the change)
    before: float  # mean before
    after: float  # mean after
    pvalue: float  # the change point's; 0 for a step (not a significance test)
    worse: bool
    method: Method = Method.CHANGE_POINT


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    trend: Trend
    shifts: tuple[Shift, ...] = ()
    reason: str = ""

    @property
    def latest(self) -> Shift | None:
        return self.shifts[-1] if self.shifts else None


def worse(threshold: Mapping[str, float], before: float, after: float) -> bool:
    """Whether moving from `before` to `after` is the bad direction for this threshold."""
    low, high = threshold.get("min"), threshold.get("max")
    if low is not None and high is not None:
        middle = (low + high) / 2
        return abs(after - middle) > abs(before - middle)
    if high is not None:
        return after > before
    if low is not None:
        return after < before
    return False  # no direction is known to be bad


def _magnitude_floor(threshold: Mapping[str, float], mean: float, tolerance: float) -> float:
    edges = [abs(v) for k, v in threshold.items() if k in ("min", "max")]
    return max(tolerance * abs(mean), MAGNITUDE_OF_BAND * max(edges, default=0.0))


def without_excursions(shifts: Sequence[Shift]) -> tuple[Shift, ...]:
    """The shifts less every excursion that ended (see the module doc), first to last."""
    kept: list[Shift] = []
    k = 0
    while k < len(shifts):
        if k + 1 < len(shifts):
            out, back = shifts[k], shifts[k + 1]
            size = out.after - out.before
            if (
                size * (back.after - back.before) < 0
                and abs(back.after - out.before) <= RETURNED_WITHIN * abs(size)
            ):
                k += 2
                continue
        kept.append(shifts[k])
        k += 1
    return tuple(kept)


def latest_step(
    known: Sequence[tuple[int, float]],
    threshold: Mapping[str, float],
    *,
    since: int = 0,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Shift | None:
    """The newest value against the values from position `since` (the last change point) up to it,
    when it stands out by the module doc's rule; None otherwise."""
    if len(known) < MIN_STEP_BASELINE + 1:
        return None
    index, latest = known[-1]
    baseline = [v for i, v in known[:-1] if i >= since][-WINDOW:]
    if len(baseline) < MIN_STEP_BASELINE:
        return None
    mean = statistics.fmean(baseline)
    spread = statistics.stdev(baseline)
    delta = abs(latest - mean)
    if delta <= SPREAD_K * spread or delta <= _magnitude_floor(threshold, mean, tolerance):
        return None
    return Shift(
        index=index, before=mean, after=latest, pvalue=0.0, worse=worse(threshold, mean, latest),
        method=Method.STEP,
    )


def detect(
    values: Sequence[float | None],
    threshold: Mapping[str, float],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Finding:
    """The trend of one criterion-scope over its runs (None: a run that did not measure it)."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    shifts: tuple[Shift, ...] = ()
    if len(known) >= MIN_RUNS:
        from otava.analysis import compute_change_points  # here: ~0.5 s of import for the runs that detect

        points, _ = compute_change_points([v for _, v in known], window_len=WINDOW, max_pvalue=MAX_PVALUE)
        floor = _magnitude_floor(threshold, 0.0, 0.0)
        shifts = without_excursions([
            Shift(
                index=known[p.index][0],
                before=float(p.stats.mean_before()),
                after=float(p.stats.mean_after()),
                pvalue=float(p.stats.pvalue),
                worse=worse(threshold, float(p.stats.mean_before()), float(p.stats.mean_after())),
            )
            for p in points
            if abs(float(p.stats.mean_after()) - float(p.stats.mean_before())) > floor
        ])
    if known and (not shifts or shifts[-1].index != known[-1][0]):
        step = latest_step(known, threshold, since=shifts[-1].index if shifts else 0, tolerance=tolerance)
        if step is not None:
            shifts = (*shifts, step)
    if not shifts:
        if len(known) < MIN_RUNS:  # a step would have shown; steadiness needs more runs
            return Finding(
                trend=Trend.INCONCLUSIVE,
                reason=f"{len(known)} measured run(s): no step against the earlier ones; a change "
                f"point (or steadiness) needs at least {MIN_RUNS}",
            )
        return Finding(trend=Trend.STEADY)
    last = shifts[-1]
    return Finding(trend=Trend.REGRESSED if last.worse else Trend.IMPROVED, shifts=shifts)
