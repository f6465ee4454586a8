"""Regressions, not just verdicts: change-point detection over each criterion-scope's values, night
after night (Apache Otava's e-divisive means with a t-test, the method of Fleming et al., "Hunter").

A shift is significant at p < MAX_PVALUE; it is a regression when it moves the value the bad way
for its criterion (higher for a `max`, lower for a `min`, away from the middle of a band), even
while the value is still inside its threshold (recovery 40 s -> 140 s is a regression before it is a
failure). Fewer than MIN_RUNS values cannot say (`inconclusive`); nights that did not judge the
scope are skipped, not read as zero."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from otava.analysis import compute_change_points

MIN_RUNS = 4
MAX_PVALUE = 0.001  # Otava's own default: noise alone must not read as a change
WINDOW = 30  # runs compared at a time (Otava's window_len)


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
    pvalue: float
    worse: bool


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


def detect(values: Sequence[float | None], threshold: Mapping[str, float]) -> Finding:
    """The trend of one criterion-scope over its runs (None: a run that did not measure it)."""
    known = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(known) < MIN_RUNS:
        return Finding(
            trend=Trend.INCONCLUSIVE,
            reason=f"{len(known)} measured run(s); change points need at least {MIN_RUNS}",
        )
    points, _ = compute_change_points([v for _, v in known], window_len=WINDOW, max_pvalue=MAX_PVALUE)
    shifts = tuple(
        Shift(
            index=known[p.index][0],
            before=float(p.stats.mean_before()),
            after=float(p.stats.mean_after()),
            pvalue=float(p.stats.pvalue),
            worse=worse(threshold, float(p.stats.mean_before()), float(p.stats.mean_after())),
        )
        for p in points
    )
    if not shifts:
        return Finding(trend=Trend.STEADY)
    last = shifts[-1]
    return Finding(trend=Trend.REGRESSED if last.worse else Trend.IMPROVED, shifts=shifts)
