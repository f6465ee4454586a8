"""The automatic check after every run: each criterion-scope the run measured, against the same
suite's earlier runs on the same context (validator.history.changes). A regression is a change the
bad way that started within the last LOOKBACK runs, whatever the value's verdict: recovery 40 s ->
140 s is a regression before it is a failure. Its own outcome in summary.json and junit.xml; under
the `fail` policy it also fails the run (results of info criteria aside, like their verdicts)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from validator.errors import ConfigError
from validator.history.changes import DEFAULT_TOLERANCE, Method, detect
from validator.history.store import HistoryStore, Point, default_history_path, series_scopes
from validator.model import (
    Regression,
    RegressionCheck,
    RegressionPolicy,
    RunManifest,
    Summary,
    Verdict,
)

LOOKBACK = 5  # a change that started within the last runs of a series is still news


def _first_run(suite: str, context: str, path: Path) -> str:
    return f"no earlier run of suite {suite or '(check)'} on {context} in {path}: nothing to compare with"


def _value(point: Point | None) -> float | None:
    return None if point is None else point.value


def _number(value: float, unit: str) -> str:
    return f"{value:.4g} {unit}".strip()


def check_regressions(
    store: HistoryStore,
    summary: Summary,
    *,
    suite: str,
    context: str,
    policy: RegressionPolicy,
    tolerance: float = DEFAULT_TOLERANCE,
) -> RegressionCheck:
    """The run (not yet recorded, or recorded: it is left out of its own baseline) against the
    suite's earlier runs on the same context."""
    every = store.runs(suite, context=context)  # the order store.series follows
    keep = [
        i for i, r in enumerate(every) if r.run_id != summary.run_id and r.window_end < summary.window.end
    ]
    earlier = [every[i] for i in keep]
    if not earlier:
        return RegressionCheck(policy=policy, earlier_runs=0, note=_first_run(suite, context, store.path))
    recorded = store.all_series(suite, context=context)  # one read, in `every`'s order
    ids = [r.run_id for r in earlier] + [summary.run_id]
    found: list[Regression] = []
    for outcome in summary.criteria:
        for result, scope in zip(outcome.results, series_scopes(outcome.results), strict=True):
            if result.value is None:
                continue
            points = recorded.get((outcome.id, scope)) or [None] * len(every)
            values = [_value(points[i]) for i in keep] + [result.value]
            finding = detect(values, result.threshold, tolerance=tolerance)
            shift = finding.latest
            if shift is None or not shift.worse or shift.index < len(values) - LOOKBACK:
                continue
            how = (
                f"a step on this run against the mean of the runs before it (tolerance {tolerance:.0%})"
                if shift.method is Method.STEP
                else f"a change point (p={shift.pvalue:.1g})"
            )
            found.append(
                Regression(
                    criterion=outcome.id,
                    scope=scope,
                    started_run=ids[shift.index],
                    before=shift.before,
                    after=shift.after,
                    unit=result.unit,
                    method=shift.method.value,
                    detail=f"{_number(shift.before, result.unit)} -> {_number(shift.after, result.unit)} "
                    f"since run {ids[shift.index]}: {how}; this run: {result.verdict.value}",
                )
            )
    return RegressionCheck(policy=policy, earlier_runs=len(earlier), found=tuple(found))


def with_regressions(summary: Summary, check: RegressionCheck) -> Summary:
    """The summary carrying its check; under the `fail` policy a regression of a judged (not info)
    criterion makes the run's verdict fail."""
    info = {o.id for o in summary.criteria if o.info}
    fails = check.policy is RegressionPolicy.FAIL and any(r.criterion not in info for r in check.found)
    return replace(summary, regressions=check, verdict=Verdict.FAIL if fails else summary.verdict)


def judge_against_history(
    history: Path | None,
    summary: Summary,
    manifest: RunManifest,
    run_dir: Path,
    *,
    policy: RegressionPolicy,
    tolerance: float = DEFAULT_TOLERANCE,
) -> Summary:
    """The summary with its regression check against the history (`history`, default beside the
    run directory). A history that cannot be read leaves the verdict as it was and says why."""
    path = history or default_history_path(run_dir)
    suite = manifest.suite
    try:
        if not path.is_file():
            check = RegressionCheck(
                policy=policy, earlier_runs=0, note=_first_run(suite, manifest.context, path)
            )
        else:
            check = check_regressions(
                HistoryStore(path),
                summary,
                suite=suite,
                context=manifest.context,
                policy=policy,
                tolerance=tolerance,
            )
    except (sqlite3.Error, ConfigError, OSError) as exc:
        check = RegressionCheck(
            policy=policy, earlier_runs=0, note=f"history {path} not read ({type(exc).__name__}: {exc})"
        )
    return with_regressions(summary, check)


def regression_lines(check: RegressionCheck | None) -> list[str]:
    """What a console shows of the check: one line per regression, or why there is none to show."""
    if check is None:
        return []
    if check.note:
        return [f"history: {check.note}"]
    if not check.found:
        return [f"history: no regression against {check.earlier_runs} earlier run(s)"]
    effect = "fails the run" if check.policy is RegressionPolicy.FAIL else "warning"
    return [f"regression ({effect}): {r.criterion} {r.scope}: {r.detail}" for r in check.found]
