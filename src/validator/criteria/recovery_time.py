"""< 5 minutes to recover from resource exhaustion.

Per injected fault: seconds from the end of the injection (for a drain: its rollback, when the node
is schedulable again) to the first moment the steady state holds again:

- the workloads the fault touched at their desired ready replicas: the owners (Deployment,
  StatefulSet, DaemonSet) of the pods it targeted, or of the pods on the nodes it targeted; when it
  names neither, every workload of the run's namespaces. Only workloads that existed when the fault
  began count, and one that vanished since is not recovered;
- the nodes it targeted schedulable and Ready;
- `workflow_queue_depth` (when exported) back at or under its level in the five minutes before.

The steady state must hold through the watch's receipt delay (`RECEIPT_SLACK_S`): an update
showing the damage that arrives a moment after the fault's end line is not read as "recovered at
once". Overlapping faults are timed from the end of the last fault of their group.

Not recovered when the evidence ends (the window, or a watch gap): a failure once the budget has
elapsed, inconclusive ("window too short") before. A failure becomes inconclusive when some of the
judged workloads' pods that were not Ready then sat on a node the fault did not target that was not
Ready at some moment since the fault began: a node failure outside the fault holds them down, and
the fault's own recovery cannot be told. Durations of a compressed run are judged in
real time (`time_factor`); the result shows both figures.
"""

from __future__ import annotations

from collections.abc import Callable

from validator.criteria import fault_windows, workloads
from validator.criteria.evidence_checks import (
    at_most,
    budget_on_run_clock,
    clock_note,
    inconclusive,
    judged,
    on_clock,
    window_too_short,
)
from validator.criteria.promql import workload_query
from validator.criteria.series_math import max_by, sum_by
from validator.criteria.watch_timeline import (
    blind_spans,
    merge,
    state_at,
    timelines,
    unready_on_nodes_not_ready,
)
from validator.criteria.wording import at, first_few, secs
from validator.model import (
    WORKLOAD_KINDS,
    CriterionSpec,
    Evidence,
    FaultWindow,
    HpaState,
    NodeState,
    PodState,
    Result,
    SourceName,
    TimeWindow,
)
from validator.model.faults import DRAIN, NODE_FAILURE

ID = "recovery_time"
INFO = False
PROMETHEUS_ONLY = False
SOURCES = (SourceName.K8S, SourceName.CHAOS, SourceName.METRICS)
MEASURES: tuple[str, ...] = ()
PROMETHEUS_MEASURES: tuple[str, ...] = ()


QUERIES: dict[str, str] = {
    "workload_replicas_ready": workload_query(
        (
            ("Deployment", "kube_deployment_status_replicas_ready", "deployment"),
            ("StatefulSet", "kube_statefulset_status_replicas_ready", "statefulset"),
            ("DaemonSet", "kube_daemonset_status_number_ready", "daemonset"),
        )
    ),
    "workload_replicas_desired": workload_query(
        (
            ("Deployment", "kube_deployment_spec_replicas", "deployment"),
            ("StatefulSet", "kube_statefulset_replicas", "statefulset"),
            ("DaemonSet", "kube_daemonset_status_desired_number_scheduled", "daemonset"),
        )
    ),
    "node_unschedulable": "max by (node) (kube_node_spec_unschedulable)",
    "workflow_queue_depth": "sum(workflow_queue_depth)",
}
DEFAULTS: dict[str, float] = {"max": 300, "queue_baseline_seconds": 300}
# How long after a moment the watch may still deliver a change that happened before it (the
# recorder's receipt delay is tens of milliseconds; a controller's status update trails the pod
# change it reports by a little more): the steady state must hold this long to count.
RECEIPT_SLACK_S = 1.0
QUEUE_METRIC = "workflow_queue_depth"
QUEUE_TOLERANCE = 0.1  # the HPA's own dead band

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
    results.extend(fault_windows.never_injected(spec, evidence, unit="seconds", threshold=band))
    closed = fault_windows.closed(evidence)
    if not closed and not results:
        return [inconclusive(spec, "no injected fault in the run", unit="seconds", threshold=band)]
    use_watch = evidence.k8s is not None and workloads.seen_kinds(evidence.k8s)
    if not use_watch and (evidence.metrics is None or not evidence.metrics.get("workload_replicas_ready").ok):
        for f, _ in closed:
            results.append(
                inconclusive(
                    spec,
                    "neither the Kubernetes watch nor Prometheus shows workload readiness",
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
    if use_watch:
        unmet, candidates, note, checked, blind = _watch_state(evidence, fault)
        slack = RECEIPT_SLACK_S
    else:
        unmet, candidates, note, checked = _prometheus_state(evidence, fault)
        blind = []
        slack = evidence.metrics.step_seconds if evidence.metrics is not None else 15.0
    if not checked:
        return inconclusive(
            spec,
            "no workload to judge the steady state on: no Deployment or node (nor StatefulSet or "
            "DaemonSet) targeted, none in the run's namespaces",
            scope=scope,
            unit="seconds",
            threshold=band,
        )
    queue_unmet, queue_times, queue_note = _queue_state(spec, evidence, window)
    end = evidence.window.end
    changes = sorted({t for t in candidates + queue_times if origin <= t <= end})
    times = [origin, *changes]
    source = "Kubernetes watch" if use_watch else "kube-state-metrics"
    notes = "; ".join(
        filter(
            None, [note, queue_note, "timed from the end of the overlapping faults" if overlapping else ""]
        )
    )
    limit = spec.threshold("max")
    blind_after = [b for b in merge(blind) if b.end > origin]

    def missing_at(t: float) -> list[str]:
        return unmet(t) + queue_unmet(t)

    last_missing: list[str] = []
    last_missing_at = origin
    for t in times:
        missing = missing_at(t)
        if not missing:
            # it must still hold once the changes the watch had yet to deliver at t have arrived
            late = [c for c in changes if t < c <= t + slack and missing_at(c)]
            if late:
                last_missing, last_missing_at = missing_at(late[0]), late[0]
                continue
            value, compressed = on_clock(evidence, t - origin)
            hidden = [b for b in blind_after if b.start < t]
            ok = at_most(value, limit)
            held = (
                [] if ok or not use_watch else _held_by_other_failed_nodes(evidence, fault, last_missing_at)
            )
            if held:
                return _confounded(
                    spec,
                    scope,
                    f"steady state back at {at(t)}, {secs(value)} after {at(origin)}{clock_note(compressed)}",
                    held,
                )
            if hidden and not ok:
                return inconclusive(
                    spec,
                    f"steady state back at {at(t)}, but the watch has gaps after {at(origin)} that may hide "
                    "an earlier recovery",
                    scope=scope,
                    unit="seconds",
                    threshold=band,
                )
            return judged(
                spec,
                ok,
                value,
                f"steady state back at {at(t)}, {secs(value)} after {at(origin)}{clock_note(compressed)} "
                f"({source})"
                + ("; it already held when the fault ended" if t == origin and not last_missing else "")
                + (f"; {notes}" if notes else ""),
                scope=scope,
                unit="seconds",
                threshold=band,
                advice=(f"recovery from `{fault.fault}` took {secs(value)}: {_advice(last_missing)}",),
                compressed=compressed,
            )
        last_missing, last_missing_at = missing, t
    seen_until = min([end, *(b.start for b in blind_after)])
    elapsed_run = max(0.0, seen_until - origin)
    elapsed, compressed = on_clock(evidence, elapsed_run)
    still = ", ".join(last_missing[:5]) or "the steady state"
    if not at_most(elapsed, limit) or elapsed_run >= budget_on_run_clock(evidence, limit):
        held = _held_by_other_failed_nodes(evidence, fault, seen_until) if use_watch else []
        if held:
            return _confounded(
                spec,
                scope,
                f"not recovered {secs(elapsed)} after {at(origin)}{clock_note(compressed)}, past the budget; "
                f"still missing: {still}",
                held,
            )
        gap = "" if seen_until >= end else f" (a watch gap follows at {at(seen_until)})"
        return judged(
            spec,
            False,
            elapsed,
            f"not recovered {secs(elapsed)} after {at(origin)}{clock_note(compressed)}, past the budget"
            f"{gap}; still missing: {still}" + (f"; {notes}" if notes else ""),
            scope=scope,
            unit="seconds",
            threshold=band,
            advice=(f"`{fault.fault}` left the platform unrecovered: {_advice(last_missing)}",),
            compressed=compressed,
        )
    if seen_until < end:
        return inconclusive(
            spec,
            f"not recovered {secs(elapsed)} after {at(origin)}{clock_note(compressed)} when the watch lost "
            f"sight ({at(seen_until)}), under the budget; still missing: {still}",
            scope=scope,
            unit="seconds",
            threshold=band,
        )
    return window_too_short(
        spec,
        evidence,
        f"`{fault.fault}` not recovered (still missing: {still})",
        elapsed_run,
        limit,
        scope=scope,
        threshold=band,
    )


def _confounded(spec: CriterionSpec, scope: dict[str, str], what: str, held: list[str]) -> Result:
    return inconclusive(
        spec,
        f"{what}, but {len(held)} of the judged pods not Ready then sat on nodes the fault did not target "
        f"that went not Ready since it began ({first_few(held)}): a node failure outside the fault, so "
        "its own recovery cannot be told",
        scope=scope,
        unit="seconds",
        threshold=spec.band("max"),
    )


def _held_by_other_failed_nodes(evidence: Evidence, fault: FaultWindow, t: float) -> list[str]:
    """Pods of the fault's judged workloads not Ready at `t` on a node the fault did not target that
    was not Ready at some moment between the fault's start and `t` (`ns/name`). kwok, like a
    kubelet cut off, leaves such pods NotReady until they are replaced."""
    assert evidence.k8s is not None
    wanted, _ = _chosen_workloads(evidence, fault)
    owners = workloads.Owners(evidence.k8s)

    def judged_elsewhere(key: str, pod: PodState) -> bool:
        return pod.node_name not in fault.node_targets and owners.of(key.split("/", 1)[0], pod) in wanted

    return unready_on_nodes_not_ready(evidence.k8s, t, judged_elsewhere, since=fault.start)


def _advice(missing: list[str]) -> str:
    if not missing:
        return "shorten readiness probes' initialDelaySeconds and image pulls"
    first = missing[0]
    if first.startswith("node"):
        return f"{first}: make the fault's rollback uncordon it"
    if first.startswith("queue"):
        return f"{first}: scale workers faster (HPA on workflow_queue_depth)"
    if "vanished" in first:
        return f"{first}: a workload the platform needs must not be deleted by a fault"
    return f"{first}: check its readiness probe, image pulls and resource requests"


def _chosen_workloads(evidence: Evidence, fault: FaultWindow) -> tuple[set[str], str]:
    """The workloads whose readiness is the fault's steady state, and how they were chosen."""
    assert evidence.k8s is not None
    owners = workloads.Owners(evidence.k8s)
    pods = timelines(evidence.k8s, "Pod", PodState)
    named = _named_workloads(evidence, fault)
    if named:
        return named, f"steady state over the {len(named)} workload(s) the fault names"
    chosen: set[str] = set()
    for key in fault.pod_targets:
        line = pods.get(key, ())
        state = state_at(line, fault.start) or next((s for _, s in line if s is not None), None)
        if state is not None and (owner := owners.of(key.split("/", 1)[0], state)):
            chosen.add(owner)
    if fault.node_targets and fault.kind in (DRAIN, NODE_FAILURE):
        for key, line in pods.items():
            state = state_at(line, fault.start)
            if (
                state is not None
                and state.node_name in fault.node_targets
                and (owner := owners.of(key.split("/", 1)[0], state))
            ):
                chosen.add(owner)
    if chosen:
        return chosen, f"steady state over the {len(chosen)} workload(s) the fault touched"
    namespaces = set(evidence.manifest.namespaces)
    every = {
        key
        for key in workloads.workload_timelines(evidence.k8s)
        if not namespaces or workloads.namespace_of(key) in namespaces
    }
    return every, f"steady state over all {len(every)} workload(s) of the run's namespaces"


def _named_workloads(evidence: Evidence, fault: FaultWindow) -> set[str]:
    """Workloads the fault names itself (`deployment/<ns>/<name>`, `statefulset/...`, or
    `deployment/<name>` in any of the run's namespaces)."""
    kinds = {k.lower(): k for k in WORKLOAD_KINDS}
    namespaces = evidence.manifest.namespaces or ("",)
    out: set[str] = set()
    for target in fault.targets:
        kind, _, rest = target.partition("/")
        if kind.lower() not in kinds or not rest:
            continue
        if "/" in rest:
            out.add(workloads.key(kinds[kind.lower()], rest))
        else:
            out.update(workloads.key(kinds[kind.lower()], f"{ns}/{rest}") for ns in namespaces)
    return out


def _watch_state(
    evidence: Evidence, fault: FaultWindow
) -> tuple[Unmet, list[float], str, int, list[TimeWindow]]:
    assert evidence.k8s is not None
    nodes = timelines(evidence.k8s, "Node", NodeState)
    lines = workloads.workload_timelines(evidence.k8s)
    wanted, note = _chosen_workloads(evidence, fault)
    # only what existed when the fault began: a workload created later is not the fault's to recover
    chosen = {
        k: lines[k] for k in sorted(wanted) if k in lines and state_at(lines[k], fault.start) is not None
    }
    node_targets = fault.node_targets

    def unmet(t: float) -> list[str]:
        out: list[str] = []
        for name in node_targets:
            node = state_at(nodes.get(name, ()), t)
            if node is None or node.unschedulable or not node.ready:
                out.append(f"node `{name}` not schedulable and Ready")
        for key, line in chosen.items():
            state = state_at(line, t)
            if state is None:
                out.append(f"{workloads.describe(key)} vanished")
            elif not state.ready:
                out.append(f"{workloads.describe(key)} at {state.ready_replicas}/{state.replicas} ready")
        return out

    times = [t for line in chosen.values() for t, _ in line]
    times += [t for n in node_targets for t, _ in nodes.get(n, [])]
    blind = [b for kind in ("Node", *WORKLOAD_KINDS) for b in _gaps(evidence, kind)]
    return unmet, times, note, len(chosen) + len(node_targets), blind


def _gaps(evidence: Evidence, kind: str) -> list[TimeWindow]:
    assert evidence.k8s is not None
    if not evidence.k8s.kind_seen(kind):
        return []
    return [b for b in blind_spans(evidence.k8s, kind, evidence.window) if b.start > evidence.window.start]


def _prometheus_state(evidence: Evidence, fault: FaultWindow) -> tuple[Unmet, list[float], str, int]:
    assert evidence.metrics is not None
    ready = max_by(evidence.metrics.get("workload_replicas_ready"), "namespace", "workload")
    desired = max_by(evidence.metrics.get("workload_replicas_desired"), "namespace", "workload")
    nodes = max_by(evidence.metrics.get("node_unschedulable"), "node")
    node_targets = fault.node_targets
    namespaces = set(evidence.manifest.namespaces)
    chosen = {
        k: v
        for k, v in ready.items()
        if (not namespaces or k[0] in namespaces) and _latest(v, fault.start) is not None
    }

    def unmet(t: float) -> list[str]:
        out: list[str] = []
        for name in node_targets:
            flag = _latest(nodes.get((name,), []), t)
            if flag is None or flag >= 1:
                out.append(f"node `{name}` not schedulable")
        for (namespace, workload), points in sorted(chosen.items()):
            kind, _, name = workload.partition("/")
            r, d = _latest(points, t), _latest(desired.get((namespace, workload), []), t)
            if r is not None and d is not None and r < d:
                out.append(f"{kind} `{namespace}/{name}` at {r:g}/{d:g} ready")
        return out

    times = [t for points in chosen.values() for t, _ in points]
    note = f"steady state over all {len(chosen)} workload(s) (no watch: the fault's own are unknown)"
    return unmet, times, note, len(chosen) + len(node_targets)


def _latest(points: list[tuple[float, float]], t: float) -> float | None:
    found = None
    for ts, v in points:
        if ts > t:
            break
        found = v
    return found


def _queue_state(
    spec: CriterionSpec, evidence: Evidence, window: TimeWindow
) -> tuple[Unmet, list[float], str]:
    """The queue's part of the steady state. Where an HPA scales on `workflow_queue_depth`, its
    own target is the platform's definition of a queue it keeps up with: back at or under it (within
    the HPA's tolerance) is steady, whatever the load does meanwhile. Without one, the queue must
    return to its level in the `queue_baseline_seconds` before the fault."""
    if evidence.k8s is not None:
        hpas = {
            key: line
            for key, line in timelines(evidence.k8s, "HorizontalPodAutoscaler", HpaState).items()
            if any(s is not None and any(QUEUE_METRIC in m.name for m in s.metrics) for _, s in line)
        }
        if hpas:
            tolerance = 1 + QUEUE_TOLERANCE

            def over_target(t: float) -> list[str]:
                out: list[str] = []
                for key, line in sorted(hpas.items()):
                    state = state_at(line, t)
                    out.extend(
                        f"queue depth {m.current:g} per replica above HPA `{key}`'s {m.target:g}"
                        for m in (state.metrics if state is not None else ())
                        if QUEUE_METRIC in m.name
                        and m.current is not None
                        and m.target is not None
                        and m.current > m.target * tolerance
                    )
                return out

            times = [t for line in hpas.values() for t, _ in line]
            return over_target, times, ""
    if evidence.metrics is None:
        return (
            (lambda t: []),
            [],
            "queue depth not checked (no HPA on it in the watch, no Prometheus evidence)",
        )
    result = evidence.metrics.get("workflow_queue_depth")
    if result.problem():
        return (lambda t: []), [], f"queue depth not checked ({result.problem()})"
    points = next(iter(sum_by(result).values()), [])
    lead = budget_on_run_clock(evidence, spec.threshold("queue_baseline_seconds"))
    before = [v for t, v in points if window.start - lead <= t <= window.start]
    if not before:
        return (lambda t: []), [], "queue depth not checked (no sample before the fault)"
    baseline = max(before)

    def unmet(t: float) -> list[str]:
        now = _latest(points, t)
        if now is not None and now > baseline:
            return [f"queue depth {now:g} above its pre-fault {baseline:g}"]
        return []

    return unmet, [t for t, _ in points], "queue depth against its pre-fault level (no HPA scales on it)"
