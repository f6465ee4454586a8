"""60-80% average CPU utilisation across agent pods, per agent type: the CPU its pods used over the
window divided by the CPU they requested over it (sum of usage samples / sum of request samples, at
the samples both have). Weighting by requests keeps short-lived pods from swinging the average: a
sample just after a pod ended (its usage still in the rate window, its request gone) counts as much
as its share of the requests. The type must be measured (usage and requests) at `min_coverage` of
the steps either series saw it at, or the result is inconclusive.

A sample is judged only once its usage rate's trailing window (`{rate_window}`, promql.py) lies
inside the run's window: the samples before that measure partly what ran before the run. On the
sandbox, where a run follows the deploy of its platform, they read the previous platform's pods
going away (their requests still in the trailing average, their use already gone: 11% of requests
in one failure-matrix run), and a run with no fault at all could fail on them.

Controllers are not agents: a type whose pods (in the Kubernetes watch) match the suite's
`controller_selector` is left out. Its CPU is what its own HPA targets, and an HA controller kept at
minReplicas idles below the agents' band by design.
"""

from __future__ import annotations

from validator.criteria import promql, workloads
from validator.criteria.evidence_checks import (
    at_least,
    at_most,
    inconclusive,
    judged,
    queries,
    query_coverage_problem,
)
from validator.criteria.series_math import MIN_COVERAGE, paired_share, ratio_points, sum_by
from validator.criteria.wording import pct
from validator.model import CriterionSpec, Evidence, PodState, Result, SourceName, TimeWindow

ID = "cpu_utilization"
INFO = False
PROMETHEUS_ONLY = True
SOURCES = (SourceName.METRICS,)
MEASURES: tuple[str, ...] = ()
PROMETHEUS_MEASURES: tuple[str, ...] = ()
QUERIES: dict[str, str] = {
    "cpu_usage_by_agent": promql.CPU_USAGE_BY_AGENT,
    "cpu_requests_by_agent": promql.CPU_REQUESTS_BY_AGENT,
}
DEFAULTS: dict[str, float] = {"min": 0.6, "max": 0.8, "min_coverage": MIN_COVERAGE}


def evaluate(spec: CriterionSpec, evidence: Evidence) -> list[Result]:
    band = spec.band("min", "max")
    found, problem = queries(evidence, tuple(QUERIES))
    if problem:
        return [inconclusive(spec, problem, unit="ratio", threshold=band)]
    usage, requests = found["cpu_usage_by_agent"], found["cpu_requests_by_agent"]
    problem = query_coverage_problem(evidence, usage)
    if problem:
        return [inconclusive(spec, problem, unit="ratio", threshold=band)]
    label = evidence.manifest.agent_metric_label
    judged_window = inside_rate_window(evidence)
    used = sum_by(usage, label, window=judged_window)
    asked = sum_by(requests, label, window=judged_window)
    results: list[Result] = []
    controllers = controller_types(evidence)
    for (agent,) in sorted(set(used) | set(asked)):
        if not agent or agent in controllers:
            continue
        scope = {"agent": agent}
        ratios = ratio_points(used.get((agent,), []), asked.get((agent,), []))
        if not ratios:
            why = (
                "no CPU requests set on its pods"
                if (agent,) not in asked
                else "no CPU usage samples at the times requests are known"
            )
            results.append(
                inconclusive(
                    spec,
                    f"cannot compute usage/requests for agent `{agent}`: {why}",
                    scope=scope,
                    unit="ratio",
                    threshold=band,
                    advice=(f"agent `{agent}`: set resources.requests.cpu on its containers",)
                    if (agent,) not in asked
                    else (),
                )
            )
            continue
        asked_at = dict(asked.get((agent,), []))
        paired = [(v, asked_at[t]) for t, v in used.get((agent,), []) if asked_at.get(t, 0) > 0]
        value = sum(u for u, _ in paired) / sum(r for _, r in paired)
        low, high = spec.threshold("min"), spec.threshold("max")
        ok = at_least(value, low) and at_most(value, high)
        share = paired_share(used.get((agent,), []), asked.get((agent,), []))
        if share < spec.threshold("min_coverage"):
            # a type seen at 41 steps and measured at one is not measured: only a failure so clear
            # that the unmeasured steps could not undo it would stand, and none can be that clear
            results.append(
                inconclusive(
                    spec,
                    f"partial data: agent `{agent}` has usage and requests at {share:.0%} of the "
                    f"{len(set(t for t, _ in used.get((agent,), [])) | set(asked_at))} steps it was seen at "
                    f"(need {spec.threshold('min_coverage'):.0%}); {pct(value)} of requests over those",
                    scope=scope,
                    unit="ratio",
                    threshold=band,
                )
            )
            continue
        if value < low:
            detail = f"below target: over-provisioned ({pct(value)} of requests over {len(ratios)} samples)"
            advice: tuple[str, ...] = (
                f"{workloads.configured_in(evidence, agent)}agent `{agent}` uses {pct(value)} of its CPU "
                "requests: lower resources.requests.cpu "
                f"to about {value / ((low + high) / 2):.2f}x the current value",
            )
        elif value > high:
            detail = f"above target: under-provisioned ({pct(value)} of requests over {len(ratios)} samples)"
            advice = (
                f"{workloads.configured_in(evidence, agent)}agent `{agent}` uses {pct(value)} of its CPU "
                "requests: raise resources.requests.cpu "
                f"to about {value / ((low + high) / 2):.2f}x, or lower the HPA's CPU target",
            )
        else:
            detail = f"{pct(value)} of requests over {len(ratios)} samples"
            advice = ()
        results.append(
            judged(spec, ok, value, detail, scope=scope, unit="ratio", threshold=band, advice=advice)
        )
    if not results:
        return [
            inconclusive(
                spec,
                f"no series carries the agent label `{label}`: is it in kube-state-metrics' "
                "--metric-labels-allowlist for pods?",
                unit="ratio",
                threshold=band,
            )
        ]
    return results


def inside_rate_window(evidence: Evidence) -> TimeWindow:
    """The part of the run's window whose samples' trailing rate windows lie inside it: from one
    rate window after its start (the run's whole window when it is no longer than that)."""
    step = evidence.metrics.step_seconds if evidence.metrics is not None else 0.0
    lead = promql.rate_window_seconds(evidence.manifest.time_factor, step)
    window = evidence.window
    if window.start + lead >= window.end:
        return window
    return TimeWindow(start=window.start + lead, end=window.end)


def controller_types(evidence: Evidence) -> set[str]:
    """Agent-label values of the pods the watch saw matching the suite's controller selector."""
    if evidence.k8s is None:
        return set()
    selector = evidence.manifest.controller_selector
    key = evidence.manifest.agent_label
    if selector.is_everything:  # "every pod is a controller" would leave no agent to judge
        return set()
    found: set[str] = set()
    judged: set[int] = set()  # the reader shares one dict among equal label sets: judge each once
    for line in evidence.k8s.changes("Pod").values():
        for record in line:
            if not isinstance(record.state, PodState) or id(labels := record.state.labels) in judged:
                continue
            judged.add(id(labels))
            if selector.matches(labels) and (value := labels.get(key)):
                found.add(value)
    return found
