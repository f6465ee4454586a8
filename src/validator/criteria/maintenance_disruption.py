"""Zero service disruption during planned maintenance.

Per planned-maintenance fault (drain, cordon, maintenance): failed workflow submissions seen by the
load generator inside its window, plus failed workflows (Events with reason `WorkflowFailed`) inside it.
"""

from __future__ import annotations

from validator.criteria import fault_windows
from validator.criteria.evidence_checks import inconclusive, judged
from validator.criteria.load_counts import increase
from validator.model import CriterionSpec, EventState, Evidence, Result, SourceName

ID = "maintenance_disruption"
INFO = False
PROMETHEUS_ONLY = False
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
    if not windows:
        return [
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
    results: list[Result] = []
    for fault, window in windows:
        scope = fault_windows.fault_scope(fault)
        failures, inside = increase(rows, window, failures=True)
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
