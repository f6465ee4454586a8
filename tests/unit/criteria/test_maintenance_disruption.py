"""maintenance_disruption: failed submissions + failed workflows inside planned-maintenance windows."""

from __future__ import annotations

import dataclasses

import pytest

from tests.support.evidence import T0, chaos, evidence, fault, k8s, load, only, record, spec
from validator.criteria import maintenance_disruption as crit
from validator.model import EventState, LabelSelector, NodeState, PdbState, PodState, Verdict


def rows(fail_at: set[int] = frozenset(), reset_at: int | None = None):
    out, failures = [], 0
    for t in range(0, 601, 10):
        if t in fail_at:
            failures += 1
        total = t * 5
        if reset_at is not None and t >= reset_at:  # Locust restarted: counters start again
            total, failures = (t - reset_at) * 5, failures - 2 if failures >= 2 else 0
        out.append((t, total, failures, 0.2))
    return load(out)


def workflow_failed(t: float):
    return record(
        t,
        "Event",
        f"wf-{t}",
        EventState(
            reason="WorkflowFailed",
            involved_kind="Workflow",
            involved_name="wf-1",
            involved_namespace="agents",
            time=T0 + t,
        ),
        type="ADDED",
    )


WATCH = k8s(record(0.1, "Pod", "rex-1", PodState(), type="RELIST"))
DRAIN = fault("node-drain", 200, 300)

CASES = [
    ("clean-drain", rows(), WATCH, [DRAIN], Verdict.PASS, 0),
    ("failures-inside-drain", rows({250, 260}), WATCH, [DRAIN], Verdict.FAIL, 2),
    ("failures-outside-drain-ignored", rows({100, 400}), WATCH, [DRAIN], Verdict.PASS, 0),
    ("locust-restart-is-a-counter-reset-not-failures", rows(reset_at=250), WATCH, [DRAIN], Verdict.PASS, 0),
    (
        "failure-before-a-locust-restart-still-counts",
        rows({240}, reset_at=250),
        WATCH,
        [DRAIN],
        Verdict.FAIL,
        1,
    ),
    ("failed-workflow-event-inside", rows(), k8s(workflow_failed(250)), [DRAIN], Verdict.FAIL, 1),
    (
        "memory-fault-is-not-maintenance",
        rows({250}),
        WATCH,
        [fault("memory-pressure", 200, 300)],
        Verdict.INCONCLUSIVE,
        None,
    ),
]


@pytest.mark.parametrize(
    ("history", "watch", "faults", "verdict", "value"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_failures_in_maintenance(history, watch, faults, verdict, value) -> None:
    result = only(crit.evaluate(spec(crit), evidence(load=history, k8s=watch, chaos=chaos(*faults))))
    assert (result.verdict, result.value) == (verdict, value), result.detail


def test_no_load_is_inconclusive() -> None:
    result = only(crit.evaluate(spec(crit), evidence(k8s=WATCH, chaos=chaos(DRAIN))))
    assert result.verdict is Verdict.INCONCLUSIVE and "no load evidence" in result.detail


def test_no_load_sample_inside_window() -> None:
    sparse = load([(0, 0, 0, 0.2), (600, 100, 0, 0.2)])
    result = only(crit.evaluate(spec(crit), evidence(load=sparse, k8s=WATCH, chaos=chaos(DRAIN))))
    assert result.verdict is Verdict.INCONCLUSIVE


def test_without_watch_zero_is_partial_but_failures_still_fail() -> None:
    assert (
        only(crit.evaluate(spec(crit), evidence(load=rows(), chaos=chaos(DRAIN)))).verdict
        is Verdict.INCONCLUSIVE
    )
    assert (
        only(crit.evaluate(spec(crit), evidence(load=rows({250}), chaos=chaos(DRAIN)))).verdict
        is Verdict.FAIL
    )


def test_one_result_per_drain() -> None:
    results = crit.evaluate(
        spec(crit), evidence(load=rows({450}), k8s=WATCH, chaos=chaos(DRAIN, fault("node-drain", 400, 500)))
    )
    assert [(r.scope["start"], r.verdict) for r in results] == [
        ("2025-11-20T02:03:20Z", Verdict.PASS),
        ("2025-11-20T02:06:40Z", Verdict.FAIL),
    ]


REX = {"app.kubernetes.io/name": "rex", "app.kubernetes.io/component": "agent"}
CLEO = {"app.kubernetes.io/name": "cleo", "app.kubernetes.io/component": "agent"}


def blocked_drain_watch(rex_allowed: int = 0, *later: object) -> object:
    """implementation-1 cordoned at 205 s, holding rex-0; budgets for rex (on it) and cleo (elsewhere);
    rex-1 Ready on implementation-2; then `later` (records after 0.1 s, in receipt order)."""
    return k8s(
        record(0.1, "Node", "implementation-1", NodeState(), type="RELIST", namespace=""),
        record(0.1, "Pod", "rex-0", PodState(labels=REX, node_name="implementation-1", phase="Running"),
               type="RELIST"),
        record(0.1, "Pod", "cleo-0", PodState(labels=CLEO, node_name="quality-1", phase="Running"),
               type="RELIST"),
        record(0.1, "Node", "implementation-2", NodeState(), type="RELIST", namespace=""),
        record(0.1, "Pod", "rex-1", PodState(labels=REX, node_name="implementation-2", phase="Running",
                                             ready=True), type="RELIST"),
        record(0.1, "PodDisruptionBudget", "rex", PdbState(
            selector=LabelSelector.equal(REX), max_unavailable="0", current_healthy=1, desired_healthy=1,
            disruptions_allowed=rex_allowed, expected_pods=1), type="RELIST"),
        record(0.1, "PodDisruptionBudget", "cleo", PdbState(
            selector=LabelSelector.equal(CLEO), max_unavailable="0", current_healthy=1, desired_healthy=1,
            disruptions_allowed=0, expected_pods=1), type="RELIST"),
        record(205, "Node", "implementation-1", NodeState(unschedulable=True), namespace=""),
        *later,
        record(301, "Node", "implementation-1", NodeState(), namespace=""),
    )


def test_a_drain_that_could_not_complete_fails_and_names_the_budget_that_held_it() -> None:
    timed_out = dataclasses.replace(
        DRAIN, status="failed",
        error="ActivityFailed: drain of implementation-1 timed out after 60.0s with 1 pod(s) not evicted")
    result = only(crit.evaluate(spec(crit), evidence(load=rows(), k8s=blocked_drain_watch(),
                                                     chaos=chaos(timed_out))))
    assert result.verdict is Verdict.FAIL and result.value == 0
    assert "did not complete" in result.detail and "timed out after 60.0s" in result.detail
    assert len(result.advice) == 1, result.advice  # cleo's budget holds no pod of the cordoned node
    assert "`agents/rex`" in result.advice[0] and "maxUnavailable 0" in result.advice[0]


def test_a_failed_drain_without_a_blocking_budget_still_fails_with_general_advice() -> None:
    failed = dataclasses.replace(DRAIN, status="failed", error="")
    result = only(crit.evaluate(spec(crit), evidence(load=rows(), k8s=blocked_drain_watch(rex_allowed=1),
                                                     chaos=chaos(failed))))
    assert result.verdict is Verdict.FAIL and "its injection failed" in result.detail
    assert "could not complete" in result.advice[0]


def test_a_drain_held_by_a_budget_whose_pods_sat_on_failed_nodes_is_inconclusive() -> None:
    # the 1,000-node nightly of 2026-12-07: node leases lapsed during the drain, the budget's other
    # pods went NotReady on nodes gone Unknown, and the budget refused the drain's eviction until its
    # deadline: a node failure, not the platform's budget, held the maintenance
    timed_out = dataclasses.replace(
        DRAIN, status="failed",
        error="ActivityFailed: drain of implementation-1 timed out after 60s with 1 pod(s) not evicted")
    failed_node = (
        record(230, "Node", "implementation-2", NodeState(ready=False), namespace=""),
        record(231, "Pod", "rex-1", PodState(labels=REX, node_name="implementation-2", phase="Running",
                                             ready=False)),
    )
    watch = blocked_drain_watch(0, *failed_node)
    result = only(crit.evaluate(spec(crit), evidence(load=rows(), k8s=watch, chaos=chaos(timed_out))))
    assert result.verdict is Verdict.INCONCLUSIVE, result.detail
    assert "did not complete" in result.detail and "agents/rex" in result.detail
    assert "agents/rex-1" in result.detail and "node failure" in result.detail
    # the same refusal with the other pod NotReady on a node that stayed Ready is the budget's: a fail
    watch = blocked_drain_watch(0, failed_node[1])
    result = only(crit.evaluate(spec(crit), evidence(load=rows(), k8s=watch, chaos=chaos(timed_out))))
    assert result.verdict is Verdict.FAIL, result.detail
