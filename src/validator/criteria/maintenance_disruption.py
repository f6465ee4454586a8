"""Zero service disruption during planned maintenance.

Per planned-maintenance fault (drain, cordon, maintenance): failed workflow submissions seen by the
load generator inside its window, plus failed workflows (Events with reason `WorkflowFailed`) inside it.
A maintenance that could not complete (its injection failed, e.g. a drain whose evictions a budget
refused until the deadline) fails whatever the count: the maintenance did not happen. The advice then
names each PodDisruptionBudget that allowed no disruption to a pod of a cordoned node meanwhile.
When every such budget was held at zero by pods not Ready on nodes that were not Ready (a node
failure during the maintenance, which no budget guards), whether the maintenance would have
completed cannot be told: inconclusive, naming those pods.
"""

from __future__ import annotations

from validator.criteria import fault_windows
from validator.criteria.evidence_checks import inconclusive, judged
from validator.criteria.load_counts import increase
from validator.criteria.watch_timeline import (
    selected_in,
    state_at,
    states_during,
    timelines,
    unready_on_nodes_not_ready,
)
from validator.criteria.wording import first_few
from validator.model import (
    CriterionSpec,
    EventState,
    Evidence,
    FaultWindow,
    NodeState,
    PdbState,
    PodState,
    Result,
    SourceName,
    TimeWindow,
)
from validator.model.faults import DRAIN

ID = "maintenance_disruption"
INFO = False
PROMETHEUS_ONLY = False
SOURCES = (SourceName.LOAD, SourceName.CHAOS, SourceName.K8S)
MEASURES: tuple[str, ...] = ()
PROMETHEUS_MEASURES: tuple[str, ...] = ()
QUERIES: dict[str, str] = {}
DEFAULTS: dict[str, float] = {"max": 0}


def evaluate(spec: CriterionSpec, evidence: Evidence) -> list[Result]:
    band = spec.band("max")
    if evidence.chaos is None:
        return [
            inconclusive(
                spec,
                f"no fault evidence: {evidence.why_missing(SourceName.CHAOS)}",
                unit="count",
                threshold=band,
            )
        ]
    windows = [(f, w) for f, w in fault_windows.closed(evidence) if f.is_maintenance]
    never = fault_windows.never_injected(spec, evidence, kinds=(DRAIN,), unit="count", threshold=band)
    if not windows:
        return never or [
            inconclusive(
                spec,
                "no planned-maintenance fault (drain) completed in the run",
                unit="count",
                threshold=band,
            )
        ]
    if evidence.load is None:
        return [
            inconclusive(
                spec,
                f"no load evidence: {evidence.why_missing(SourceName.LOAD)}",
                unit="count",
                threshold=band,
            )
        ]
    rows = evidence.load.aggregated()
    failed_events = []
    if evidence.k8s is not None:
        for record in evidence.k8s.of_kind("Event"):
            state = record.state
            if isinstance(state, EventState) and state.reason == "WorkflowFailed":
                failed_events.append((state.time if state.time is not None else record.received, state))
    results: list[Result] = list(never)
    for fault, window in windows:
        scope = fault_windows.fault_scope(fault)
        failures, inside = increase(rows, window, failures=True)
        if fault.status == "failed":
            results.append(_incomplete(spec, evidence, fault, window, failures, inside))
            continue
        if inside == 0:
            results.append(
                inconclusive(
                    spec,
                    "no load sample inside the maintenance window: submissions were not observed",
                    scope=scope,
                    unit="count",
                    threshold=band,
                )
            )
            continue
        workflows = sorted(
            {
                (s.involved_namespace, s.involved_name)
                for t, s in failed_events
                if window.start <= t <= window.end
            }
        )
        value = float(failures + len(workflows))
        detail = (
            f"{failures} failed submission(s) over {inside} load samples, {len(workflows)} failed workflow(s)"
        )
        if workflows:
            detail += ": " + ", ".join(f"{ns}/{name}" for ns, name in workflows[:5])
        if evidence.k8s is None:
            detail += "; failed workflows not checked (no Kubernetes watch)"
        advice = (
            f"maintenance `{fault.fault}` disrupted service: give every agent Deployment 2+ replicas "
            f"with a PDB "
            "and a preStop hook, and make submitters retry on 5xx",
        )
        ok = value <= spec.threshold("max")
        if ok and evidence.k8s is None:
            results.append(
                inconclusive(spec, f"partial data: {detail}", scope=scope, unit="count", threshold=band)
            )
            continue
        results.append(
            judged(spec, ok, value, detail, scope=scope, unit="count", threshold=band, advice=advice)
        )
    return results


def _incomplete(
    spec: CriterionSpec,
    evidence: Evidence,
    fault: FaultWindow,
    window: TimeWindow,
    failures: int,
    inside: int,
) -> Result:
    """A maintenance that did not complete: fail, naming the budgets that held it."""
    why = fault.error.strip() or "its injection failed"
    detail = f"planned maintenance `{fault.fault}` did not complete: {why}"
    if inside:
        detail += f"; {failures} failed submission(s) over {inside} load samples meanwhile"
    budgets = _blocking_budgets(evidence, window)
    held_by_failed_nodes = {name: _held_by_nodes_not_ready(evidence, name, window) for name, _, _ in budgets}
    if budgets and all(held_by_failed_nodes.values()):
        pods = sorted({p for found in held_by_failed_nodes.values() for p in found})
        return inconclusive(
            spec,
            f"{detail}; every budget that held it ({', '.join(sorted(held_by_failed_nodes))}) allowed no "
            f"disruption while its pods sat not Ready on nodes not Ready ({first_few(pods)}), a node "
            "failure no budget guards: whether the maintenance would have completed cannot be told",
            scope=fault_windows.fault_scope(fault),
            unit="count",
            threshold=spec.band("max"),
        )
    advice = tuple(
        f"PodDisruptionBudget `{name}` allowed no disruption to the pods of the cordoned node(s) "
        f"({rule}, {state.current_healthy} of {state.expected_pods} pod(s) healthy): set maxUnavailable: 1 "
        "(or minAvailable below the replica count) and run 2+ replicas, so maintenance can proceed"
        for name, state, rule in budgets
    ) or (
        f"maintenance `{fault.fault}` could not complete: see the detail for what held it (a drain waits "
        "for every PodDisruptionBudget of the node's pods to allow an eviction)",
    )
    return judged(
        spec,
        False,
        float(failures),
        detail,
        scope=fault_windows.fault_scope(fault),
        unit="count",
        threshold=spec.band("max"),
        advice=advice,
    )


def _blocking_budgets(evidence: Evidence, window: TimeWindow) -> list[tuple[str, PdbState, str]]:
    """PDBs that allowed no disruption during `window` while selecting a pod on a node cordoned in it."""
    if evidence.k8s is None:
        return []
    k8s = evidence.k8s
    cordoned = {
        name
        for name, line in timelines(k8s, "Node", NodeState).items()
        if any(s.unschedulable for s in states_during(line, window))
    }
    pods = [
        (key.split("/", 1)[0], state)
        for key, line in timelines(k8s, "Pod", PodState).items()
        for state in states_during(line, window)
        if state.node_name in cordoned and not state.deleting
    ]
    out: list[tuple[str, PdbState, str]] = []
    for name, line in sorted(timelines(k8s, "PodDisruptionBudget", PdbState).items()):
        namespace = name.split("/", 1)[0]
        held = [s for s in states_during(line, window) if s.disruptions_allowed == 0]
        if not held:
            continue
        state = held[-1]
        if any(ns == namespace and state.selector.matches(pod.labels) for ns, pod in pods):
            rule = (
                f"minAvailable {state.min_available}"
                if state.min_available
                else f"maxUnavailable {state.max_unavailable or '?'}"
            )
            out.append((name, state, rule))
    return out


def _held_by_nodes_not_ready(evidence: Evidence, name: str, window: TimeWindow) -> list[str]:
    """The budget's pods not Ready on a node not Ready at some moment of `window` when the budget
    allowed no disruption (its changes inside the window, and the window's end)."""
    assert evidence.k8s is not None
    line = timelines(evidence.k8s, "PodDisruptionBudget", PdbState).get(name, ())
    namespace = name.split("/", 1)[0]
    moments = [t for t, s in line if s is not None and window.start <= t <= window.end] + [window.end]
    found: set[str] = set()
    for t in moments:
        budget = state_at(line, t)
        if budget is not None and budget.disruptions_allowed == 0:
            found.update(unready_on_nodes_not_ready(evidence.k8s, t, selected_in(namespace, budget.selector)))
    return sorted(found)
