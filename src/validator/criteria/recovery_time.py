"""< 5 minutes to recover from resource exhaustion.

Per injected fault: seconds from the end of the injection (for a drain: its rollback, when the node
is schedulable again) to the first moment the steady state holds again: the targeted Deployments (or,
when the fault names none, every Deployment in the run's namespaces) at their desired ready replicas,
targeted nodes schedulable and Ready, and `workflow_queue_depth` (when exported) back at or under its
level in the five minutes before the fault. Overlapping faults are timed from the end of the last
fault of their group. No recovery before the window ends counts to the end and fails.
"""

from __future__ import annotations

from collections.abc import Callable

from validator.criteria import fault_windows
from validator.criteria.evidence_checks import at_most, inconclusive, judged
from validator.criteria.series_math import max_by, sum_by
from validator.criteria.watch_timeline import blind_spans, state_at, timelines
from validator.criteria.wording import at, secs
from validator.model import (
    CriterionSpec,
    DeploymentState,
    Evidence,
    FaultWindow,
    NodeState,
    Result,
    SourceName,
    TimeWindow,
)

ID = "recovery_time"
INFO = False
PROMETHEUS_ONLY = False
QUERIES: dict[str, str] = {
    "deployment_replicas_ready": "max by (namespace, deployment) "
    "(kube_deployment_status_replicas_ready{{namespace_matcher}})",
    "deployment_replicas_desired": "max by (namespace, deployment) "
    "(kube_deployment_spec_replicas{{namespace_matcher}})",
    "node_unschedulable": "max by (node) (kube_node_spec_unschedulable)",
    "workflow_queue_depth": "sum(workflow_queue_depth)",
}
DEFAULTS: dict[str, float] = {"max": 300, "queue_baseline_seconds": 300}

Unmet = Callable[[float], list[str]]  # what is not yet back at time t


def evaluate(spec: CriterionSpec, evidence: Evidence) -> list[Result]:
    band = spec.band("max")
    if evidence.chaos is None:
        return [
            inconclusive(
                spec,
                f"no fault evidence: {evidence.why_missing(SourceName.CHAOS)}",
                unit="seconds",
                threshold=band,
            )
        ]
    results: list[Result] = [
        inconclusive(
            spec,
            f"fault `{f.fault}` has no inject_end line: the injection's end is unknown",
            scope=fault_windows.fault_scope(f),
            unit="seconds",
            threshold=band,
        )
        for f in fault_windows.unterminated(evidence)
    ]
    closed = fault_windows.closed(evidence)
    if not closed and not results:
        return [inconclusive(spec, "no injected fault in the run", unit="seconds", threshold=band)]
    use_watch = evidence.k8s is not None and evidence.k8s.kind_seen("Deployment")
    if not use_watch and (
        evidence.metrics is None or not evidence.metrics.get("deployment_replicas_ready").ok
    ):
        for f, _ in closed:
            results.append(
                inconclusive(
                    spec,
                    "neither the Kubernetes watch nor Prometheus shows Deployment readiness",
                    scope=fault_windows.fault_scope(f),
                    unit="seconds",
                    threshold=band,
                )
            )
        return results
    for group in fault_windows.overlap_groups(closed):
        origin = max(_recovery_from(f) for f, _ in group)
        overlapping = len(group) > 1
        for fault, window in group:
            results.append(_judge(spec, evidence, fault, window, origin, overlapping, use_watch))
    return sorted(results, key=lambda r: (r.scope.get("start", ""), r.scope.get("fault", "")))


def _recovery_from(fault: FaultWindow) -> float:
    found = fault.recovery_from
    return found if found is not None else fault.start


def _judge(
    spec: CriterionSpec,
    evidence: Evidence,
    fault: FaultWindow,
    window: TimeWindow,
    origin: float,
    overlapping: bool,
    use_watch: bool,
) -> Result:
    band = spec.band("max")
    scope = fault_windows.fault_scope(fault)
    unmet, candidates, note, checked = (_watch_state if use_watch else _prometheus_state)(evidence, fault)
    if not checked:
        return inconclusive(
            spec,
            "no Deployment or node to judge the steady state on (none targeted, none in the run's "
            "namespaces)",
            scope=scope,
            unit="seconds",
            threshold=band,
        )
    queue_unmet, queue_times, queue_note = _queue_state(spec, evidence, window)
    end = evidence.window.end
    times = sorted({origin, *[t for t in candidates + queue_times if origin <= t <= end]})
    source = "Kubernetes watch" if use_watch else "kube-state-metrics"
    notes = "; ".join(
        filter(
            None, [note, queue_note, "timed from the end of the overlapping faults" if overlapping else ""]
        )
    )
    limit = spec.threshold("max")
    last_missing: list[str] = []
    for t in times:
        missing = unmet(t) + queue_unmet(t)
        if not missing:
            value = t - origin
            return judged(
                spec,
                at_most(value, limit),
                value,
                f"steady state back at {at(t)}, {secs(value)} after {at(origin)} ({source})"
                + (f"; {notes}" if notes else ""),
                scope=scope,
                unit="seconds",
                threshold=band,
                advice=(f"recovery from `{fault.fault}` took {secs(value)}: {_advice(last_missing)}",),
            )
        last_missing = missing
    if use_watch and evidence.k8s is not None:
        blind = [b for b in blind_spans(evidence.k8s, "Deployment", evidence.window) if b.end > origin]
        if blind:
            return inconclusive(
                spec,
                f"no recovery seen before the window ended, but the watch has gaps after {at(origin)}",
                scope=scope,
                unit="seconds",
                threshold=band,
            )
    value = end - origin
    return judged(
        spec,
        at_most(value, limit),
        value,
        f"not recovered when the window ended ({secs(value)} after {at(origin)}); still missing: "
        + ", ".join(last_missing[:5])
        + (f"; {notes}" if notes else ""),
        scope=scope,
        unit="seconds",
        threshold=band,
        advice=(f"`{fault.fault}` left the platform unrecovered: {_advice(last_missing)}",),
    )


def _advice(missing: list[str]) -> str:
    if not missing:
        return "shorten readiness probes' initialDelaySeconds and image pulls"
    first = missing[0]
    if first.startswith("node"):
        return f"{first}: make the fault's rollback uncordon it"
    if first.startswith("queue"):
        return f"{first}: scale workers faster (HPA on workflow_queue_depth)"
    return f"{first}: check its readiness probe, image pulls and resource requests"


def _targets(fault: FaultWindow, prefix: str) -> list[str]:
    return [t.split("/", 1)[1] for t in fault.targets if t.lower().startswith(prefix + "/")]


def _watch_state(evidence: Evidence, fault: FaultWindow) -> tuple[Unmet, list[float], str, int]:
    assert evidence.k8s is not None
    nodes = timelines(evidence.k8s, "Node", NodeState)
    deployments = timelines(evidence.k8s, "Deployment", DeploymentState)
    node_targets = _targets(fault, "node")
    wanted = _targets(fault, "deployment")
    namespaces = set(evidence.manifest.namespaces)
    chosen = {
        key: line
        for key, line in deployments.items()
        if (key in wanted or key.split("/", 1)[-1] in wanted)
        or (not wanted and (not namespaces or key.split("/", 1)[0] in namespaces))
    }
    note = "" if wanted else f"steady state over all {len(chosen)} Deployment(s) of the run's namespaces"

    def unmet(t: float) -> list[str]:
        out: list[str] = []
        for name in node_targets:
            node = state_at(nodes.get(name, []), t)
            if node is None or node.unschedulable or not node.ready:
                out.append(f"node `{name}` not schedulable and Ready")
        for key, line in sorted(chosen.items()):
            dep = state_at(line, t)
            if dep is not None and dep.ready_replicas < dep.replicas:
                out.append(f"Deployment `{key}` at {dep.ready_replicas}/{dep.replicas} ready")
        return out

    times = [t for line in chosen.values() for t, _ in line]
    times += [t for n in node_targets for t, _ in nodes.get(n, [])]
    return unmet, times, note, len(chosen) + len(node_targets)


def _prometheus_state(evidence: Evidence, fault: FaultWindow) -> tuple[Unmet, list[float], str, int]:
    assert evidence.metrics is not None
    ready = max_by(evidence.metrics.get("deployment_replicas_ready"), "namespace", "deployment")
    desired = max_by(evidence.metrics.get("deployment_replicas_desired"), "namespace", "deployment")
    nodes = max_by(evidence.metrics.get("node_unschedulable"), "node")
    node_targets = _targets(fault, "node")
    wanted = _targets(fault, "deployment")
    chosen = {k: v for k, v in ready.items() if not wanted or "/".join(k) in wanted or k[1] in wanted}

    def latest(points: list[tuple[float, float]], t: float) -> float | None:
        found = None
        for ts, v in points:
            if ts > t:
                break
            found = v
        return found

    def unmet(t: float) -> list[str]:
        out: list[str] = []
        for name in node_targets:
            flag = latest(nodes.get((name,), []), t)
            if flag is None or flag >= 1:
                out.append(f"node `{name}` not schedulable")
        for key, points in sorted(chosen.items()):
            r, d = latest(points, t), latest(desired.get(key, []), t)
            if r is not None and d is not None and r < d:
                out.append(f"Deployment `{'/'.join(key)}` at {r:g}/{d:g} ready")
        return out

    times = [t for points in chosen.values() for t, _ in points]
    note = "" if wanted else f"steady state over all {len(chosen)} Deployment(s)"
    return unmet, times, note, len(chosen) + len(node_targets)


def _queue_state(
    spec: CriterionSpec, evidence: Evidence, window: TimeWindow
) -> tuple[Unmet, list[float], str]:
    if evidence.metrics is None:
        return (lambda t: []), [], "queue depth not checked (no Prometheus evidence)"
    result = evidence.metrics.get("workflow_queue_depth")
    if result.problem():
        return (lambda t: []), [], f"queue depth not checked ({result.problem()})"
    points = next(iter(sum_by(result).values()), [])
    lead = spec.threshold("queue_baseline_seconds")
    before = [v for t, v in points if window.start - lead <= t <= window.start]
    if not before:
        return (lambda t: []), [], "queue depth not checked (no sample before the fault)"
    baseline = max(before)

    def unmet(t: float) -> list[str]:
        now = None
        for ts, v in points:
            if ts > t:
                break
            now = v
        if now is not None and now > baseline:
            return [f"queue depth {now:g} above its pre-fault {baseline:g}"]
        return []

    return unmet, [t for t, _ in points], ""
