"""No OOM kills during normal operations: every OOMKilled termination counts, except a kill of a
memory-pressure fault's own target inside that fault's window (plus its grace): a fault on Rex
excuses no kill of Cleo."""

from __future__ import annotations

from dataclasses import dataclass

from validator.criteria import fault_windows, workloads
from validator.criteria.evidence_checks import inconclusive, judged, queries
from validator.criteria.series_math import counter_increases, max_by, value_at
from validator.criteria.watch_timeline import blind_spans, total
from validator.criteria.wording import at, secs
from validator.model import (
    CriterionSpec,
    Evidence,
    FaultWindow,
    PodState,
    QueryResult,
    Result,
    SourceName,
    TimeWindow,
)

ID = "oom_kills"
INFO = False
PROMETHEUS_ONLY = True
SOURCES = (SourceName.K8S, SourceName.METRICS, SourceName.CHAOS)
MEASURES: tuple[str, ...] = ()
PROMETHEUS_MEASURES: tuple[str, ...] = ()
QUERIES: dict[str, str] = {
    "container_restarts": "max by (namespace, pod, container) "
    "(kube_pod_container_status_restarts_total{{namespace_matcher}})",
    "container_last_terminated_oom": (
        "max by (namespace, pod, container) "
        '(kube_pod_container_status_last_terminated_reason{reason="OOMKilled",{namespace_matcher}})'
    ),
}
DEFAULTS: dict[str, float] = {"max": 0, "fault_grace_seconds": 60}
# An object's own times (`finishedAt`) are truncated to whole seconds and our fault lines are in ms,
# so a kill in the first second of a fault can look up to 1 s (+ receipt delay) older than its start
# (docs/recorder.md, "Timing error").
OBJECT_CLOCK_SLACK_S = 1.25


@dataclass(frozen=True, slots=True, kw_only=True)
class OomKill:
    pod: str  # namespace/name
    container: str
    time: float
    node: str = ""
    agent: str = ""  # the pod's agent label, when the watch saw it


def _excused(kill: OomKill, faults: list[tuple[FaultWindow, TimeWindow]]) -> bool:
    return any(w.start <= kill.time <= w.end and f.targets_pod(kill.pod, kill.node) for f, w in faults)


def evaluate(spec: CriterionSpec, evidence: Evidence) -> list[Result]:
    band = spec.band("max")
    memory_faults = [
        (f, w.widened(before=OBJECT_CLOCK_SLACK_S, after=spec.threshold("fault_grace_seconds")))
        for f, w in fault_windows.closed(evidence)
        if f.is_memory_pressure
    ]
    open_memory = [f for f in fault_windows.unterminated(evidence) if f.is_memory_pressure]
    if evidence.k8s is not None and evidence.k8s.kind_seen("Pod"):
        kills, blind, source = _from_watch(evidence), _watch_blind(evidence), "Kubernetes watch"
    else:
        # The restarts query must have data; the OOM-reason query is legitimately empty when no
        # container's last termination was an OOM kill (kube-state-metrics exports no series then).
        found, problem = queries(evidence, ("container_restarts",))
        reason = evidence.metrics.get("container_last_terminated_oom") if evidence.metrics else None
        if not problem and reason is not None and not reason.ok:
            problem = reason.problem()
        if problem:
            why = (
                "no Pod lines in the Kubernetes watch" if evidence.k8s is not None else "no Kubernetes watch"
            )
            return [inconclusive(spec, f"{why}, and {problem}", unit="count", threshold=band)]
        assert reason is not None
        found["container_last_terminated_oom"] = reason
        kills, blind, source = _from_prometheus(evidence, found), "", "Prometheus restarts"
    # a memory-pressure fault excuses the kills of its own targets only, never a bystander's
    expected = [k for k in kills if _excused(k, memory_faults)]
    counted = [k for k in kills if not _excused(k, memory_faults)]
    if open_memory:
        blind = "; ".join(
            filter(
                None,
                [
                    blind,
                    f"memory fault {open_memory[0].fault} has no inject_end, so expected kills are unknown",
                ],
            )
        )
    detail = f"{len(counted)} OOM kill(s) not caused by a memory-pressure fault on the pod ({source})"
    if expected:
        detail += (
            f"; {len(expected)} inside memory-pressure faults, expected and not counted (the faults' own "
            "targets): " + ", ".join(f"{k.pod}/{k.container} at {at(k.time)}" for k in expected[:5])
        )
    if counted:
        detail += "; counted: " + ", ".join(f"{k.pod}/{k.container} at {at(k.time)}" for k in counted[:5])
    value = float(len(counted))
    ok = value <= spec.threshold("max")
    if ok and blind:
        return [inconclusive(spec, f"partial data: {blind}; {detail}", unit="count", threshold=band)]
    advice = tuple(
        f"{workloads.configured_in(evidence, k.agent)}container `{k.container}` of pod `{k.pod}` was "
        f"OOM-killed at {at(k.time)}: raise its resources.limits.memory or lower its memory use"
        for k in counted[:5]
    )
    return [judged(spec, ok, value, detail, unit="count", threshold=band, advice=advice)]


def _from_watch(evidence: Evidence) -> list[OomKill]:
    assert evidence.k8s is not None
    seen: dict[tuple[str, str, str], OomKill] = {}
    for record in sorted(evidence.k8s.of_kind("Pod"), key=lambda r: r.received_ms):
        state = record.state
        if not isinstance(state, PodState):
            continue
        for term in state.terminations:
            if term.reason != "OOMKilled":
                continue
            when = term.finished_at if term.finished_at is not None else record.received
            ident = (
                record.uid or record.key,
                term.container,
                f"{term.finished_at}" if term.finished_at is not None else f"restart{term.restart_count}",
            )
            if ident not in seen:
                seen[ident] = OomKill(
                    pod=record.key,
                    container=term.container,
                    time=when,
                    node=state.node_name,
                    agent=state.labels.get(evidence.manifest.agent_label, ""),
                )
    window = evidence.window
    return sorted((k for k in seen.values() if window.start <= k.time <= window.end), key=lambda k: k.time)


def _watch_blind(evidence: Evidence) -> str:
    assert evidence.k8s is not None
    spans = [s for s in blind_spans(evidence.k8s, "Pod", evidence.window) if s.start > evidence.window.start]
    reasons = []
    if spans:
        reasons.append(f"the watch missed {secs(total(spans))} of Pod events (GAP)")
    if evidence.k8s.partial:
        reasons.append(evidence.k8s.partial)
    return "; ".join(reasons)


def _from_prometheus(evidence: Evidence, found: dict[str, QueryResult]) -> list[OomKill]:
    restarts = found["container_restarts"]
    oom = found["container_last_terminated_oom"]
    step = evidence.metrics.step_seconds if evidence.metrics is not None else 15.0
    window: TimeWindow = evidence.window
    reasons = max_by(oom, "namespace", "pod", "container")
    kills: list[OomKill] = []
    for (namespace, pod, container), points in sorted(
        max_by(restarts, "namespace", "pod", "container").items()
    ):
        flags = reasons.get((namespace, pod, container), [])
        for t, increase in counter_increases(points):
            if not window.start <= t <= window.end:
                continue
            flag = value_at(flags, t, tolerance=2 * step)
            if flag is not None and flag >= 1:
                kills.extend(
                    OomKill(pod=f"{namespace}/{pod}", container=container, time=t)
                    for _ in range(int(increase))
                )
    return kills
