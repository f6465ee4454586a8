"""20% cost reduction through right-sizing (info), per agent type and resource, two measures:

- `saving`: the reduction of the type's requested CPU or memory against a baseline run's:
  1 - requests / baseline requests (each the type's requests summed over its Running pods, mean over
  the window: what the type costs, however many pods it took). The baseline is the suite's pinned run
  (`validator history pin RUN`), else its first recorded run (`Evidence.history`); the detail names
  it. Pass at `target_saving` or more; a smaller saving fails, and a negative one (requests grew) is
  never a pass. Without a baseline run (the first night, no history): inconclusive.
- `right_sizing`: the estimate of what right-sizing would free: 1 - p95 over the window of usage /
  requests (both the type's sums, sample by sample) x `headroom`. Pass when the requests cover p95 x
  headroom (value >= 0); below it the type is under-provisioned: fail, with advice naming the type
  and the resource to raise. Sample by sample, because a type's pods come and go: the p95 of its
  summed usage against its mean requests read every busy moment (more pods, more use and more
  requests) as under-provisioning, and called every agent type of the reference platform
  under-provisioned at ~70% CPU utilisation.
"""

from __future__ import annotations

from validator.criteria import promql
from validator.criteria.evidence_checks import at_least, inconclusive, judged, queries
from validator.criteria.platform_measures import REQUESTS, requests_by_agent
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
}
DEFAULTS: dict[str, float] = {"headroom": 1.2, "target_saving": 0.2}
RESOURCES = (
    ("cpu", "cpu_usage_by_agent", "cpu_requests_by_agent"),
    ("memory", "memory_working_set_by_agent", "memory_requests_by_agent"),
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
    for resource, usage_key, request_key in RESOURCES:
        found, problem = queries(evidence, (usage_key, request_key))
        if problem:
            results.append(
                inconclusive(spec, problem, scope={"resource": resource}, unit="ratio", threshold=band)
            )
            continue
        usage = sum_by(found[usage_key], label, window=evidence.window)
        requested = sum_by(found[request_key], label, window=evidence.window)
        requests = requests_by_agent(evidence, request_key)
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
            results.append(_saving(spec, evidence, agent, resource, asked, estimate))
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


def _saving(
    spec: CriterionSpec, evidence: Evidence, agent: str, resource: str, asked: float, estimate: Result
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
    before = baseline.value(REQUESTS, {"agent": agent, "resource": resource})
    if before is None or before <= 0:
        return inconclusive(
            spec,
            f"{which} recorded no {resource} requests for agent `{agent}`",
            scope=scope,
            unit="ratio",
            threshold=band,
        )
    value = 1.0 - asked / before
    target = spec.threshold("target_saving")
    change = f"{pct(value)} below" if value >= 0 else f"{pct(-value)} above"
    detail = (
        f"requests {asked:.4g} (mean over the window) against {before:.4g} in {which}: {change} it "
        f"(target: {pct(target)} below)"
    )
    advice = (
        [
            f"agent `{agent}` requests {pct(-value)} more {resource} than in {which}: a negative saving; "
            f"find what raised resources.requests.{resource}"
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
