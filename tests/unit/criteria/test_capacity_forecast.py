"""capacity_forecast (info): days until each quota resource is exhausted, at the trend of the nights in
the history (a least-squares line with its uncertainty), else at Prometheus's week-long trend."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.support.evidence import (
    T0,
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
from validator.model import HistoryEvidence, Measure, Night, Verdict

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


# -- judged from the nights' history ----------------------------------------------------------------
QUOTA_SCOPE = {"quota": "agents/agents", "resource": "requests.cpu"}


def nights(*used: float, every_days: float = 1.0) -> HistoryEvidence:
    """Earlier nights, one every `every_days`, the last `every_days` before tonight's window end."""
    end = T0 + WINDOW
    count = len(used)
    return HistoryEvidence(
        source="h.sqlite",
        nights=tuple(
            Night(
                run_id=f"night-{n:02d}",
                window_end=end - (count - n) * every_days * DAY,
                measures=(Measure(name="quota_used", scope=QUOTA_SCOPE, value=value),),
            )
            for n, value in enumerate(used)
        ),
    )


def tonight(
    used: float, history: HistoryEvidence | None, *, prometheus_days: float = 0.0, per_day: float = 0.0
):
    """Tonight's quota at `used` of 100, the given nights before it, and Prometheus holding
    `prometheus_days` of the series (growing `per_day`)."""
    found = quota(used, per_day=per_day, history_s=prometheus_days * DAY)
    return replace(evidence(metrics=found), history=history)


HISTORY_CASES = [
    # earlier nights' use, tonight's: a line of +2/day from 40 reaches 100 in 20 days
    ("growing-fails", nights(40, 42, 44, 46, 48), 50, Verdict.FAIL, 25.0),
    ("slow-growth-passes", nights(40, 40.5, 41, 41.5, 42), 42.5, Verdict.PASS, 115.0),
    ("flat-passes", nights(50, 50, 50, 50, 50), 50, Verdict.PASS, None),
    ("shrinking-passes", nights(60, 58, 56, 54, 52), 50, Verdict.PASS, None),
]


@pytest.mark.parametrize(
    ("history", "used", "verdict", "days"), [c[1:] for c in HISTORY_CASES], ids=[c[0] for c in HISTORY_CASES]
)
def test_judged_from_the_nights_trend(history, used, verdict, days) -> None:
    result = only(crit.evaluate(spec(crit), tonight(used, history)))
    assert result.verdict is verdict, result.detail
    assert result.detail.startswith("judged from the history's 6 nights"), result.detail
    assert "nights over 5.0 days" in result.detail
    if days is None:
        assert result.value is None and "not growing" in result.detail
    else:
        assert result.value == pytest.approx(days, abs=0.01)


def test_the_fit_and_its_uncertainty_are_in_the_detail() -> None:
    """Figures checked by hand with numpy.polyfit: slope 1.886/day, intercept 49.71, residual standard
    error over 4 degrees of freedom, t(0.975, 4) = 2.776."""
    noisy = nights(40, 43, 43, 47, 47)  # about +2/day, not exactly
    result = only(crit.evaluate(spec(crit), tonight(50, noisy)))
    assert result.verdict is Verdict.FAIL
    assert "trend +1.886/day (95%: +1.241 to +2.53), r² 0.94, 6 nights over 5.0 days" in result.detail
    # days to 100 from the fitted line's 49.71, and the interval from the slope's: sooner when steeper
    assert "reaches 100 in 26.7 days (95%: 19.9 to 40.5 days)" in result.detail, result.detail
    assert result.value == pytest.approx(26.67, abs=0.01)
    assert "runs out in 26.7 days at the nights' trend" in result.advice[0]


def test_an_uncertain_slope_may_never_run_out() -> None:
    wobbly = nights(50, 58, 44, 57, 46)
    result = only(crit.evaluate(spec(crit), tonight(56, wobbly)))
    assert result.verdict is Verdict.PASS, result.detail
    # +0.2/day, but anywhere from -4.3 to +4.7 (by hand, numpy.polyfit): it may never run out
    assert "(95%: -4.254 to +4.654)" in result.detail
    assert "days or never)" in result.detail, result.detail


def test_the_nights_judge_over_a_short_prometheus_history() -> None:
    """A fresh Prometheus (ten minutes) cannot judge; six nights can."""
    result = only(
        crit.evaluate(spec(crit), tonight(50, nights(40, 42, 44, 46, 48), prometheus_days=600 / DAY))
    )
    assert result.detail.startswith("judged from the history's")
    assert result.verdict is Verdict.FAIL


def test_too_few_nights_fall_back_to_prometheus_and_say_so() -> None:
    few = nights(40, 45, 50)  # four nights with tonight
    result = only(crit.evaluate(spec(crit), tonight(50, few, prometheus_days=7, per_day=1)))
    assert result.verdict is Verdict.PASS and result.value == pytest.approx(50.0, abs=0.01)
    assert result.detail.startswith(
        "judged from Prometheus: 50 of 100 used, growing 1/day over the last 7.0 days"
    )
    assert (
        "history: 4 night(s) over 3.0 days with this quota (tonight included); a trend needs 5 over 3 days"
        in (result.detail)
    )


def test_too_short_a_span_falls_back_too() -> None:
    frequent = nights(40, 41, 42, 43, 44, 45, every_days=0.1)
    result = only(crit.evaluate(spec(crit), tonight(46, frequent)))
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "7 night(s) over 0.6 days" in result.detail and "Prometheus holds 0.0 s" in result.detail


def test_too_few_nights_and_no_prometheus_history_is_inconclusive() -> None:
    result = only(crit.evaluate(spec(crit), tonight(50, nights(40, 45))))
    assert result.verdict is Verdict.INCONCLUSIVE and result.value is None
    assert "history: 3 night(s) over 2.0 days" in result.detail
    assert "let the history gather more nights" in result.detail


def test_no_history_at_all_says_so() -> None:
    result = only(crit.evaluate(spec(crit), tonight(50, None)))
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "history: no earlier run of this suite and context in the history" in result.detail


def test_min_nights_and_min_span_days_are_thresholds() -> None:
    few = nights(40, 42, 44)
    assert only(crit.evaluate(spec(crit), tonight(46, few))).verdict is Verdict.INCONCLUSIVE
    relaxed = only(crit.evaluate(spec(crit, min_nights=4), tonight(46, few)))
    assert relaxed.verdict is Verdict.FAIL and relaxed.value == pytest.approx(27.0)
    strict = only(crit.evaluate(spec(crit, min_span_days=10), tonight(50, nights(40, 42, 44, 46, 48))))
    assert strict.verdict is Verdict.INCONCLUSIVE


def test_nights_that_did_not_record_the_quota_do_not_count() -> None:
    history = nights(40, 42, 44, 46, 48)
    other = {"quota": "agents/agents", "resource": "pods"}
    blind = replace(
        history,
        nights=tuple(
            replace(n, measures=(Measure(name="quota_used", scope=other, value=1.0),)) if i < 2 else n
            for i, n in enumerate(history.nights)
        ),
    )
    result = only(crit.evaluate(spec(crit), tonight(50, blind)))
    assert result.verdict is Verdict.INCONCLUSIVE and "4 night(s) over 3.0 days" in result.detail


def test_already_exhausted_fails_whatever_the_trend() -> None:
    result = only(crit.evaluate(spec(crit), tonight(100, nights(60, 58, 56, 54, 52))))
    assert (result.verdict, result.value) == (Verdict.FAIL, 0.0)
