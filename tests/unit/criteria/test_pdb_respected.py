"""pdb_respected: breaches of desired healthy during voluntary disruption + evictions while none allowed."""

from __future__ import annotations

import pytest

from tests.support.evidence import (
    T0,
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
from validator.criteria import pdb_respected as crit
from validator.model import LabelSelector, NodeState, PdbState, PodState, Verdict

SELECTOR = {"app.kubernetes.io/component": "controller"}


def pdb(t: float, healthy: int, allowed: int, desired: int = 1, expected: int = 2, type: str = "MODIFIED"):
    state = PdbState(
        selector=LabelSelector.equal(SELECTOR),
        min_available="1",
        current_healthy=healthy,
        desired_healthy=desired,
        disruptions_allowed=allowed,
        expected_pods=expected,
    )
    return record(t, "PodDisruptionBudget", "controller-pdb", state, type=type)


def evicted(t: float, name: str = "controller-1", labels=None):
    return record(t, "Pod", name, PodState(labels=labels or SELECTOR, evicted_at=T0 + t))


DRAIN = fault("node-drain", 100, 200)

CASES = [
    (
        "drain-kept-budget",
        [pdb(0.1, 2, 1, type="RELIST"), evicted(149), pdb(150, 1, 0)],
        [DRAIN],
        Verdict.PASS,
        0,
    ),
    ("drain-breached-budget", [pdb(0.1, 2, 1, type="RELIST"), pdb(150, 0, 0)], [DRAIN], Verdict.FAIL, 1),
    (
        "breach-outside-voluntary-disruption-not-counted",  # e.g. a node crash
        [
            pdb(0.1, 2, 1, type="RELIST"),
            evicted(149),
            pdb(150, 1, 0),
            pdb(170, 2, 1),
            pdb(400, 0, 0),
            pdb(420, 2, 1),
        ],
        [DRAIN],
        Verdict.PASS,
        0,
    ),
    (
        "eviction-while-none-allowed",
        [pdb(0.1, 1, 0, expected=1, type="RELIST"), evicted(300)],
        [],
        Verdict.FAIL,
        1,
    ),
    ("eviction-while-allowed", [pdb(0.1, 2, 1, type="RELIST"), evicted(300)], [], Verdict.PASS, 0),
    (
        # a drain at 1,000 nodes: the first eviction (149) takes the budget to 0; its replacement is
        # ready and the disruption controller allows 1 again, received at 160.4; the drain's retry
        # is admitted at once, within the second its DisruptionTarget condition says (160), and
        # takes the budget back to 0 (received 160.9). Not an overrun: the apiserver admitted it.
        "eviction-admitted-the-moment-the-budget-allowed-it",
        [pdb(0.1, 2, 1, type="RELIST"), evicted(149), pdb(149.3, 1, 0), pdb(160.4, 2, 1),
         evicted(160, "controller-2"), pdb(160.9, 1, 0), pdb(175, 2, 1)],
        [DRAIN],
        Verdict.PASS,
        0,
    ),
    (
        # the budget said 0 from long before until long after: an overrun
        "eviction-while-none-allowed-all-around-it",
        [pdb(0.1, 1, 0, expected=1, type="RELIST"), evicted(300), pdb(301.5, 1, 0), pdb(310, 1, 0)],
        [],
        Verdict.FAIL,
        1,
    ),
    (
        # the eviction touched no pod this budget selects: it was never put to the test, which is
        # not a pass (it read as "0 breaches" before)
        "eviction-of-unselected-pod-does-not-exercise-it",
        [pdb(0.1, 1, 0, expected=1, type="RELIST"), evicted(300, "rex-1", {"app": "rex"})],
        [],
        Verdict.NOT_EXERCISED,
        None,
    ),
    (
        "two-breaches-in-overlapping-drains",
        [pdb(0.1, 2, 1, type="RELIST"), pdb(120, 0, 0), pdb(130, 2, 1), pdb(190, 0, 0), pdb(240, 2, 1)],
        [fault("node-drain", 100, 180), fault("node-drain-2", 150, 250)],
        Verdict.FAIL,
        2,
    ),
]


@pytest.mark.parametrize(
    ("records", "faults", "verdict", "value"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_from_the_watch(records, faults, verdict, value) -> None:
    result = only(crit.evaluate(spec(crit), evidence(k8s=k8s(*records), chaos=chaos(*faults))))
    assert result.verdict is verdict, result.detail
    assert result.value == value
    assert result.scope == {"pdb": "agents/controller-pdb"}


def test_no_disruption_means_untested() -> None:
    result = only(crit.evaluate(spec(crit), evidence(k8s=k8s(pdb(0.1, 2, 1, type="RELIST")), chaos=chaos())))
    assert result.verdict is Verdict.INCONCLUSIVE and "not tested" in result.detail


def test_blocking_pdb_gets_min_available_advice() -> None:
    records = [pdb(0.1, 1, 0, expected=1, type="RELIST"), evicted(300)]
    result = only(crit.evaluate(spec(crit), evidence(k8s=k8s(*records))))
    assert "PDB `agents/controller-pdb` allows no disruption: lower minAvailable to 0" in result.advice


PDB = {"namespace": "agents", "poddisruptionbudget": "controller-pdb"}


def test_prometheus_fallback_can_fail_but_never_pass() -> None:
    breach = metrics(
        ok("pdb_current_healthy", series(PDB, steady(lambda t: 0 if 140 <= t < 170 else 2))),
        ok("pdb_desired_healthy", series(PDB, steady(1))),
    )
    assert (
        only(crit.evaluate(spec(crit), evidence(metrics=breach, chaos=chaos(DRAIN)))).verdict is Verdict.FAIL
    )
    calm = metrics(
        ok("pdb_current_healthy", series(PDB, steady(2))), ok("pdb_desired_healthy", series(PDB, steady(1)))
    )
    assert (
        only(crit.evaluate(spec(crit), evidence(metrics=calm, chaos=chaos(DRAIN)))).verdict
        is Verdict.INCONCLUSIVE
    )


def test_nothing_at_all() -> None:
    assert only(crit.evaluate(spec(crit), evidence())).verdict is Verdict.INCONCLUSIVE


def test_a_watch_gap_during_the_disruption_makes_no_breach_inconclusive() -> None:
    """The drain exercised the budget, but the PDB watch was blind from 140 s to 180 s: a breach
    could have come and gone there (gaps used to be ignored)."""
    records = [pdb(0.1, 2, 1, type="RELIST"), evicted(129), pdb(130, 1, 0), pdb(190, 2, 1)]
    watch = k8s(*records, gaps=[("PodDisruptionBudget", 140, 180)])
    result = only(crit.evaluate(spec(crit), evidence(k8s=watch, chaos=chaos(DRAIN))))
    assert result.verdict is Verdict.INCONCLUSIVE and "missed 40.0 s" in result.detail


def test_a_budget_whose_pods_sat_on_the_drained_node_is_exercised_even_if_it_held() -> None:
    """The drain cordoned n1, where controller-1 ran; the budget held (no dip, no eviction): a pass."""
    node = NodeState(unschedulable=True)
    records = [
        pdb(0.1, 2, 1, type="RELIST"),
        record(
            0.1, "Pod", "controller-1", PodState(labels=SELECTOR, node_name="n1", ready=True), type="RELIST"
        ),
        record(0.1, "Node", "n1", NodeState(), type="RELIST", namespace=""),
        record(101, "Node", "n1", node, namespace=""),
    ]
    result = only(crit.evaluate(spec(crit), evidence(k8s=k8s(*records), chaos=chaos(DRAIN))))
    assert (result.verdict, result.value) == (Verdict.PASS, 0)
    assert "exercised by agents/controller-1" in result.detail


def test_a_breach_with_pods_on_a_node_not_ready_is_not_the_drains_and_stays_inconclusive() -> None:
    # the 1,000-node nightly of 2026-12-06: node leases lapsed during the drain, nodes went Unknown,
    # their pods NotReady, and every budget read as breached by the drain
    def pod(t: float, ready: bool, node: str):
        return record(t, "Pod", "controller-2", PodState(labels=SELECTOR, node_name=node, ready=ready))

    def node(t: float, ready: bool, name: str = "kwok-node-7"):
        return record(t, "Node", name, NodeState(ready=ready), namespace="")

    before = [pdb(0.1, 2, 1, type="RELIST"), pod(0.1, True, "kwok-node-7"), node(0.1, True), evicted(120)]
    lapsed = [node(148, False), pod(149, False, "kwok-node-7"), pdb(150, 0, 0)]
    result = only(crit.evaluate(spec(crit), evidence(k8s=k8s(*before, *lapsed), chaos=chaos(DRAIN))))
    assert result.verdict is Verdict.INCONCLUSIVE, result.detail
    assert "pods on nodes not Ready" in result.detail and "agents/controller-2" in result.detail
    # the same breach on a node that stayed Ready is the drain's: a failure
    kept = [pod(149, False, "kwok-node-7"), pdb(150, 0, 0)]
    result = only(crit.evaluate(spec(crit), evidence(k8s=k8s(*before, *kept), chaos=chaos(DRAIN))))
    assert (result.verdict, result.value) == (Verdict.FAIL, 1)
