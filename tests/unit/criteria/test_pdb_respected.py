"""pdb_respected: breaches of desired healthy during voluntary disruption + evictions while none allowed."""

from __future__ import annotations

import pytest

from tests.unit.criteria.evidence_factory import (
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
from validator.model import PdbState, PodState, Verdict

SELECTOR = {"app.kubernetes.io/component": "controller"}


def pdb(t: float, healthy: int, allowed: int, desired: int = 1, expected: int = 2, type: str = "MODIFIED"):
    state = PdbState(
        selector=SELECTOR,
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
    ("drain-kept-budget", [pdb(0.1, 2, 1, type="RELIST"), pdb(150, 1, 0)], [DRAIN], Verdict.PASS, 0),
    ("drain-breached-budget", [pdb(0.1, 2, 1, type="RELIST"), pdb(150, 0, 0)], [DRAIN], Verdict.FAIL, 1),
    (
        "breach-outside-voluntary-disruption-not-counted",  # e.g. a node crash
        [pdb(0.1, 2, 1, type="RELIST"), pdb(400, 0, 0), pdb(420, 2, 1)],
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
        "eviction-of-unselected-pod",
        [pdb(0.1, 1, 0, expected=1, type="RELIST"), evicted(300, "rex-1", {"app": "rex"})],
        [],
        Verdict.PASS,
        0,
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
