"""Did a fault take effect? A fault that never did tests nothing, so what depends on it is not a pass.

What counts as the effect, per kind of fault (`FaultWindow.kind`), looked for from the injection's
start to a few seconds after its end (the watch stamps lines on receipt):

| kind | effect seen when |
|---|---|
| drain | a target node (any node, when the fault named none) was cordoned |
| eviction | a target pod was evicted (its `DisruptionTarget` condition) or deleted |
| pod-kill | a target pod was deleted |
| node-failure | a target node was NotReady |
| memory-pressure | a target pod was OOM-killed, or its working set (Prometheus) reached 90% of |
|                 | its memory limit or rose by 10% of it over its level before the fault |
| other | a target pod stopped being Ready, restarted or was deleted, or a target node was |
|       | cordoned or NotReady |

Pure: reads the evidence, returns reasons.
"""

from __future__ import annotations

from validator.criteria import memory_utilization
from validator.criteria.series_math import max_by
from validator.criteria.watch_timeline import timelines
from validator.model import (
    Evidence,
    FaultWindow,
    K8sEvidence,
    NodeState,
    PodState,
    SourceName,
    TimeWindow,
)
from validator.model.faults import DRAIN, EVICTION, MEMORY_PRESSURE, NODE_FAILURE, POD_KILL

# Prometheus queries the memory-pressure effect reads (memory_utilization's): a run collects them
# whatever its suite judges
QUERIES = {
    key: memory_utilization.QUERIES[key] for key in ("memory_working_set_by_pod", "memory_limits_by_pod")
}
# receipt of a change the injection caused can trail its end line by the watch's delay; objects'
# own times are whole seconds (docs/recorder.md, "Timing error")
EFFECT_SLACK_S = 5.0
OBJECT_CLOCK_SLACK_S = 1.25
PRESSURE_SHARE = 0.9  # of the limit
PRESSURE_RISE = 0.1  # of the limit, over the pod's level before the fault


def unobserved(fault: FaultWindow, evidence: Evidence) -> str:
    """ "" when the evidence shows that `fault` took effect; otherwise why it does not."""
    end = fault.end if fault.end is not None else evidence.window.end
    span = TimeWindow(start=fault.start - OBJECT_CLOCK_SLACK_S, end=max(end, fault.start) + EFFECT_SLACK_S)
    kind = fault.kind
    if kind == MEMORY_PRESSURE:
        return _memory_pressure(fault, evidence, span)
    if evidence.k8s is None:
        return f"no Kubernetes watch to see its effect ({evidence.why_missing(SourceName.K8S)})"
    k8s = evidence.k8s
    if kind == DRAIN:
        nodes = _nodes_where(k8s, fault.node_targets, span, lambda n: n.unschedulable)
        if nodes:
            return ""
        named = ", ".join(fault.node_targets) or "no node"
        return f"no node was seen cordoned ({named} targeted)"
    if kind == NODE_FAILURE:
        if _nodes_where(k8s, fault.node_targets, span, lambda n: not n.ready):
            return ""
        return f"no target node was seen NotReady ({', '.join(fault.node_targets) or 'none named'})"
    if kind in (EVICTION, POD_KILL):
        if not fault.pod_targets:
            return "the fault reported no pod it touched"
        if _pods_disrupted(k8s, fault, span, evicted_counts=kind == EVICTION):
            return ""
        what = "evicted or deleted" if kind == EVICTION else "deleted"
        return f"none of its target pods ({', '.join(fault.pod_targets[:3])}) was seen {what}"
    if not fault.targets:
        return "it reported no target, so its effect cannot be looked for"
    if _pods_disrupted(k8s, fault, span, evicted_counts=True, readiness_counts=True) or _nodes_where(
        k8s, fault.node_targets, span, lambda n: n.unschedulable or not n.ready
    ):
        return ""
    return "none of its targets was seen disrupted (not Ready, restarted, deleted, cordoned)"


def _nodes_where(k8s: K8sEvidence, names: tuple[str, ...], span: TimeWindow, test: object) -> list[str]:
    assert callable(test)
    found = []
    for name, line in timelines(k8s, "Node", NodeState).items():
        if names and name not in names:
            continue
        if any(s is not None and span.start <= t <= span.end and test(s) for t, s in line):
            found.append(name)
    return found


def _pods_disrupted(
    k8s: K8sEvidence,
    fault: FaultWindow,
    span: TimeWindow,
    *,
    evicted_counts: bool,
    readiness_counts: bool = False,
) -> bool:
    targets = set(fault.pod_targets)
    for key, line in timelines(k8s, "Pod", PodState).items():
        if key not in targets:
            continue
        restarts: set[int] = set()
        for t, state in line:
            if not span.start <= t <= span.end:
                if state is not None:
                    restarts.update(c.restart_count for c in state.terminations)
                continue
            if state is None or state.deleting:
                return True
            if evicted_counts and state.evicted_at is not None and span.contains(state.evicted_at):
                return True
            if readiness_counts and (
                not state.ready
                or any(
                    c.restart_count not in restarts
                    and c.finished_at is not None
                    and span.contains(c.finished_at)
                    for c in state.terminations
                )
            ):
                return True
    return False


def _memory_pressure(fault: FaultWindow, evidence: Evidence, span: TimeWindow) -> str:
    if not fault.pod_targets:
        return "the fault reported no pod it touched"
    targets = set(fault.pod_targets)
    if evidence.k8s is not None:
        for key, line in timelines(evidence.k8s, "Pod", PodState).items():
            if key in targets and any(
                s is not None
                and any(
                    c.reason == "OOMKilled" and c.finished_at is not None and span.contains(c.finished_at)
                    for c in s.terminations
                )
                for _, s in line
            ):
                return ""
    if evidence.metrics is None:
        return "no OOM kill of a target seen, and no Prometheus evidence of its working set"
    usage = evidence.metrics.get("memory_working_set_by_pod")
    limits = evidence.metrics.get("memory_limits_by_pod")
    if not usage.ok or not limits.ok:
        return "no OOM kill of a target seen, and its working set was not queried"
    used = max_by(usage, "namespace", "pod")
    limit = max_by(limits, "namespace", "pod")
    for ns_pod in targets:
        namespace, _, pod = ns_pod.partition("/")
        points = used.get((namespace, pod), [])
        cap = max((v for _, v in limit.get((namespace, pod), [])), default=0.0)
        if not points or cap <= 0:
            continue
        before = max((v for t, v in points if t < fault.start), default=0.0)
        during = max((v for t, v in points if span.start <= t <= span.end), default=0.0)
        if during >= PRESSURE_SHARE * cap or during >= before + PRESSURE_RISE * cap:
            return ""
    return (
        "no OOM kill of a target seen, and no target's working set rose "
        f"(to {PRESSURE_SHARE:.0%} of its limit, or by {PRESSURE_RISE:.0%} of it)"
    )
