"""The rule every result passes through in the registry: no pass without positive evidence.

Each case here passed before the rule existed: partial sources were parsed and then ignored, a
fault whose steady state was not met or that never took effect still vouched for a pass, and a
scope the run never exercised counted as one.
"""

from __future__ import annotations

import dataclasses

from tests.support.evidence import (
    AGENT,
    chaos,
    evidence,
    fault,
    k8s,
    load,
    metrics,
    ok,
    record,
    series,
    steady,
)
from validator.criteria import registry
from validator.model import (
    ChaosEvidence,
    DeploymentState,
    NodeState,
    NotInjected,
    PodState,
    Result,
    Verdict,
)


def outcome(cid: str, ev):
    return registry.evaluate_all(None, ev, only=[cid]).outcome(cid)


def rows(failures_at: set[int] = frozenset()):
    out, failures = [], 0
    for t in range(0, 601, 10):
        failures += t in failures_at
        out.append((t, t * 5, failures, 0.2))
    return load(out)


NODE = "implementation-1"
CORDONED = k8s(
    record(0.1, "Node", NODE, NodeState(), type="RELIST", namespace=""),
    record(0.1, "Pod", "rex-0", PodState(node_name=NODE, ready=True), type="RELIST"),
    record(205, "Node", NODE, NodeState(unschedulable=True), namespace=""),
    record(310, "Node", NODE, NodeState(), namespace=""),
)
DRAIN = fault("node-drain", 200, 300, targets=[f"node/{NODE}"], action="drain_nodes")


def test_a_drain_that_took_effect_passes() -> None:
    assert outcome(
        "maintenance_disruption", evidence(load=rows(), k8s=CORDONED, chaos=chaos(DRAIN))
    ).verdict is (Verdict.PASS)


def test_partial_load_results_turn_a_pass_inconclusive_but_a_failure_stands() -> None:
    truncated = dataclasses.replace(rows(), partial="load/locust_stats_history.csv: last row is truncated")
    found = outcome("maintenance_disruption", evidence(load=truncated, k8s=CORDONED, chaos=chaos(DRAIN)))
    assert found.verdict is Verdict.INCONCLUSIVE
    assert "partial evidence (load results: load/locust_stats_history.csv" in found.results[0].detail
    failing = dataclasses.replace(rows({250}), partial="last row is truncated")
    assert outcome(
        "maintenance_disruption", evidence(load=failing, k8s=CORDONED, chaos=chaos(DRAIN))
    ).verdict is (Verdict.FAIL)


def test_a_partial_query_turns_the_criteria_reading_it_inconclusive() -> None:
    usage = ok("cpu_usage_by_agent", series({AGENT: "rex"}, steady(0.7)))
    requests = ok("cpu_requests_by_agent", series({AGENT: "rex"}, steady(1.0)))
    assert outcome("cpu_utilization", evidence(metrics=metrics(usage, requests))).verdict is Verdict.PASS
    broken = dataclasses.replace(
        usage, partial="3 point(s) of query `cpu_usage_by_agent` are not [time, value]"
    )
    found = outcome("cpu_utilization", evidence(metrics=metrics(broken, requests)))
    assert found.verdict is Verdict.INCONCLUSIVE and "3 point(s)" in found.results[0].detail


def dep(t: float, ready: int, type: str = "MODIFIED"):
    return record(t, "Deployment", "rex", DeploymentState(replicas=2, ready_replicas=ready), type=type)


RECOVERED = k8s(
    dep(0.1, 2, type="RELIST"),
    record(
        0.1, "Pod", "rex-0", PodState(owner_kind="Deployment", owner_name="rex", ready=True), type="RELIST"
    ),
    record(150, "Pod", "rex-0", PodState(owner_kind="Deployment", owner_name="rex", deleting=True)),
    dep(150, 1),
    dep(230, 2),
)
EVICTION = fault("pod-eviction", 100, 200, targets=["pod/agents/rex-0"], action="evict_pods")


def test_a_fault_whose_steady_state_was_not_met_before_vouches_for_nothing() -> None:
    assert outcome("recovery_time", evidence(k8s=RECOVERED, chaos=chaos(EVICTION))).verdict is Verdict.PASS
    troubled = dataclasses.replace(
        EVICTION,
        problems=("its steady state was not met before the injection (the platform was already disturbed)",),
    )
    found = outcome("recovery_time", evidence(k8s=RECOVERED, chaos=chaos(troubled)))
    assert found.verdict is Verdict.INCONCLUSIVE
    assert "steady state was not met before" in found.results[0].detail


def test_a_fault_that_never_took_effect_tests_nothing() -> None:
    """The eviction names rex-1, which the watch never saw evicted or deleted: recovery "in 0 s" from
    nothing is not a pass."""
    missed = dataclasses.replace(EVICTION, targets=("pod/agents/rex-1",))
    quiet = k8s(dep(0.1, 2, type="RELIST"))
    found = outcome("recovery_time", evidence(k8s=quiet, chaos=chaos(missed)))
    assert found.verdict is Verdict.INCONCLUSIVE
    assert "its effect was never seen: none of its target pods (agents/rex-1) was seen evicted" in (
        found.results[0].detail
    )


def test_a_drain_that_cordoned_nothing_tests_nothing() -> None:
    never = k8s(record(0.1, "Node", NODE, NodeState(), type="RELIST", namespace=""))
    found = outcome("maintenance_disruption", evidence(load=rows(), k8s=never, chaos=chaos(DRAIN)))
    assert found.verdict is Verdict.INCONCLUSIVE and "no node was seen cordoned" in found.results[0].detail


def test_a_fault_never_injected_is_reported_not_skipped() -> None:
    """The memory-pressure experiment ran but its method never did (its steady state failed first):
    recovery from it is unknown, not absent."""
    ev = evidence(
        k8s=RECOVERED,
        chaos=ChaosEvidence(
            faults=(EVICTION,),
            not_injected=(
                NotInjected(fault="memory-pressure", kind="memory-pressure", reason="steady state not met"),
            ),
        ),
    )
    found = outcome("recovery_time", ev)
    assert found.verdict is Verdict.INCONCLUSIVE
    assert {r.scope["fault"]: r.verdict for r in found.results} == {
        "pod-eviction": Verdict.PASS,
        "memory-pressure": Verdict.INCONCLUSIVE,
    }


def test_an_incomplete_chaos_record_turns_passes_inconclusive() -> None:
    incomplete = dataclasses.replace(chaos(DRAIN), partial="chaos/faults.jsonl:7: unreadable line skipped")
    found = outcome("maintenance_disruption", evidence(load=rows(), k8s=CORDONED, chaos=incomplete))
    assert found.verdict is Verdict.INCONCLUSIVE and "chaos record" in found.results[0].detail


def test_scopes_not_exercised_are_reported_and_never_a_pass(monkeypatch) -> None:
    def exercised_one(spec, ev):
        return [
            Result(criterion=spec.id, scope={"pdb": "a"}, verdict=Verdict.PASS, value=0, detail="held"),
            Result(
                criterion=spec.id,
                scope={"pdb": "b"},
                verdict=Verdict.NOT_EXERCISED,
                detail="not exercised: x",
            ),
        ]

    def exercised_none(spec, ev):
        return [
            Result(
                criterion=spec.id, scope={"pdb": "b"}, verdict=Verdict.NOT_EXERCISED, detail="not exercised"
            )
        ]

    module = registry.CRITERIA["pdb_respected"]
    monkeypatch.setattr(module, "evaluate", exercised_one)
    assert outcome("pdb_respected", evidence()).verdict is Verdict.PASS
    monkeypatch.setattr(module, "evaluate", exercised_none)
    assert outcome("pdb_respected", evidence()).verdict is Verdict.INCONCLUSIVE
