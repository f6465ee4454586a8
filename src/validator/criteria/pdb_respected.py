"""PDBs protect critical components.

Per PodDisruptionBudget: moments when a voluntary disruption (an eviction, an eviction fault, or a
planned-maintenance fault such as a drain) left its healthy pods below the desired count, plus
evictions of its ready pods that succeeded while it allowed no disruption. A budget that no
voluntary disruption touched (no pod it selects evicted, targeted, or on a drained node) is *not
exercised*; watch gaps during a disruption make "no
breach" inconclusive. Without any voluntary disruption the PDBs were not tested: inconclusive.

A budget guards voluntary disruptions only. A breach at a moment when some of its unhealthy pods
sat on a node that was not Ready (a node failure, a kubelet whose lease lapsed) has an involuntary
cause the budget cannot stop, and the watch cannot tell the drain's share of it: it is not counted
as a failure, and leaves "no breach" inconclusive (the 1,000-node nightly of 2026-12-06: 270 nodes
went Unknown during the drain and every agent's budget read as breached by it).
"""

from __future__ import annotations

from dataclasses import dataclass

from validator.criteria import fault_windows
from validator.criteria.evidence_checks import inconclusive, judged, not_exercised, queries
from validator.criteria.series_math import max_by
from validator.criteria.watch_timeline import (
    blind_spans,
    selected_in,
    state_at,
    states_during,
    timelines,
    total,
    unready_on_nodes_not_ready,
)
from validator.criteria.wording import at, first_few, secs
from validator.model import (
    CriterionSpec,
    Evidence,
    FaultWindow,
    NodeState,
    PdbState,
    PodState,
    Result,
    SourceName,
    TimeWindow,
)
from validator.model.faults import EVICTION

ID = "pdb_respected"
INFO = False
PROMETHEUS_ONLY = False
SOURCES = (SourceName.K8S, SourceName.CHAOS)
MEASURES: tuple[str, ...] = ()
PROMETHEUS_MEASURES: tuple[str, ...] = ()
QUERIES: dict[str, str] = {
    "pdb_current_healthy": "kube_poddisruptionbudget_status_current_healthy{{namespace_matcher}}",
    "pdb_desired_healthy": "kube_poddisruptionbudget_status_desired_healthy{{namespace_matcher}}",
}
DEFAULTS: dict[str, float] = {"max": 0, "grace_seconds": 60}


@dataclass(frozen=True, slots=True, kw_only=True)
class Eviction:
    pod: str
    namespace: str
    labels: dict[str, str]
    time: float
    was_ready: bool = True  # Ready in its last state before the eviction (unknown: assumed so)


def evaluate(spec: CriterionSpec, evidence: Evidence) -> list[Result]:
    band = spec.band("max")
    grace = spec.threshold("grace_seconds")
    maintenance = [
        TimeWindow(start=w.start, end=max(w.end, f.rollback_end or w.end) + grace)
        for f, w in fault_windows.closed(evidence)
        if f.is_maintenance
    ]
    if evidence.k8s is not None and evidence.k8s.kind_seen("PodDisruptionBudget"):
        return _from_watch(spec, evidence, maintenance)
    found, problem = queries(evidence, tuple(QUERIES))
    if problem:
        return [
            inconclusive(spec, f"no PDB in the Kubernetes watch, and {problem}", unit="count", threshold=band)
        ]
    if not maintenance:
        return [
            inconclusive(
                spec,
                "no planned-maintenance fault in the run: PDBs were not tested",
                unit="count",
                threshold=band,
            )
        ]
    labels = ("namespace", "poddisruptionbudget")
    current = max_by(found["pdb_current_healthy"], *labels, window=evidence.window)
    desired = {
        k: dict(v) for k, v in max_by(found["pdb_desired_healthy"], *labels, window=evidence.window).items()
    }
    results: list[Result] = []
    for key in sorted(current):
        name = "/".join(key)
        breaches = _breach_starts(
            [(t, v < desired.get(key, {}).get(t, 0)) for t, v in current[key]], maintenance
        )
        scope = {"pdb": name}
        if breaches:
            results.append(
                judged(
                    spec,
                    False,
                    float(len(breaches)),
                    "healthy pods below desired during maintenance at "
                    + ", ".join(at(t) for t in breaches[:5]),
                    scope=scope,
                    unit="count",
                    threshold=band,
                    advice=(
                        f"PDB `{name}` was breached during maintenance: make the drain use the eviction API",
                    ),
                )
            )
        else:
            results.append(
                inconclusive(
                    spec,
                    "no breach seen in kube-state-metrics, but evictions are not visible without the "
                    "Kubernetes watch",
                    scope=scope,
                    unit="count",
                    threshold=band,
                )
            )
    return results


def _breach_starts(flags: list[tuple[float, bool]], windows: list[TimeWindow]) -> list[float]:
    """Times a PDB went below its desired healthy count inside one of `windows`."""
    out: list[float] = []
    below = False
    for t, now_below in flags:
        if now_below and not below and fault_windows.inside_any(t, windows):
            out.append(t)
        below = now_below
    return out


def _from_watch(spec: CriterionSpec, evidence: Evidence, maintenance: list[TimeWindow]) -> list[Result]:
    assert evidence.k8s is not None
    band = spec.band("max")
    grace = spec.threshold("grace_seconds")
    window = evidence.window
    evictions = _evictions(evidence)
    eviction_faults = [
        (f, w.widened(after=grace)) for f, w in fault_windows.closed(evidence) if f.kind == EVICTION
    ]
    voluntary = (
        maintenance
        + [w for _, w in eviction_faults]
        + [TimeWindow(start=e.time, end=e.time + grace) for e in evictions]
    )
    if not voluntary:
        return [
            inconclusive(
                spec,
                "no eviction and no planned-maintenance fault in the run: PDBs were not tested",
                unit="count",
                threshold=band,
            )
        ]
    blind = [
        b
        for kind in ("PodDisruptionBudget", "Pod")
        for b in blind_spans(evidence.k8s, kind, window)
        if b.start > window.start and any(b.overlaps(v) for v in voluntary)
    ]
    touched = _touched_pods(evidence, maintenance, [f for f, _ in eviction_faults], evictions)
    results: list[Result] = []
    for name, line in sorted(timelines(evidence.k8s, "PodDisruptionBudget", PdbState).items()):
        namespace = name.split("/", 1)[0]
        flags = [
            (t, s.current_healthy < s.desired_healthy)
            for t, s in line
            if s is not None and window.start <= t <= window.end
        ]
        involuntary: list[tuple[float, list[str]]] = []
        breaches = []
        for t in _breach_starts(flags, voluntary):
            budget = state_at(line, t)
            down = (
                unready_on_nodes_not_ready(evidence.k8s, t, selected_in(namespace, budget.selector))
                if budget is not None
                else []
            )
            if down:
                involuntary.append((t, down))
            else:
                breaches.append(t)
        overruns: list[Eviction] = []
        for e in evictions:
            if e.namespace != namespace or not e.was_ready:
                continue  # an unready pod may be evicted within a budget (unhealthyPodEvictionPolicy)
            if _overrun(line, e):
                overruns.append(e)
        value = float(len(breaches) + len(overruns))
        last = next((s for _, s in reversed(line) if s is not None), None)
        selected = [
            pod
            for pod, (ns, labels) in touched.items()
            if ns == namespace and any(s is not None and s.selector.matches(labels) for _, s in line)
        ]
        parts = [f"{len(breaches)} breach(es) of desired healthy during voluntary disruption"]
        if breaches:
            parts.append("at " + ", ".join(at(t) for t in breaches[:5]))
        parts.append(f"{len(overruns)} eviction(s) of a ready pod while disruptionsAllowed was 0")
        if overruns:
            parts.append(", ".join(f"{e.pod} at {at(e.time)}" for e in overruns[:5]))
        advice: list[str] = []
        if overruns:
            advice.append(
                f"PDB `{name}` was overrun by evictions: make sure drains use the eviction API, not pod "
                f"deletion"
            )
        if breaches and last is not None:
            advice.append(
                f"PDB `{name}` fell below {last.desired_healthy} healthy pods during maintenance: "
                "add replicas so a drain can proceed without breaching it, and drain with the "
                "eviction API (never delete pods)"
            )
        if last is not None and last.disruptions_allowed == 0 and last.expected_pods <= last.desired_healthy:
            target = max(last.expected_pods - 1, 0)
            field = "minAvailable" if last.min_available else "maxUnavailable"
            fix = (
                f"lower minAvailable to {target}" if field == "minAvailable" else "raise maxUnavailable to 1"
            )
            advice.append(f"PDB `{name}` allows no disruption: {fix}")
        scope = {"pdb": name}
        if value <= spec.threshold("max") and not selected:
            results.append(
                not_exercised(
                    spec,
                    "no voluntary disruption touched a pod it selects (no eviction of one, none on a "
                    "drained node)",
                    scope=scope,
                    unit="count",
                    threshold=band,
                )
            )
            continue
        if value <= spec.threshold("max") and involuntary:
            first_t, first_pods = involuntary[0]
            results.append(
                inconclusive(
                    spec,
                    f"{len(involuntary)} breach(es) of desired healthy during voluntary disruption with "
                    f"pods on nodes not Ready, an involuntary disruption a budget does not guard (at "
                    f"{at(first_t)}: {first_few(first_pods)}): the voluntary part cannot be told; "
                    + "; ".join(parts[1:]),
                    scope=scope,
                    unit="count",
                    threshold=band,
                )
            )
            continue
        if value <= spec.threshold("max") and blind:
            results.append(
                inconclusive(
                    spec,
                    f"partial data: the watch missed {secs(total(blind))} during voluntary disruption; "
                    + "; ".join(parts),
                    scope=scope,
                    unit="count",
                    threshold=band,
                )
            )
            continue
        detail = "; ".join(parts)
        if selected:
            detail += f"; exercised by {', '.join(sorted(selected)[:3])}"
        results.append(
            judged(
                spec,
                value <= spec.threshold("max"),
                value,
                detail,
                scope=scope,
                unit="count",
                threshold=band,
                advice=tuple(advice),
            )
        )
    if not results:
        return [
            inconclusive(
                spec,
                "the watch saw no PodDisruptionBudget in the run's namespaces",
                unit="count",
                threshold=band,
            )
        ]
    return results


def _touched_pods(
    evidence: Evidence,
    maintenance: list[TimeWindow],
    eviction_faults: list[FaultWindow],
    evictions: list[Eviction],
) -> dict[str, tuple[str, dict[str, str]]]:
    """Pods a voluntary disruption touched: evicted, targeted by an eviction fault, or on a node
    cordoned during planned maintenance. pod key -> (namespace, labels)."""
    assert evidence.k8s is not None
    out: dict[str, tuple[str, dict[str, str]]] = {e.pod: (e.namespace, e.labels) for e in evictions}
    pods = timelines(evidence.k8s, "Pod", PodState)
    targeted = {p for f in eviction_faults for p in f.pod_targets}
    cordoned: list[tuple[str, TimeWindow]] = []
    for node, node_line in timelines(evidence.k8s, "Node", NodeState).items():
        for w in maintenance:
            if any(n.unschedulable for n in states_during(node_line, w)):
                cordoned.append((node, w))
    for key, line in pods.items():
        states = [s for _, s in line if s is not None]
        if not states:
            continue
        on_drained = any(any(s.node_name == node for s in states_during(line, w)) for node, w in cordoned)
        if key in targeted or on_drained:
            out.setdefault(key, (key.split("/", 1)[0], dict(states[-1].labels)))
    return out


# How late the recorder may receive a PodDisruptionBudget's change (docs/recorder.md: p99 under 1 s at
# 1,000 nodes and 10,000 pods), with margin.
RECEIPT_LAG_S = 2.0


def _overrun(line: tuple[tuple[float, PdbState | None], ...], eviction: Eviction) -> bool:
    """Whether the budget selected the evicted pod and allowed no disruption all through the time
    the eviction may have happened. Its time is its DisruptionTarget condition's, whole seconds (it
    happened within the second after), and the watch receives the budget's changes a little late:
    the status that let the apiserver admit it (disruptionsAllowed 1, after an earlier eviction's
    replacement became ready) may be received up to RECEIPT_LAG_S after the eviction's second, and
    the eviction's own decrement to 0 from its second on. So: the state in effect a second before,
    and every state received until RECEIPT_LAG_S after the second, all allowed none. The eviction
    API refuses an eviction the budget does not allow, so an overrun seen through it is a budget
    whose status said 0 all that time."""
    start, end = eviction.time - 1.0, eviction.time + 1.0 + RECEIPT_LAG_S
    before = state_at(line, start)
    if before is None or not before.selector.matches(eviction.labels):
        return False
    later = (s for t, s in line if start < t <= end and s is not None)
    return before.disruptions_allowed == 0 and all(s.disruptions_allowed == 0 for s in later)


def _evictions(evidence: Evidence) -> list[Eviction]:
    assert evidence.k8s is not None
    seen: dict[str, Eviction] = {}
    for key, line in timelines(evidence.k8s, "Pod", PodState).items():
        previous: PodState | None = None
        for _, state in line:
            if state is None:
                continue
            if (
                state.evicted_at is not None
                and evidence.window.start <= state.evicted_at <= evidence.window.end
            ):
                ident = f"{key}@{state.evicted_at}"
                if ident not in seen:
                    before = previous if previous is not None and previous.evicted_at is None else None
                    seen[ident] = Eviction(
                        pod=key,
                        namespace=key.split("/", 1)[0],
                        labels=dict(state.labels),
                        time=state.evicted_at,
                        was_ready=before.ready if before is not None else True,
                    )
            previous = state
    return sorted(seen.values(), key=lambda e: e.time)
