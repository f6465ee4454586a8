"""20% cost reduction through right-sizing (info: reported, not judged).

Per agent type and resource: 1 - (p95 of usage over the window x headroom) / mean requests. Positive:
the share right-sizing would free; negative: under-requested.
"""

from __future__ import annotations

from validator.criteria import promql
from validator.criteria.evidence_checks import inconclusive, queries
from validator.criteria.series_math import mean, percentile, sum_by
from validator.criteria.wording import pct
from validator.model import CriterionSpec, Evidence, Result, SourceName, Verdict

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
        requests = sum_by(found[request_key], label, window=evidence.window)
        for (agent,) in sorted(usage):
            if not agent:
                continue
            scope = {"agent": agent, "resource": resource}
            asked = [v for _, v in requests.get((agent,), [])]
            if not asked or mean(asked) <= 0:
                results.append(
                    inconclusive(
                        spec,
                        f"no {resource} requests on agent `{agent}`",
                        scope=scope,
                        unit="ratio",
                        threshold=band,
                    )
                )
                continue
            p95 = percentile([v for _, v in usage[(agent,)]], 0.95)
            value = 1.0 - p95 * spec.threshold("headroom") / mean(asked)
            advice: tuple[str, ...] = ()
            if value >= spec.threshold("target_saving"):
                advice = (
                    f"agent `{agent}`: lower resources.requests.{resource} by about {pct(value)} "
                    f"(p95 use x {spec.threshold('headroom'):g})",
                )
            results.append(
                Result(
                    criterion=spec.id,
                    scope=scope,
                    verdict=Verdict.PASS,
                    value=value,
                    unit="ratio",
                    threshold=dict(band),
                    detail=f"right-sizing to p95 x {spec.threshold('headroom'):g} would free "
                    f"{pct(value)} of requests",
                    advice=advice,
                )
            )
    return results or [inconclusive(spec, "no agent type in the usage series", unit="ratio", threshold=band)]
