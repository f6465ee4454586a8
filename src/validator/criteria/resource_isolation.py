"""No contention between workflow types.

Per agent type: CPU throttling (throttled CFS periods / all CFS periods over the window), and quota or
admission rejections of its pods (FailedCreate Events saying `exceeded quota` or `forbidden`) while
pods of another agent type were running.

A rejection is the Event of the controller that could not create the pod (a ReplicaSet, or a
StatefulSet as the platform's agents are); its agent type comes from the ReplicaSet's labels, the
StatefulSet's pod template (so an agent none of whose pods was ever admitted is still named), or
the pods that controller owns. The Event watch's gaps matter only in the namespaces where agent
pods live, and not when a relist closed them within the Events' lifetime: an Event outlives a gap
shorter than the apiserver's `--event-ttl` (1 h by default) and carries its own timestamps, so the
relist still lists and times it (repeats of one Event inside the gap count once).
"""

from __future__ import annotations

from validator.criteria import promql, workloads
from validator.criteria.evidence_checks import at_most, inconclusive, judged, queries, query_coverage_problem
from validator.criteria.series_math import MIN_COVERAGE, paired_share, sum_by
from validator.criteria.watch_timeline import state_at, timelines
from validator.criteria.wording import pct
from validator.model import (
    CriterionSpec,
    EventState,
    Evidence,
    PodState,
    ReplicaSetState,
    Result,
    SourceName,
    StatefulSetState,
    WatchGap,
)

ID = "resource_isolation"
INFO = False
PROMETHEUS_ONLY = False
SOURCES = (SourceName.METRICS, SourceName.K8S)
MEASURES = ("throttling", "rejections")
PROMETHEUS_MEASURES = ("throttling",)  # rejections are Events: only the run's watch sees them
QUERIES: dict[str, str] = {
    "cpu_throttled_periods_by_agent": promql.per_agent_sum(
        promql.container_rate("container_cpu_cfs_throttled_periods_total")
    ),
    "cpu_periods_by_agent": promql.per_agent_sum(promql.container_rate("container_cpu_cfs_periods_total")),
}
DEFAULTS: dict[str, float] = {"max_throttling": 0.05, "max_rejections": 0, "min_coverage": MIN_COVERAGE}

REJECTION_WORDS = ("exceeded quota", "forbidden", "admission webhook", "denied the request")
EVENT_TTL_S = 3600.0  # kube-apiserver --event-ttl default: how long an Event outlives a watch gap


def evaluate(spec: CriterionSpec, evidence: Evidence) -> list[Result]:
    results = _throttling(spec, evidence) if spec.measured("throttling") else []
    if spec.measured("rejections"):
        results.extend(
            _rejections(spec, evidence, agents={r.scope["agent"] for r in results if "agent" in r.scope})
        )
    return results


def _throttling(spec: CriterionSpec, evidence: Evidence) -> list[Result]:
    band = spec.band("max_throttling")
    found, problem = queries(evidence, tuple(QUERIES))
    if not problem:
        problem = query_coverage_problem(evidence, found["cpu_periods_by_agent"])
    if problem:
        return [inconclusive(spec, problem, scope={"measure": "throttling"}, unit="ratio", threshold=band)]
    label = evidence.manifest.agent_metric_label
    throttled = sum_by(found["cpu_throttled_periods_by_agent"], label, window=evidence.window)
    periods = sum_by(found["cpu_periods_by_agent"], label, window=evidence.window)
    results = []
    for (agent,) in sorted(periods):
        if not agent:
            continue
        scope = {"agent": agent, "measure": "throttling"}
        total = sum(v for _, v in periods[(agent,)])
        if total <= 0:
            results.append(
                inconclusive(
                    spec, "no CFS periods: no CPU limit set?", scope=scope, unit="ratio", threshold=band
                )
            )
            continue
        value = sum(v for _, v in throttled.get((agent,), [])) / total
        share = paired_share(periods[(agent,)], throttled.get((agent,), []))
        if share < spec.threshold("min_coverage"):
            results.append(
                inconclusive(
                    spec,
                    f"partial data: agent `{agent}` has throttled and total CFS periods at {share:.0%} of "
                    f"the steps either was seen at (need {spec.threshold('min_coverage'):.0%}); "
                    f"{pct(value)} throttled over those",
                    scope=scope,
                    unit="ratio",
                    threshold=band,
                )
            )
            continue
        results.append(
            judged(
                spec,
                at_most(value, spec.threshold("max_throttling")),
                value,
                f"{pct(value)} of CFS periods throttled",
                scope=scope,
                unit="ratio",
                threshold=band,
                advice=(
                    f"{workloads.configured_in(evidence, agent)}agent `{agent}` is CPU-throttled "
                    f"{pct(value)} of the time: raise resources.limits.cpu "
                    "or drop the CPU limit and rely on requests",
                ),
            )
        )
    return results


def _rejections(spec: CriterionSpec, evidence: Evidence, agents: set[str]) -> list[Result]:
    band = spec.band("max_rejections")
    key = evidence.manifest.agent_label
    if evidence.k8s is None:
        return [
            inconclusive(
                spec,
                "quota and admission rejections need the Kubernetes watch (Events), which this run lacks",
                scope={"measure": "rejections"},
                unit="count",
                threshold=band,
            )
        ]
    owners = _agent_of_owner(evidence)
    pods = timelines(evidence.k8s, "Pod", PodState)
    rejected: dict[str, list[str]] = {}
    window = evidence.window
    for record in evidence.k8s.of_kind("Event"):
        state = record.state
        if not isinstance(state, EventState) or state.reason != "FailedCreate":
            continue
        if not any(w in state.message.lower() for w in REJECTION_WORDS):
            continue
        when = state.time if state.time is not None else record.received
        if not window.start <= when <= window.end:
            continue
        owner = f"{state.involved_namespace}/{state.involved_name}"
        agent = owners.get((state.involved_kind, owner), "")
        if not agent:
            continue
        # lastTimestamp has whole seconds: the rejection happened within [when, when + 1 s), and the
        # pods' states are stamped at receipt, so judge at the end of that second
        judged_at = when + 1.0 if when == int(when) else when
        others_running = any(
            (p := state_at(line, judged_at)) is not None
            and p.phase == "Running"
            and p.labels.get(key, agent) != agent
            for line in pods.values()
        )
        if others_running:
            rejected.setdefault(agent, []).append(f"{owner}: {state.message[:120]}")
    agent_namespaces = {name.split("/", 1)[0] for _, name in owners}
    blind = [
        g
        for g in evidence.k8s.gaps_of("Event")
        if g.to_ms / 1000.0 > window.start
        and g.from_ms / 1000.0 < window.end
        and (not g.namespace or g.namespace in agent_namespaces)
        and not _recovered_by_relist(g)
    ]
    results: list[Result] = []
    for agent in sorted(agents | set(rejected)):
        found = rejected.get(agent, [])
        if not found and (blind or evidence.k8s.partial):
            results.append(
                inconclusive(
                    spec,
                    "no rejection seen, but the watch missed some Events (GAP or truncated file)",
                    scope={"agent": agent, "measure": "rejections"},
                    unit="count",
                    threshold=band,
                )
            )
            continue
        results.append(
            judged(
                spec,
                len(found) <= spec.threshold("max_rejections"),
                float(len(found)),
                f"{len(found)} quota/admission rejection(s) while other agent types ran"
                + (": " + "; ".join(found[:3]) if found else ""),
                scope={"agent": agent, "measure": "rejections"},
                unit="count",
                threshold=band,
                advice=(
                    f"agent `{agent}` was refused capacity another type held: give each agent type its own "
                    "ResourceQuota (or a PriorityClass) so one cannot starve another",
                ),
            )
        )
    if not results:
        return [
            inconclusive(
                spec,
                "no agent type seen, so rejections cannot be attributed",
                scope={"measure": "rejections"},
                unit="count",
                threshold=band,
            )
        ]
    return results


def _agent_of_owner(evidence: Evidence) -> dict[tuple[str, str], str]:
    """(owner kind, "namespace/name") -> agent type, from ReplicaSets' labels, StatefulSets' pod
    templates and pods' owners."""
    assert evidence.k8s is not None
    key = evidence.manifest.agent_label
    out: dict[tuple[str, str], str] = {}
    for name, line in timelines(evidence.k8s, "ReplicaSet", ReplicaSetState).items():
        agent = next((s.labels.get(key, "") for _, s in line if s is not None and s.labels.get(key)), "")
        if agent:
            out[("ReplicaSet", name)] = agent
    for name, set_line in timelines(evidence.k8s, "StatefulSet", StatefulSetState).items():
        named = (s.pod_labels.get(key) or s.labels.get(key, "") for _, s in set_line if s is not None)
        if agent := next((a for a in named if a), ""):
            out[("StatefulSet", name)] = agent
    for name, pod_line in timelines(evidence.k8s, "Pod", PodState).items():
        namespace = name.split("/", 1)[0] if "/" in name else ""
        for _, pod in pod_line:
            if pod is not None and pod.owner_kind and pod.labels.get(key):
                out.setdefault((pod.owner_kind, f"{namespace}/{pod.owner_name}"), pod.labels[key])
    return out


def _recovered_by_relist(gap: WatchGap) -> bool:
    """A relist closed the gap soon enough that every Event created in it was still there to list."""
    return gap.relist and gap.duration < EVENT_TTL_S
