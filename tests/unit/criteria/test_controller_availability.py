"""controller_availability: share of the window with >= 1 available replica, per controller Deployment."""

from __future__ import annotations

import pytest

from tests.support.evidence import (
    AGENT,
    T0,
    evidence,
    k8s,
    metrics,
    ok,
    only,
    record,
    series,
    spec,
    steady,
)
from validator.criteria import controller_availability as crit
from validator.model import DeploymentState, Verdict

CONTROLLER = {"app.kubernetes.io/component": "controller"}


def dep(t: float, available: int, name: str = "controller", labels=None, type: str = "MODIFIED"):
    state = DeploymentState(
        labels=labels or CONTROLLER, replicas=2, ready_replicas=available, available_replicas=available
    )
    return record(t, "Deployment", name, state, type=type)


CASES = [
    ("always-up", [dep(0.1, 2, type="RELIST")], [], Verdict.PASS, 1.0),
    ("down-60s-of-600", [dep(0.1, 2, type="RELIST"), dep(100, 0), dep(160, 1)], [], Verdict.FAIL, 0.9),
    (
        "down-0.3s-is-within-0.999",
        [dep(0.1, 2, type="RELIST"), dep(100, 0), dep(100.3, 1)],
        [],
        Verdict.PASS,
        None,
    ),
    (
        "deleted-counts-as-down",
        [dep(0.1, 2, type="RELIST"), dep(300, 0, type="DELETED")],
        [],
        Verdict.FAIL,
        0.5,
    ),
    (
        "gap-that-could-hide-an-outage",
        [dep(0.1, 2, type="RELIST")],
        [("Deployment", 200, 210)],
        Verdict.INCONCLUSIVE,
        None,
    ),
    (
        "gap-cannot-rescue-a-long-outage",
        [dep(0.1, 2, type="RELIST"), dep(100, 0), dep(400, 2)],
        [("Deployment", 500, 510)],
        Verdict.FAIL,
        None,
    ),
    ("first-seen-late", [dep(120, 2, type="RELIST")], [], Verdict.INCONCLUSIVE, None),
]


@pytest.mark.parametrize(
    ("records", "gaps", "verdict", "value"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_from_the_watch(records, gaps, verdict, value) -> None:
    result = only(crit.evaluate(spec(crit), evidence(k8s=k8s(*records, gaps=gaps))))
    assert result.verdict is verdict, result.detail
    assert result.scope == {"deployment": "agents/controller"}
    if value is not None:
        assert result.value == pytest.approx(value, abs=1e-3)


def test_only_selected_deployments_are_judged() -> None:
    watch = k8s(dep(0.1, 2, type="RELIST"), dep(0.1, 0, name="rex", labels={AGENT: "rex"}, type="RELIST"))
    results = crit.evaluate(spec(crit), evidence(k8s=watch))
    assert [r.scope_text for r in results] == ["deployment=agents/controller"]


def test_no_controller_matches_selector() -> None:
    watch = k8s(dep(0.1, 2, labels={"app": "x"}, type="RELIST"))
    result = only(crit.evaluate(spec(crit), evidence(k8s=watch)))
    assert (
        result.verdict is Verdict.INCONCLUSIVE and "app.kubernetes.io/component=controller" in result.detail
    )


def test_outage_advice_names_the_deployment() -> None:
    watch = k8s(dep(0.1, 2, type="RELIST"), dep(100, 0), dep(160, 1))
    assert "Deployment `agents/controller`" in only(crit.evaluate(spec(crit), evidence(k8s=watch))).advice[0]


DEPLOY = {"namespace": "agents", "workload": "Deployment/controller"}


def prom(available, labels=None, **kw):
    return metrics(
        ok("workload_replicas_available", series(DEPLOY, steady(available, **kw))),
        ok(
            "workload_labels",
            series({**DEPLOY, **(labels or {"label_app_kubernetes_io_component": "controller"})}, steady(1)),
        ),
    )


PROM_CASES = [
    ("prom-up", prom(2), Verdict.PASS),
    ("prom-down-a-minute", prom(lambda t: 0 if 100 <= t < 160 else 2), Verdict.FAIL),
    ("prom-missing-samples", prom(2, end=500), Verdict.INCONCLUSIVE),
]


@pytest.mark.parametrize(("found", "verdict"), [c[1:] for c in PROM_CASES], ids=[c[0] for c in PROM_CASES])
def test_from_prometheus(found, verdict) -> None:
    assert only(crit.evaluate(spec(crit), evidence(metrics=found))).verdict is verdict


def test_prometheus_without_controller_label() -> None:
    result = only(crit.evaluate(spec(crit), evidence(metrics=prom(2, labels={"label_app": "x"}))))
    assert result.verdict is Verdict.INCONCLUSIVE


def test_recorder_crash_leaves_the_rest_of_the_window_unseen() -> None:
    from dataclasses import replace

    crashed = replace(k8s(dep(0.1, 2, type="RELIST")), cut_off_ms=int((T0 + 300) * 1000), partial="truncated")
    result = only(crit.evaluate(spec(crit), evidence(k8s=crashed)))
    assert result.verdict is Verdict.INCONCLUSIVE and "300 s (5.0 min) not observed" in result.detail
