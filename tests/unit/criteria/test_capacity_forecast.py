"""capacity_forecast (info): days until each quota resource is exhausted at its week-long trend."""

from __future__ import annotations

import pytest

from tests.support.evidence import (
    WINDOW,
    evidence,
    manifest,
    metrics,
    ok,
    only,
    series,
    spec,
    steady,
)
from validator.criteria import capacity_forecast as crit
from validator.model import Verdict

Q = {"namespace": "agents", "resourcequota": "agents", "resource": "requests.cpu"}
DAY = 86400
WEEK = 7 * DAY


def quota(used: float, *, per_day: float, history_s: float = WEEK, hard: float = 100.0):
    """Usage `used` in the window, growing `per_day`, with `history_s` (run-clock s) of history at
    the window's end."""
    return metrics(
        ok("quota_used", series(Q, steady(used))),
        ok("quota_hard", series(Q, steady(hard))),
        ok("quota_trend", series(Q, steady(per_day / DAY))),
        ok("quota_history", series(Q, steady(lambda t: history_s - WINDOW + t))),
    )


CASES = [
    # 50 of 100 used, growing 1/day over the last week: 50 days left
    ("slow-growth", quota(50, per_day=1), Verdict.PASS, 50.0),
    ("fast-growth", quota(50, per_day=10), Verdict.FAIL, 5.0),
    ("flat", quota(50, per_day=0), Verdict.PASS, None),
    ("shrinking", quota(60, per_day=-2), Verdict.PASS, None),
    ("already-exhausted", quota(100, per_day=0, history_s=60), Verdict.FAIL, 0.0),
]


@pytest.mark.parametrize(("found", "verdict", "value"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_days_left(found, verdict, value) -> None:
    result = only(crit.evaluate(spec(crit), evidence(metrics=found)))
    assert result.verdict is verdict, result.detail
    assert result.scope == {"quota": "agents/agents", "resource": "requests.cpu"}
    if value is None:
        assert result.value is None and "not growing" in result.detail
    else:
        assert result.value == pytest.approx(value, abs=0.01)


def test_a_runs_own_ramp_is_no_trend() -> None:
    """Ten minutes of history (a fresh sandbox's Prometheus) project nothing, however steep."""
    result = only(crit.evaluate(spec(crit), evidence(metrics=quota(90, per_day=5000, history_s=600))))
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "holds 10.0 min" in result.detail and "at least 1 day" in result.detail, result.detail


def test_compressed_runs_count_history_and_growth_in_cluster_time() -> None:
    """In a run at 30x, four hours of Prometheus history are five cluster days, and growth of 30/day
    on the run's clock is 1/day of cluster time."""
    found = quota(50, per_day=30, history_s=4 * 3600)
    compressed = evidence(metrics=found, manifest_=manifest(time_factor=30.0))
    result = only(crit.evaluate(spec(crit), compressed))
    assert result.verdict is Verdict.PASS
    assert result.value == pytest.approx(50.0, abs=0.01)
    assert "over the last 5.0 days" in result.detail, result.detail
    # the same evidence from a real-time run has four hours of history: too short
    real = only(crit.evaluate(spec(crit), evidence(metrics=found)))
    assert real.verdict is Verdict.INCONCLUSIVE


def test_min_history_days_is_a_threshold() -> None:
    found = quota(50, per_day=1, history_s=2 * DAY)
    assert only(crit.evaluate(spec(crit), evidence(metrics=found))).verdict is Verdict.PASS
    strict = only(crit.evaluate(spec(crit, min_history_days=3), evidence(metrics=found)))
    assert strict.verdict is Verdict.INCONCLUSIVE


def test_a_resource_forbidden_by_a_zero_limit_has_nothing_to_forecast() -> None:
    found = quota(0, per_day=0, history_s=60, hard=0)
    result = only(crit.evaluate(spec(crit), evidence(metrics=found)))
    assert (result.verdict, result.value) == (Verdict.PASS, None)
    assert "none allowed" in result.detail
    used_anyway = only(crit.evaluate(spec(crit), evidence(metrics=quota(1, per_day=0, hard=0))))
    assert (used_anyway.verdict, used_anyway.value) == (Verdict.FAIL, 0.0)


def test_is_info() -> None:
    assert crit.INFO is True


@pytest.mark.parametrize(
    "found",
    [
        None,
        metrics(ok("quota_used"), ok("quota_hard"), ok("quota_trend"), ok("quota_history")),
        metrics(
            ok("quota_used", series(Q, steady(50))),
            ok("quota_hard", series(Q, steady(100))),
            ok("quota_trend"),
            ok("quota_history", series(Q, steady(WEEK))),
        ),
        metrics(ok("quota_used", series(Q, steady(50))), ok("quota_hard")),
    ],
    ids=["no-prometheus", "no-quota", "no-trend", "no-hard-limit"],
)
def test_inconclusive(found) -> None:
    assert only(crit.evaluate(spec(crit), evidence(metrics=found))).verdict is Verdict.INCONCLUSIVE
