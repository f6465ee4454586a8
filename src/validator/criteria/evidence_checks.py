"""Checks every criterion makes before it measures: is the evidence there, whole, and usable."""

from __future__ import annotations

from collections.abc import Mapping

from validator.criteria.series_math import MIN_COVERAGE, all_timestamps, coverage
from validator.model import CriterionSpec, Evidence, QueryResult, Result, SourceName, Verdict


def queries(evidence: Evidence, keys: tuple[str, ...]) -> tuple[dict[str, QueryResult], str]:
    """The query results for `keys`, or "" plus the first reason one cannot be used."""
    if evidence.metrics is None:
        return {}, f"Prometheus evidence missing: {evidence.why_missing(SourceName.METRICS)}"
    found = {k: evidence.metrics.get(k) for k in keys}
    for key in keys:
        problem = found[key].problem()
        if problem:
            return found, problem
    return found, ""


def query_coverage_problem(evidence: Evidence, result: QueryResult) -> str:
    """A reason when `result` covers too little of the window to judge (partial data)."""
    step = evidence.metrics.step_seconds if evidence.metrics is not None else 15.0
    share = coverage(all_timestamps(result), evidence.window, step)
    if share < MIN_COVERAGE:
        return (
            f"partial data: query `{result.key}` covers {share * 100:.0f}% of the window's steps "
            f"(need {MIN_COVERAGE * 100:.0f}%)"
        )
    return ""


def at_most(value: float, limit: float) -> bool:
    """value <= limit, forgiving float noise (a mean of 0.8s may come out as 0.8000000000000002)."""
    return value <= limit + 1e-9 * max(1.0, abs(limit))


def at_least(value: float, limit: float) -> bool:
    return value >= limit - 1e-9 * max(1.0, abs(limit))


def inconclusive(
    spec: CriterionSpec,
    detail: str,
    *,
    scope: Mapping[str, str] | None = None,
    unit: str = "",
    threshold: Mapping[str, float] | None = None,
    advice: tuple[str, ...] = (),
) -> Result:
    return Result(
        criterion=spec.id,
        scope=dict(scope or {}),
        verdict=Verdict.INCONCLUSIVE,
        value=None,
        unit=unit,
        threshold=dict(threshold or {}),
        detail=detail,
        advice=advice,
    )


def judged(
    spec: CriterionSpec,
    ok: bool,
    value: float | None,
    detail: str,
    *,
    scope: Mapping[str, str] | None = None,
    unit: str = "",
    threshold: Mapping[str, float] | None = None,
    advice: tuple[str, ...] = (),
) -> Result:
    return Result(
        criterion=spec.id,
        scope=dict(scope or {}),
        verdict=Verdict.PASS if ok else Verdict.FAIL,
        value=value,
        unit=unit,
        threshold=dict(threshold or {}),
        detail=detail,
        advice=() if ok else advice,
    )
