"""memory_utilization: max over window and pods of working set / limit, per agent type; < 0.9."""

from __future__ import annotations

import pytest

from tests.support.evidence import (
    AGENT,
    chaos,
    evidence,
    fault,
    metrics,
    ok,
    only,
    series,
    spec,
    steady,
)
from validator.criteria import memory_utilization as crit
from validator.model import Verdict


def ws(pod: str, agent: str, value, **kw):
    return series({"namespace": "agents", "pod": pod, AGENT: agent}, steady(value, **kw))


def lim(pod: str, value: float):
    return series({"namespace": "agents", "pod": pod}, steady(value))


CASES = [
    ("well-under", [ws("rex-1", "rex", 50)], [lim("rex-1", 100)], Verdict.PASS, 0.5),
    (
        "peak-counts-not-mean",
        [ws("rex-1", "rex", lambda t: 95 if t == 300 else 10)],
        [lim("rex-1", 100)],
        Verdict.FAIL,
        0.95,
    ),
    ("exactly-at-limit-fails", [ws("rex-1", "rex", 90)], [lim("rex-1", 100)], Verdict.FAIL, 0.9),
    (
        "worst-pod-of-the-type",
        [ws("rex-1", "rex", 10), ws("rex-2", "rex", 92)],
        [lim("rex-1", 100), lim("rex-2", 100)],
        Verdict.FAIL,
        0.92,
    ),
    (
        "pod-that-came-and-went",  # rex-2 lived 60 s and peaked high: still counted
        [ws("rex-1", "rex", 10), ws("rex-2", "rex", 95, start=120, end=180)],
        [lim("rex-1", 100), lim("rex-2", 100)],
        Verdict.FAIL,
        0.95,
    ),
    (
        "pod-without-limit-makes-pass-partial",
        [ws("rex-1", "rex", 10), ws("rex-2", "rex", 10)],
        [lim("rex-1", 100)],
        Verdict.INCONCLUSIVE,
        None,
    ),
    (
        "pod-without-limit-cannot-hide-a-fail",
        [ws("rex-1", "rex", 99), ws("rex-2", "rex", 10)],
        [lim("rex-1", 100)],
        Verdict.FAIL,
        0.99,
    ),
    ("no-limits-at-all", [ws("rex-1", "rex", 10)], [lim("other", 100)], Verdict.INCONCLUSIVE, None),
]


@pytest.mark.parametrize(
    ("used", "limits", "verdict", "value"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_peak_ratio(used, limits, verdict, value) -> None:
    ev = evidence(
        metrics=metrics(ok("memory_working_set_by_pod", *used), ok("memory_limits_by_pod", *limits))
    )
    result = only(crit.evaluate(spec(crit), ev))
    assert result.verdict is verdict, result.detail
    assert result.scope == {"agent": "rex"}
    if value is None:
        assert result.value is None
    else:
        assert result.value == pytest.approx(value)


def test_fail_names_the_pod_in_advice() -> None:
    ev = evidence(
        metrics=metrics(
            ok("memory_working_set_by_pod", ws("rex-7", "rex", 97)),
            ok("memory_limits_by_pod", lim("rex-7", 100)),
        )
    )
    result = only(crit.evaluate(spec(crit), ev))
    assert "agents/rex-7" in result.advice[0] and "resources.limits.memory" in result.advice[0]


@pytest.mark.parametrize(
    ("found", "reason"),
    [
        (None, "Prometheus evidence missing"),
        (metrics(ok("memory_working_set_by_pod"), ok("memory_limits_by_pod", lim("a", 1))), "no data"),
        (
            metrics(
                ok("memory_working_set_by_pod", ws("rex-1", "rex", 1, end=60)),
                ok("memory_limits_by_pod", lim("rex-1", 2)),
            ),
            "partial data",
        ),
    ],
    ids=["no-prometheus", "empty-vector", "partial-window"],
)
def test_no_or_partial_data(found, reason) -> None:
    result = only(crit.evaluate(spec(crit), evidence(metrics=found)))
    assert result.verdict is Verdict.INCONCLUSIVE and reason in result.detail


# rex-1 at 110% of its limit from t=100 to t=200 (an injected memory-pressure fault), 50% otherwise
def _pressure(t: float) -> float:
    return 110 if 100 <= t <= 200 else 50


ON_REX_1 = {"targets": ["pod/agents/rex-1"]}
FAULT_CASES = [
    (
        "pressure-inside-its-own-fault-is-not-judged",
        fault("memory-pressure", 100, 200, **ON_REX_1),
        Verdict.PASS,
        0.5,
    ),
    ("same-pressure-during-a-drain-fails", fault("node-drain", 100, 200, **ON_REX_1), Verdict.FAIL, 1.1),
    ("grace-after-the-fault-is-honoured", fault("memory-pressure", 100, 170, **ON_REX_1), Verdict.PASS, 0.5),
    (
        "unterminated-fault-sets-aside-the-rest",
        fault("memory-pressure", 100, None, **ON_REX_1),
        Verdict.PASS,
        0.5,
    ),
    # exemptions cover the fault's own targets only: pressure on rex-2 excuses nothing of rex-1
    (
        "a-fault-on-another-pod-excuses-nothing",
        fault("memory-pressure", 100, 200, targets=["pod/agents/rex-2"]),
        Verdict.FAIL,
        1.1,
    ),
    ("a-fault-naming-no-target-excuses-nothing", fault("memory-pressure", 100, 200), Verdict.FAIL, 1.1),
]


@pytest.mark.parametrize(
    ("window", "verdict", "value"), [c[1:] for c in FAULT_CASES], ids=[c[0] for c in FAULT_CASES]
)
def test_injected_memory_pressure_is_not_normal_operation(window, verdict, value) -> None:
    ev = evidence(
        metrics=metrics(
            ok("memory_working_set_by_pod", ws("rex-1", "rex", _pressure)),
            ok("memory_limits_by_pod", lim("rex-1", 100)),
        ),
        chaos=chaos(window),
    )
    result = only(crit.evaluate(spec(crit), ev))
    assert result.verdict is verdict, result.detail
    assert result.value == pytest.approx(value)
    if verdict is Verdict.PASS:
        assert "inside injected memory-pressure faults not judged" in result.detail


def test_each_type_must_be_measured_over_the_span_it_ran() -> None:
    """One working-set sample of 41 (the limit seen at every step) is not evidence that covers rex,
    even though the query as a whole covers the window through cleo."""
    ev = evidence(
        metrics=metrics(
            ok(
                "memory_working_set_by_pod",
                ws("rex-1", "rex", 50, start=300, end=300),
                ws("cleo-1", "cleo", 50),
            ),
            ok("memory_limits_by_pod", lim("rex-1", 100), lim("cleo-1", 100)),
        )
    )
    results = {r.scope["agent"]: r for r in crit.evaluate(spec(crit), ev)}
    assert results["cleo"].verdict is Verdict.PASS
    assert results["rex"].verdict is Verdict.INCONCLUSIVE and "2% of its steps" in results["rex"].detail


def test_a_finished_pod_reporting_no_working_set_is_not_a_pod_without_a_limit() -> None:
    """A workflow-stage pod that finished still reports a working set of 0 while it exists, and has
    no limit among the Running pods': it is not a pod whose memory could not be measured."""
    ev = evidence(
        metrics=metrics(
            ok(
                "memory_working_set_by_pod",
                ws("rex-1", "rex", 50),
                ws("rex-stage", "rex", 0, start=200, end=320),
            ),
            ok("memory_limits_by_pod", lim("rex-1", 100)),
        )
    )
    result = only(crit.evaluate(spec(crit), ev))
    assert (result.verdict, result.value) == (Verdict.PASS, 0.5), result.detail


def test_a_pod_never_seen_running_by_kube_state_metrics_is_divided_by_its_own_limit() -> None:
    """A stage pod of two seconds can be Pending at one kube-state-metrics scrape and Succeeded at
    the next: no Running limit, though the kubelet reported its working set. Its limit (any phase)
    still divides it; without that series it would be a pod "without a memory limit"."""
    found = [
        ok("memory_working_set_by_pod", ws("rex-1", "rex", 50),
           ws("rex-stage", "rex", 95, start=195, end=195)),
        ok("memory_limits_by_pod", lim("rex-1", 100)),
    ]
    result = only(crit.evaluate(spec(crit), evidence(metrics=metrics(
        *found, ok("memory_limits_any_phase_by_pod", lim("rex-1", 100), lim("rex-stage", 100))))))
    assert (result.verdict, result.value) == (Verdict.FAIL, 0.95), result.detail
    # evidence from before the any-phase query: the pod is unmeasured, so no pass
    older = only(crit.evaluate(spec(crit), evidence(metrics=metrics(*found))))
    assert older.verdict is Verdict.INCONCLUSIVE and "without a memory limit" in older.detail


def test_of_equal_peaks_the_earliest_is_named_whichever_pod_comes_first() -> None:
    ev = evidence(
        metrics=metrics(
            ok(
                "memory_working_set_by_pod",
                ws("rex-1", "rex", lambda t: 95 if t >= 300 else 10),
                ws("rex-2", "rex", lambda t: 95 if t >= 150 else 10),
                ws("rex-3", "rex", lambda t: 95 if t >= 150 else 10),
            ),
            ok("memory_limits_by_pod", lim("rex-1", 100), lim("rex-2", 100), lim("rex-3", 100)),
        )
    )
    result = only(crit.evaluate(spec(crit), ev))
    assert result.value == pytest.approx(0.95)
    assert "on pod agents/rex-2 at" in result.detail
