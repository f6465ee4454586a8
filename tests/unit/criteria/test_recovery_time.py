"""recovery_time: seconds from the end of each injection to the steady state holding again."""

from __future__ import annotations

import pytest

from tests.unit.criteria.evidence_factory import (
    chaos,
    evidence,
    fault,
    k8s,
    metrics,
    ok,
    only,
    record,
    series,
    spec,
    steady,
)
from validator.criteria import recovery_time as crit
from validator.model import DeploymentState, NodeState, Verdict


def dep(t: float, ready: int, name: str = "rex", replicas: int = 2, type: str = "MODIFIED"):
    return record(
        t,
        "Deployment",
        name,
        DeploymentState(replicas=replicas, ready_replicas=ready, available_replicas=ready),
        type=type,
    )


def node(t: float, unschedulable: bool, type: str = "MODIFIED"):
    return record(t, "Node", "n1", NodeState(unschedulable=unschedulable), type=type, namespace="")


BASE = [dep(0.1, 2, type="RELIST"), node(0.1, False, type="RELIST")]

CASES = [
    # id, watch lines after BASE, faults, {fault scope name: (verdict, value)}
    (
        "recovers-in-60s",
        [dep(150, 1), dep(260, 2)],
        [fault("memory-pressure", 100, 200)],
        {"memory-pressure": (Verdict.PASS, 60)},
    ),
    (
        "already-steady-at-end",
        [dep(150, 1), dep(180, 2)],
        [fault("memory-pressure", 100, 200)],
        {"memory-pressure": (Verdict.PASS, 0)},
    ),
    (
        "slow-recovery-fails",
        [dep(150, 1), dep(560, 2)],
        [fault("memory-pressure", 100, 200)],
        {"memory-pressure": (Verdict.FAIL, 360)},
    ),
    (
        "never-recovered-counts-to-window-end",
        [dep(150, 0)],
        [fault("memory-pressure", 100, 200)],
        {"memory-pressure": (Verdict.FAIL, 400)},
    ),
    (
        "drain-timed-from-rollback-and-node-schedulable",
        [node(100, True), dep(120, 1), dep(200, 2), node(330, False)],
        [fault("node-drain", 100, 150, rollback_end=300, targets=["node/n1"])],
        {"node-drain": (Verdict.PASS, 30)},
    ),
    (
        "overlapping-faults-timed-from-the-last-end",
        [dep(110, 1), dep(400, 2)],
        [fault("memory-pressure", 100, 200), fault("cpu-hog", 150, 300)],
        {"memory-pressure": (Verdict.PASS, 100), "cpu-hog": (Verdict.PASS, 100)},
    ),
    (
        "targeted-deployment-only",
        [dep(0.1, 0, name="other", type="RELIST"), dep(150, 1), dep(230, 2)],
        [fault("memory-pressure", 100, 200, targets=["deployment/agents/rex"])],
        {"memory-pressure": (Verdict.PASS, 30)},
    ),
]


@pytest.mark.parametrize(("lines", "faults", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_from_the_watch(lines, faults, expected) -> None:
    results = crit.evaluate(spec(crit), evidence(k8s=k8s(*BASE, *lines), chaos=chaos(*faults)))
    assert {r.scope["fault"]: (r.verdict, r.value) for r in results} == expected


def test_unterminated_fault_is_inconclusive() -> None:
    result = only(
        crit.evaluate(spec(crit), evidence(k8s=k8s(*BASE), chaos=chaos(fault("memory-pressure", 100, None))))
    )
    assert result.verdict is Verdict.INCONCLUSIVE and "no inject_end" in result.detail


def test_no_fault_no_result_to_judge() -> None:
    assert (
        only(crit.evaluate(spec(crit), evidence(k8s=k8s(*BASE), chaos=chaos()))).verdict
        is Verdict.INCONCLUSIVE
    )
    assert only(crit.evaluate(spec(crit), evidence(k8s=k8s(*BASE)))).verdict is Verdict.INCONCLUSIVE


def test_gap_hides_the_recovery() -> None:
    watch = k8s(*BASE, dep(150, 0), gaps=[("Deployment", 300, 400)])
    result = only(
        crit.evaluate(spec(crit), evidence(k8s=watch, chaos=chaos(fault("memory-pressure", 100, 200))))
    )
    assert result.verdict is Verdict.INCONCLUSIVE


def test_queue_depth_must_return_to_pre_fault_level() -> None:
    queue = metrics(ok("workflow_queue_depth", series({}, steady(lambda t: 50 if 100 <= t < 350 else 5))))
    result = only(
        crit.evaluate(
            spec(crit),
            evidence(k8s=k8s(*BASE), metrics=queue, chaos=chaos(fault("memory-pressure", 100, 200))),
        )
    )
    assert (result.verdict, result.value) == (Verdict.PASS, 160)  # first sample back under: t=360


def test_unrecovered_advice_names_what_is_missing() -> None:
    result = only(
        crit.evaluate(
            spec(crit), evidence(k8s=k8s(*BASE, dep(150, 0)), chaos=chaos(fault("memory-pressure", 100, 200)))
        )
    )
    assert "Deployment `agents/rex` at 0/2 ready" in result.advice[0]


DEPLOY = {"namespace": "agents", "deployment": "rex"}


def test_prometheus_fallback() -> None:
    found = metrics(
        ok("deployment_replicas_ready", series(DEPLOY, steady(lambda t: 1 if 100 <= t < 270 else 2))),
        ok("deployment_replicas_desired", series(DEPLOY, steady(2))),
        ok("node_unschedulable"),
    )
    result = only(
        crit.evaluate(spec(crit), evidence(metrics=found, chaos=chaos(fault("memory-pressure", 100, 200))))
    )
    assert (result.verdict, result.value) == (Verdict.PASS, 70)  # first ready sample: t=270


def test_nothing_to_judge_the_steady_state_on() -> None:
    watch = k8s(dep(0.1, 2, type="RELIST", name="elsewhere"))
    ev = evidence(
        k8s=watch, chaos=chaos(fault("memory-pressure", 100, 200, targets=["deployment/agents/rex"]))
    )
    result = only(crit.evaluate(spec(crit), ev))
    assert result.verdict is Verdict.INCONCLUSIVE and "no Deployment or node" in result.detail
