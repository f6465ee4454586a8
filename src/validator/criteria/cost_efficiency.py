"""20% cost reduction through right-sizing (info), per agent type and resource, two measures:

- `saving`: the reduction of the type's requested CPU or memory per pod against a baseline run's:
  1 - request per pod / the baseline's (each what one Running pod of the type requests, averaged over
  its pods, mean over the window). Per pod, because the saving is right-sizing's: the type's summed
  requests also move with how many pods the night's load kept busy, and on the same platform two
  nights read 18% apart that way (a "negative saving" nobody made). The detail gives the summed
  requests beside it, and the pods on average, so a change in what the type cost in all is seen
  and attributed. The baseline is the suite's pinned run (`validator history pin RUN`), else its
  first recorded run (`Evidence.history`); the detail names it. Pass at `target_saving` or more; a
  smaller saving fails, and a negative one (a pod requests more) is never a pass. Without a baseline
  run (the first night, no history), or a baseline recorded before per-pod requests were: inconclusive.
- `right_sizing`: the estimate of what right-sizing would free: 1 - p95 over the window of usage /
  requests (both the type's sums, sample by sample) x `headroom`. Pass when the requests cover p95 x
  headroom (value >= 0); below it the type is under-provisioned: fail, with advice naming the type
  and the resource to raise. Sample by sample, because a type's pods come and go: the p95 of its
  summed usage against its mean requests read every busy moment (more pods, more use and more
  requests) as under-provisioning, and called every agent type of the reference platform
  under-provisioned at ~70% CPU utilisation.
"""

from __future__ import annotations

from dataclasses import dataclass

from validator.criteria import promql
from validator.criteria.evidence_checks import at_least, inconclusive, judged, queries
from validator.criteria.platform_measures import REQUEST_PER_POD, REQUESTS, requests_by_agent
from validator.criteria.series_math import percentile, sum_by
from validator.criteria.wording import pct
from validator.model import BaselineSource, CriterionSpec, Evidence, Result, SourceName

ID = "cost_efficiency"
INFO = True
PROMETHEUS_ONLY = True
SOURCES = (SourceName.METRICS,)
MEASURES: tuple[str, ...] = ()
PROMETHEUS_MEASURES: tuple[str, ...] = ()
QUERIES: dict[str, str] = {
    "cpu_usage_by_agent": promql.CPU_USAGE_BY_AGENT,
    "cpu_requests_by_agent": promql.CPU_REQUESTS_BY_AGENT,
    "memory_working_set_by_agent": promql.MEMORY_WORKING_SET_BY_AGENT,
    "memory_requests_by_agent": promql.MEMORY_REQUESTS_BY_AGENT,
    "cpu_request_per_pod_by_agent": promql.CPU_REQUEST_PER_POD_BY_AGENT,
    "memory_request_per_pod_by_agent": promql.MEMORY_REQUEST_PER_POD_BY_AGENT,
}
DEFAULTS: dict[str, float] = {"headroom": 1.2, "target_saving": 0.2}
# (resource, usage query, summed requests query, request-per-pod query, unit)
RESOURCES = (
    ("cpu", "cpu_usage_by_agent", "cpu_requests_by_agent", "cpu_request_per_pod_by_agent", "cores"),
    (
        "memory",
        "memory_working_set_by_agent",
        "memory_requests_by_agent",
        "memory_request_per_pod_by_agent",
        "bytes",
    ),
)
SAVING = "saving"
RIGHT_SIZING = "right_sizing"
BASELINE_WORDS = {
    BaselineSource.PINNED: "the pinned baseline run",
    BaselineSource.FIRST: "the suite's first run",
}


def evaluate(spec: CriterionSpec, evidence: Evidence) -> list[Result]:
    band = spec.band("target_saving")
    label = evidence.manifest.agent_metric_label
    results: list[Result] = []
    for resource, usage_key, request_key, per_pod_key, unit in RESOURCES:
        found, problem = queries(evidence, (usage_key, request_key))
        if problem:
            results.append(
                inconclusive(spec, problem, scope={"resource": resource}, unit="ratio", threshold=band)
            )
            continue
        usage = sum_by(found[usage_key], label, window=evidence.window)
        requested = sum_by(found[request_key], label, window=evidence.window)
        requests = requests_by_agent(evidence, request_key)
        per_pod = requests_by_agent(evidence, per_pod_key)
        for agent in sorted({a for (a,) in usage} | set(requests)):
            if not agent:
                continue
            asked = requests.get(agent, 0.0)
            if asked <= 0:
                results.append(
                    inconclusive(
                        spec,
                        f"no {resource} requests on agent `{agent}`",
                        scope={"agent": agent, "resource": resource},
                        unit="ratio",
                        threshold=band,
                    )
                )
                continue
            asked_at = dict(requested.get((agent,), []))
            shares = [v / asked_at[t] for t, v in usage.get((agent,), []) if asked_at.get(t, 0.0) > 0]
            estimate = _right_sizing(spec, agent, resource, shares)
            asked_now = Asked(total=asked, per_pod=per_pod.get(agent), unit=unit)
            results.append(_saving(spec, evidence, agent, resource, asked_now, estimate))
            results.append(estimate)
    return results or [inconclusive(spec, "no agent type in the usage series", unit="ratio", threshold=band)]


def _right_sizing(spec: CriterionSpec, agent: str, resource: str, shares: list[float]) -> Result:
    """`shares`: the type's usage / its requests, one per sample where both were measured."""
    headroom = spec.threshold("headroom")
    scope = {"agent": agent, "resource": resource, "measure": RIGHT_SIZING}
    band = spec.band("headroom")
    if not shares:
        return inconclusive(
            spec,
            f"no {resource} usage of agent `{agent}` measured beside its requests in the window",
            scope=scope,
            unit="ratio",
            threshold=band,
        )
    need = percentile(shares, 0.95) * headroom  # of the requests
    value = 1.0 - need
    if at_least(value, 0.0):
        return judged(
            spec,
            True,
            value,
            f"requests cover p95 use x {headroom:g} ({pct(need)} of them, sample by sample): right-sizing "
            f"to it would free {pct(value)} of them",
            scope=scope,
            unit="ratio",
            threshold=band,
        )
    return judged(
        spec,
        False,
        value,
        f"agent `{agent}` under-provisioned in {resource}: p95 use x {headroom:g} is {pct(need)} of its "
        f"requests (usage / requests sample by sample)",
        scope=scope,
        unit="ratio",
        threshold=band,
        advice=(
            f"agent `{agent}` is under-provisioned in {resource}: raise resources.requests.{resource} by "
            f"about {pct(need - 1.0)} (to p95 use x {headroom:g})",
        ),
    )


@dataclass(frozen=True, slots=True)
class Asked:
    """What a type requested in one run: in all (summed over its pods) and per pod, in `unit`."""

    total: float
    per_pod: float | None
    unit: str

    def pods(self) -> float | None:
        """Its Running pods on average over the window."""
        return self.total / self.per_pod if self.per_pod else None


def _amount(value: float, unit: str) -> str:
    if unit == "bytes":
        return f"{value / 2**20:.4g} MiB"
    return f"{value:.4g} {unit}"


def _saving(
    spec: CriterionSpec, evidence: Evidence, agent: str, resource: str, asked: Asked, estimate: Result
) -> Result:
    scope = {"agent": agent, "resource": resource, "measure": SAVING}
    band = spec.band("target_saving")
    history = evidence.history
    baseline = history.baseline if history is not None else None
    if history is None or baseline is None:
        return inconclusive(
            spec,
            "no baseline run yet (no earlier run of this suite and context in the history): the saving is "
            "measured against the suite's pinned run, else its first recorded one",
            scope=scope,
            unit="ratio",
            threshold=band,
        )
    which = f"{BASELINE_WORDS[history.baseline_source]} `{baseline.run_id}`"
    measured = {"agent": agent, "resource": resource}
    before_per_pod = baseline.value(REQUEST_PER_POD, measured)
    if asked.per_pod is None or asked.per_pod <= 0:
        return inconclusive(
            spec,
            f"no {resource} request per pod of agent `{agent}` in this run's evidence (its metrics were "
            f"collected before the query `{resource}_request_per_pod_by_agent` existed)",
            scope=scope,
            unit="ratio",
            threshold=band,
        )
    if before_per_pod is None or before_per_pod <= 0:
        return inconclusive(
            spec,
            f"{which} recorded no {resource} request per pod for agent `{agent}` (a run recorded before "
            "per-pod requests were measured, or without the type): pin a later run as the baseline "
            "(`validator history pin RUN`)",
            scope=scope,
            unit="ratio",
            threshold=band,
        )
    before = Asked(
        total=baseline.value(REQUESTS, measured) or 0.0, per_pod=before_per_pod, unit=asked.unit
    )
    value = 1.0 - asked.per_pod / before_per_pod
    target = spec.threshold("target_saving")
    in_all = _change(1.0 - asked.total / before.total) if before.total > 0 else "not recorded"
    detail = (
        f"requests per pod {_amount(asked.per_pod, asked.unit)} (mean over its Running pods and the "
        f"window) against {_amount(before_per_pod, asked.unit)} in {which}: {_change(value)} it (target: "
        f"{pct(target)} below); in all {_amount(asked.total, asked.unit)} against "
        f"{_amount(before.total, asked.unit)}: {in_all}{_pods(asked, before)}"
    )
    advice = (
        [
            f"agent `{agent}`: one pod requests {pct(-value)} more {resource} than in {which}: a negative "
            f"saving; find what raised resources.requests.{resource}"
        ]
        if value < 0
        else []
    )
    if estimate.value is not None and estimate.value > 0:
        advice.append(
            f"agent `{agent}`: lower resources.requests.{resource} by about {pct(estimate.value)} "
            f"(p95 use x {spec.threshold('headroom'):g})"
        )
    elif estimate.value is not None:
        advice.append(
            f"agent `{agent}` {resource}: no saving from right-sizing, its requests are at or below p95 use "
            f"x {spec.threshold('headroom'):g}"
        )
    return judged(
        spec,
        value >= 0 and at_least(value, target),
        value,
        detail,
        scope=scope,
        unit="ratio",
        threshold=band,
        advice=tuple(advice),
    )


def _change(saving: float) -> str:
    return f"{pct(saving)} below" if saving >= 0 else f"{pct(-saving)} above"


def _pods(now: Asked, before: Asked) -> str:
    pods_now, pods_before = now.pods(), before.pods()
    if pods_now is None or pods_before is None:
        return ""
    return f" ({pods_now:.1f} pods on average against {pods_before:.1f})"
