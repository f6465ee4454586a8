"""Checks every criterion makes before it measures: is the evidence there, whole, and usable."""

from __future__ import annotations

from collections.abc import Mapping

from validator.criteria.series_math import MIN_COVERAGE, all_timestamps, coverage
from validator.model import Compressed, CriterionSpec, Evidence, QueryResult, Result, SourceName, Verdict


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


def not_exercised(
    spec: CriterionSpec,
    detail: str,
    *,
    scope: Mapping[str, str] | None = None,
    unit: str = "",
    threshold: Mapping[str, float] | None = None,
) -> Result:
    """A scope the run never put to the test: reported, never counted as a pass."""
    return Result(
        criterion=spec.id,
        scope=dict(scope or {}),
        verdict=Verdict.NOT_EXERCISED,
        value=None,
        unit=unit,
        threshold=dict(threshold or {}),
        detail=f"not exercised: {detail}",
    )


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
    compressed: Compressed | None = None,
) -> Result:
    return Result(
        compressed=compressed,
        criterion=spec.id,
        scope=dict(scope or {}),
        verdict=Verdict.PASS if ok else Verdict.FAIL,
        value=value,
        unit=unit,
        threshold=dict(threshold or {}),
        detail=detail,
        advice=() if ok else advice,
    )


def on_clock(evidence: Evidence, seconds: float) -> tuple[float, Compressed | None]:
    """A duration measured on the run's clock, in real time: a compressed run's seconds count
    `time_factor` times (the sandbox's nightly runs at 30x). Returns the real-time figure and, for a
    compressed run, what was measured (the report shows both)."""
    factor = evidence.manifest.time_factor
    if factor == 1.0:
        return seconds, None
    return seconds * factor, Compressed(time_factor=factor, value=seconds)


def budget_on_run_clock(evidence: Evidence, budget_s: float) -> float:
    """A real-time budget in seconds of the run's clock."""
    return budget_s / evidence.manifest.time_factor


def clock_note(compressed: Compressed | None) -> str:
    if compressed is None:
        return ""
    return f" ({compressed.value:.1f} s measured at {compressed.time_factor:g}x compression)"


def window_too_short(
    spec: CriterionSpec,
    evidence: Evidence,
    what: str,
    elapsed: float,
    budget: float,
    *,
    scope: Mapping[str, str] | None = None,
    unit: str = "seconds",
    threshold: Mapping[str, float] | None = None,
) -> Result:
    """An outcome not seen before the window ended, with its budget not yet elapsed: undecided."""
    real, compressed = on_clock(evidence, elapsed)
    return inconclusive(
        spec,
        f"window too short to judge: {what} {real:.0f} s before the window ended{clock_note(compressed)}, "
        f"under its {budget:g} s budget",
        scope=scope,
        unit=unit,
        threshold=threshold,
        advice=(
            "lengthen the suite's cooldown (or move the fault earlier) so the window outlasts the budget",
        ),
    )
