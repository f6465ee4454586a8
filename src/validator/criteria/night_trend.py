"""A straight-line trend over the nights: the least-squares fit of a measure over the runs' window ends
(scipy's `linregress`), with the slope's 95% interval from its standard error (Student's t on n - 2
degrees of freedom), and where the line reaches a limit."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

DAY = 86400.0
CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True, kw_only=True)
class Fit:
    """used ≈ level + slope x (days after the latest night)."""

    slope: float  # per day
    slope_low: float  # the slope's 95% interval
    slope_high: float
    level: float  # the fitted value at the latest night
    r2: float | None  # None when every night had the same value (nothing to explain)
    nights: int
    span_days: float

    def days_to(self, limit: float) -> float | None:
        """Days after the latest night until the fitted line reaches `limit` (0 when it is there
        already); None when it is not growing."""
        return _days(limit - self.level, self.slope)

    def days_interval(self, limit: float) -> tuple[float, float | None]:
        """The 95% interval of `days_to(limit)` from the slope's: (soonest, latest); latest None when
        a flat or shrinking trend is within the interval (it may never run out)."""
        soonest = _days(limit - self.level, self.slope_high)
        latest = _days(limit - self.level, self.slope_low)
        return (math.inf if soonest is None else soonest), latest

    def describe(self) -> str:
        r2 = "n/a (the same every night)" if self.r2 is None else f"{self.r2:.2f}"
        return (
            f"{self.slope:+.4g}/day (95%: {self.slope_low:+.4g} to {self.slope_high:+.4g}), r² {r2}, "
            f"{self.nights} nights over {self.span_days:.1f} days"
        )


def _days(headroom: float, slope: float) -> float | None:
    if slope <= 0:
        return None
    return max(0.0, headroom / slope)


def fit(points: Sequence[tuple[float, float]]) -> Fit | None:
    """The trend of (epoch seconds, value) points; None with fewer than three nights or a single
    night's time (no slope, or no spread to estimate its error from)."""
    ordered = sorted(points)
    if len(ordered) < 3:
        return None
    latest = ordered[-1][0]
    days = [(t - latest) / DAY for t, _ in ordered]
    values = [v for _, v in ordered]
    if days[0] == days[-1]:
        return None
    span = days[-1] - days[0]
    if max(values) == min(values):  # a constant: the exact flat line (linregress's r is undefined)
        return Fit(
            slope=0.0,
            slope_low=0.0,
            slope_high=0.0,
            level=values[0],
            r2=None,
            nights=len(ordered),
            span_days=span,
        )
    # imported here, where a trend is fitted: scipy.stats costs most of a second and ~80 MiB to import,
    # which every evaluation without earlier nights (and every `validator` command) would pay
    from scipy import stats

    line = stats.linregress(days, values)
    margin = float(stats.t.ppf(0.5 + CONFIDENCE / 2, len(ordered) - 2)) * float(line.stderr)
    slope = float(line.slope)
    return Fit(
        slope=slope,
        slope_low=slope - margin,
        slope_high=slope + margin,
        level=float(line.intercept),
        r2=float(line.rvalue) ** 2,
        nights=len(ordered),
        span_days=span,
    )
