"""< 90% memory utilisation: max over the window and over pods of working set / memory limit.

"During normal operations", as the brief says: samples inside an injected memory-pressure fault
(widened like oom_kills' windows: the fault's grace period after it) are not judged; the detail
says how many were set aside.
"""

from __future__ import annotations

from validator.criteria import fault_windows, promql
from validator.criteria.evidence_checks import inconclusive, judged, queries, query_coverage_problem
from validator.criteria.series_math import max_by, ratio_points
from validator.criteria.wording import at, pct
from validator.model import CriterionSpec, Evidence, Result

ID = "memory_utilization"
INFO = False
PROMETHEUS_ONLY = True
QUERIES: dict[str, str] = {
    "memory_working_set_by_pod": (
        "max by (namespace, pod, {agent_label}) ("
        + promql.container_gauge("container_memory_working_set_bytes")
        + " * on(namespace, pod) group_left({agent_label}) "
        "max by (namespace, pod, {agent_label}) (kube_pod_labels{{namespace_matcher}}))"
    ),
    "memory_limits_by_pod": "sum by (namespace, pod) "
    '(kube_pod_container_resource_limits{resource="memory",{namespace_matcher}})',
}
DEFAULTS: dict[str, float] = {"max": 0.9, "fault_grace_seconds": 60}


def evaluate(spec: CriterionSpec, evidence: Evidence) -> list[Result]:
    band = spec.band("max")
    found, problem = queries(evidence, tuple(QUERIES))
    if problem:
        return [inconclusive(spec, problem, unit="ratio", threshold=band)]
    usage, limits = found["memory_working_set_by_pod"], found["memory_limits_by_pod"]
    problem = query_coverage_problem(evidence, usage)
    if problem:
        return [inconclusive(spec, problem, unit="ratio", threshold=band)]
    label = evidence.manifest.agent_metric_label
    pressure = [
        w.widened(before=0.0, after=spec.threshold("fault_grace_seconds"))
        for f, w in fault_windows.closed(evidence)
        if f.is_memory_pressure
    ]
    pressure_open = [f.start for f in fault_windows.unterminated(evidence) if f.is_memory_pressure]
    set_aside: dict[str, int] = {}
    used = max_by(usage, "namespace", "pod", label, window=evidence.window)
    limit = max_by(limits, "namespace", "pod", window=evidence.window)
    per_agent: dict[str, list[tuple[float, float, str]]] = {}  # agent -> (ratio, time, pod)
    unlimited: dict[str, set[str]] = {}
    for (namespace, pod, agent), points in used.items():
        if not agent:
            continue
        lim = limit.get((namespace, pod))
        if not lim:
            unlimited.setdefault(agent, set()).add(f"{namespace}/{pod}")
            per_agent.setdefault(agent, [])
            continue
        per_agent.setdefault(agent, [])
        for t, r in ratio_points(points, lim):
            if fault_windows.inside_any(t, pressure) or any(t >= start for start in pressure_open):
                set_aside[agent] = set_aside.get(agent, 0) + 1  # an injected fault, not normal operation
                continue
            per_agent[agent].append((r, t, f"{namespace}/{pod}"))
    results: list[Result] = []
    for agent in sorted(per_agent):
        scope = {"agent": agent}
        samples = per_agent[agent]
        missing = sorted(unlimited.get(agent, ()))
        if not samples and not missing:
            results.append(
                inconclusive(
                    spec,
                    f"every sample of agent `{agent}` lies inside injected memory-pressure faults",
                    scope=scope,
                    unit="ratio",
                    threshold=band,
                )
            )
            continue
        if not samples:
            results.append(
                inconclusive(
                    spec,
                    f"no memory limit on any pod of agent `{agent}` ({', '.join(missing[:3])})",
                    scope=scope,
                    unit="ratio",
                    threshold=band,
                    advice=(f"agent `{agent}`: set resources.limits.memory on its containers",),
                )
            )
            continue
        value, when, pod = max(samples, key=lambda s: (s[0], -s[1]))
        ok = value < spec.threshold("max")
        detail = f"peak {pct(value)} on pod {pod} at {at(when)}"
        if set_aside.get(agent):
            detail += f"; {set_aside[agent]} sample(s) inside injected memory-pressure faults not judged"
        if missing:
            detail += f"; {len(missing)} pod(s) without a memory limit not counted"
        if ok and missing:
            # pods we could not see may have been above the limit: no pass on partial data
            results.append(
                inconclusive(
                    spec,
                    f"partial data: {detail}",
                    scope=scope,
                    unit="ratio",
                    threshold=band,
                    advice=(f"agent `{agent}`: set resources.limits.memory on {', '.join(missing[:3])}",),
                )
            )
            continue
        results.append(
            judged(
                spec,
                ok,
                value,
                detail,
                scope=scope,
                unit="ratio",
                threshold=band,
                advice=(
                    f"pod `{pod}` (agent `{agent}`) reached {pct(value)} of its memory limit: raise "
                    "resources.limits.memory or find the leak",
                ),
            )
        )
    if not results:
        return [
            inconclusive(spec, f"no series carries the agent label `{label}`", unit="ratio", threshold=band)
        ]
    return results
