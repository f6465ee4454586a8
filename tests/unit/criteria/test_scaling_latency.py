"""scaling_latency: per HPA and rise, seconds from metric above target to the first replica increase."""

from __future__ import annotations

import pytest

from tests.support.evidence import (
    evidence,
    k8s,
    manifest,
    metrics,
    ok,
    only,
    record,
    series,
    spec,
    steady,
)
from validator.criteria import scaling_latency as crit
from validator.model import HpaMetric, HpaState, Verdict


def hpa(t: float, current: float | None, desired: int, max_replicas: int = 10, name: str = "rex"):
    state = HpaState(
        min_replicas=1,
        max_replicas=max_replicas,
        current_replicas=desired,
        desired_replicas=desired,
        metrics=(HpaMetric(name="Resource/cpu", current=current, target=50.0),),
    )
    return record(t, "HorizontalPodAutoscaler", name, state)


CASES = [
    # id, watch lines, {scope: (verdict, value)}
    (
        "scaled-in-30s",
        [hpa(1, 30, 1), hpa(100, 90, 1), hpa(130, 60, 2)],
        {"hpa=agents/rex,rise=2025-11-20T02:01:40Z": (Verdict.PASS, 30)},
    ),
    (
        "scaled-late",
        [hpa(1, 30, 1), hpa(100, 90, 1), hpa(450, 90, 2)],
        {"hpa=agents/rex,rise=2025-11-20T02:01:40Z": (Verdict.FAIL, 350)},
    ),
    (
        "never-scaled-counts-to-window-end",
        [hpa(1, 30, 1), hpa(100, 90, 1), hpa(200, 95, 1)],
        {"hpa=agents/rex,rise=2025-11-20T02:01:40Z": (Verdict.FAIL, 500)},
    ),
    (
        "within-tolerance-is-no-rise",  # 54 vs 50: inside the HPA's 10% tolerance
        [hpa(1, 30, 1), hpa(100, 54, 1)],
        {"hpa=agents/rex": (Verdict.NOT_EXERCISED, None)},
    ),
    ("no-rise-at-all", [hpa(1, 30, 1), hpa(300, 20, 1)], {"hpa=agents/rex": (Verdict.NOT_EXERCISED, None)}),
    (
        "two-rises-judged-separately",
        [hpa(1, 30, 1), hpa(60, 90, 1), hpa(80, 40, 2), hpa(300, 90, 2), hpa(320, 40, 3)],
        {
            "hpa=agents/rex,rise=2025-11-20T02:01:00Z": (Verdict.PASS, 20),
            "hpa=agents/rex,rise=2025-11-20T02:05:00Z": (Verdict.PASS, 20),
        },
    ),
    (
        # the load fell back 60 s after rising, before any decision was due: no evidence that the HPA
        # answers load changes in time (this used to pass with 60 s)
        "rise-that-falls-back-without-decision-is-not-exercised",
        [hpa(1, 30, 1), hpa(100, 90, 1), hpa(160, 30, 1)],
        {"hpa=agents/rex,rise=2025-11-20T02:01:40Z": (Verdict.NOT_EXERCISED, None)},
    ),
    (
        "rise-above-target-past-the-budget-without-decision-fails-though-it-fell-back",
        [hpa(1, 30, 1), hpa(100, 90, 1), hpa(450, 30, 1)],
        {"hpa=agents/rex,rise=2025-11-20T02:01:40Z": (Verdict.FAIL, 350)},
    ),
    (
        # the metric went missing 60 s into the rise: no decision, and no evidence it fell back
        "rise-whose-metric-goes-missing-is-inconclusive",
        [hpa(1, 30, 1), hpa(100, 90, 1), hpa(160, None, 1)],
        {"hpa=agents/rex,rise=2025-11-20T02:01:40Z": (Verdict.INCONCLUSIVE, None)},
    ),
    (
        "rise-whose-metric-goes-missing-past-the-budget-fails",
        [hpa(1, 30, 1), hpa(100, 90, 1), hpa(420, None, 1)],
        {"hpa=agents/rex,rise=2025-11-20T02:01:40Z": (Verdict.FAIL, 320)},
    ),
    (
        # rose 150 s before the window ended: under the budget, nothing is known yet
        "no-decision-before-a-window-shorter-than-the-budget-is-inconclusive",
        [hpa(1, 30, 1), hpa(450, 90, 1)],
        {"hpa=agents/rex,rise=2025-11-20T02:07:30Z": (Verdict.INCONCLUSIVE, None)},
    ),
    (
        "briefly-above-target-at-max-replicas-is-not-measurable",
        [hpa(1, 30, 3, max_replicas=3), hpa(100, 90, 3, max_replicas=3), hpa(250, 40, 3, max_replicas=3)],
        {"hpa=agents/rex,rise=2025-11-20T02:01:40Z": (Verdict.INCONCLUSIVE, None)},
    ),
    (
        "pinned-at-max-replicas-above-target-longer-than-max-fails",  # a target it can never reach
        [hpa(1, 30, 3, max_replicas=3), hpa(100, 90, 3, max_replicas=3)],
        {"hpa=agents/rex,rise=2025-11-20T02:01:40Z": (Verdict.FAIL, 500)},
    ),
    (
        # 400 s at maxReplicas, then back under target: the status may have shown the fall up to
        # metrics_delay (45 s) late, and 355 s of it is certain, still past the budget
        "pinned-at-max-replicas-past-the-budget-and-its-trail-fails-though-it-fell-back",
        [hpa(1, 30, 3, max_replicas=3), hpa(100, 90, 3, max_replicas=3), hpa(500, 40, 3, max_replicas=3)],
        {"hpa=agents/rex,rise=2025-11-20T02:01:40Z": (Verdict.FAIL, 355)},
    ),
    (
        # 330 s shown, but the load may have fallen back 45 s before the status said so: 285 s certain
        "pinned-at-max-replicas-within-the-budget-and-its-trail-is-inconclusive",
        [hpa(1, 30, 3, max_replicas=3), hpa(100, 90, 3, max_replicas=3), hpa(430, 40, 3, max_replicas=3)],
        {"hpa=agents/rex,rise=2025-11-20T02:01:40Z": (Verdict.INCONCLUSIVE, None)},
    ),
    (
        "unknown-current-metric-is-not-a-rise",
        [hpa(1, None, 1), hpa(100, None, 1)],
        {"hpa=agents/rex": (Verdict.INCONCLUSIVE, None)},
    ),
]


@pytest.mark.parametrize(("records", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_from_watched_hpa_status(records, expected) -> None:
    results = crit.evaluate(spec(crit), evidence(k8s=k8s(*records)))
    assert {r.scope_text: (r.verdict, r.value) for r in results} == expected


def test_never_scaled_advises_on_the_hpa() -> None:
    results = crit.evaluate(spec(crit), evidence(k8s=k8s(hpa(1, 30, 1), hpa(100, 90, 1))))
    assert "HPA `agents/rex` never scaled up" in only(results).advice[0]


def test_an_unreachable_target_names_the_hpa_and_max_replicas() -> None:
    pinned = k8s(hpa(1, 90, 2, max_replicas=2), hpa(300, 95, 2, max_replicas=2))
    result = only(crit.evaluate(spec(crit), evidence(k8s=pinned)))
    assert result.verdict is Verdict.FAIL and "can never reach its target" in result.detail
    assert "HPA `agents/rex` is pinned at maxReplicas 2" in result.advice[0]


def test_a_stay_at_max_replicas_carried_into_a_compressed_run_is_not_its_trail_times_30() -> None:
    # CI, 2026-12-06: an earlier run left the controller at maxReplicas 10 with a long queue; the
    # platform was redeployed (queue emptied) just before this run, whose HPA status still showed the
    # old CPU above target for 13.8 s of wall clock: metrics-server's resolution, not the platform.
    # At 30x that read as 414 s at maxReplicas and failed the run.
    watch = k8s(
        hpa(-0.1, 95, 10, max_replicas=10),
        hpa(13.8, 30, 10, max_replicas=10),
        hpa(200, 30, 10, max_replicas=10),
    )
    run = evidence(k8s=watch, manifest_=manifest(240.0, time_factor=30.0))
    result = only(crit.evaluate(spec(crit), run))
    assert result.verdict is Verdict.INCONCLUSIVE, result.detail
    assert "trails its metrics by up to 45.0 s of wall clock (metrics_delay)" in result.detail
    assert "0.0 s of the 414 s (6.9 min) it showed is certain" in result.detail


def test_a_stay_at_max_replicas_to_the_window_end_counts_whole() -> None:
    # never seen to fall back: the status was late at its start too, nothing is taken off
    watch = k8s(hpa(1, 30, 10, max_replicas=10), hpa(20, 95, 10, max_replicas=10))
    run = evidence(k8s=watch, manifest_=manifest(240.0, time_factor=30.0))
    result = only(crit.evaluate(spec(crit), run))
    assert (result.verdict, result.value) == (Verdict.FAIL, pytest.approx(220 * 30))
    assert "metrics_delay" not in result.detail


def test_gap_after_the_rise_makes_no_decision_inconclusive() -> None:
    watch = k8s(hpa(1, 30, 1), hpa(100, 90, 1), gaps=[("HorizontalPodAutoscaler", 200, 400)])
    assert only(crit.evaluate(spec(crit), evidence(k8s=watch))).verdict is Verdict.INCONCLUSIVE


HPA = {"namespace": "agents", "horizontalpodautoscaler": "rex"}
METRIC = {**HPA, "metric_name": "cpu", "metric_target_type": "utilization"}


def prom(current, desired, max_replicas: float = 10):
    return metrics(
        ok("hpa_current_metric", series(METRIC, steady(current))),
        ok("hpa_target_metric", series(METRIC, steady(50))),
        ok("hpa_desired_replicas", series(HPA, steady(desired))),
        ok("hpa_max_replicas", series(HPA, steady(max_replicas))),
    )


PROM_CASES = [
    ("prom-scaled", prom(lambda t: 90 if t >= 120 else 30, lambda t: 2 if t >= 180 else 1), Verdict.PASS, 60),
    ("prom-never-scaled", prom(lambda t: 90 if t >= 120 else 30, 1), Verdict.FAIL, 480),
]


@pytest.mark.parametrize(
    ("found", "verdict", "value"), [c[1:] for c in PROM_CASES], ids=[c[0] for c in PROM_CASES]
)
def test_from_prometheus_without_watch(found, verdict, value) -> None:
    result = only(crit.evaluate(spec(crit), evidence(metrics=found)))
    assert (result.verdict, result.value) == (verdict, value)
    assert result.scope == {"hpa": "agents/rex", "rise": "2025-11-20T02:02:00Z"}


def test_no_watch_no_prometheus() -> None:
    result = only(crit.evaluate(spec(crit), evidence()))
    assert result.verdict is Verdict.INCONCLUSIVE and "Prometheus evidence missing" in result.detail
