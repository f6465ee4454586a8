"""Each criterion at a glance: its worst scope first, the other scopes behind it, in the order that
matters. The report's compact criteria rows and the console's one line per criterion both read this.

A scope is worse than another when its verdict ranks higher (fail > inconclusive > not exercised >
pass) and, between scopes of one verdict, when its value lies further past its threshold (or, for
scopes that pass, nearer to it): the recovery that took longest over its limit, the agent whose
utilisation is nearest the edge of its band.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from validator.model import CriterionOutcome, Result, Summary, Verdict

# How bad a scope's verdict looks in the report: not exercised (nothing tested) ranks above pass.
RANK = {Verdict.FAIL: 3, Verdict.INCONCLUSIVE: 2, Verdict.NOT_EXERCISED: 1, Verdict.PASS: 0}


def beyond(result: Result) -> float:
    """How far the value lies past its threshold, relative to the threshold (0.1 = 10 % past it);
    negative inside the band, the nearer the edge the closer to 0. 0 with no value or threshold."""
    value = result.value
    if value is None or not math.isfinite(value):
        return 0.0
    distances = []
    for key, limit in result.threshold.items():
        if key in ("max", "below"):
            distance = value - limit
        elif key == "min":
            distance = limit - value
        elif key == "equals":
            distance = abs(value - limit)
        else:  # a bound on another measure than the value (min_success_ratio, ...)
            continue
        distances.append(distance / (abs(limit) or 1.0))
    return max(distances) if distances else 0.0


def _badness(result: Result) -> tuple[int, float]:
    return RANK[result.verdict], beyond(result)


@dataclass(frozen=True, slots=True)
class Glance:
    """One criterion: its verdict, its worst scope, and every other scope, worst first."""

    id: str
    info: bool
    verdict: Verdict
    worst: Result | None  # None when the criterion produced no result at all
    others: tuple[Result, ...]
    counts: Mapping[Verdict, int]  # scopes per verdict

    @property
    def scopes(self) -> int:
        return len(self.others) + (self.worst is not None)

    def counts_text(self) -> str:
        """`3/4 scopes pass`, `1 scope`, or `2 fail, 1 inconclusive, 5 pass` when several verdicts mix."""
        total = self.scopes
        if total <= 1:
            return f"{total} scope" if total else "no scope"
        passed = self.counts.get(Verdict.PASS, 0)
        mixed = [v for v in sorted(RANK, key=RANK.__getitem__, reverse=True) if self.counts.get(v)]
        if all(v in (Verdict.PASS, Verdict.FAIL) for v in mixed):
            return f"{passed}/{total} scopes pass"
        return ", ".join(f"{self.counts[v]} {v.value.replace('_', ' ')}" for v in mixed)


def glance(outcome: CriterionOutcome) -> Glance:
    ordered = sorted(outcome.results, key=_badness, reverse=True)  # stable: ties keep their order
    counts: dict[Verdict, int] = {}
    for result in outcome.results:
        counts[result.verdict] = counts.get(result.verdict, 0) + 1
    return Glance(
        id=outcome.id,
        info=outcome.info,
        verdict=outcome.verdict,
        worst=ordered[0] if ordered else None,
        others=tuple(ordered[1:]),
        counts=counts,
    )


def glances(summary: Summary) -> list[Glance]:
    """Every evaluated criterion, in the summary's order (the registry's: a fixed order every run)."""
    return [glance(outcome) for outcome in summary.criteria]
