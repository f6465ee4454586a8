"""The platform's requests and quota use, as one run measured them: what the history store keeps of
each run so that later runs can be judged against it (capacity_forecast's trend over the nights,
cost_efficiency's baseline run). Pure: read from the run's metrics evidence, the same queries the two
criteria collect, so tonight's figures and the recorded nights' are computed alike.

    requests    {agent, resource: cpu|memory}   the type's requests summed over its Running pods, mean
                                                over the window (cores, bytes): what the type cost
    request_per_pod {agent, resource}           what one Running pod of the type requests (averaged
                                                over its pods), mean over the window: its sizing,
                                                whatever the load made of its pod count
    quota_used  {quota: ns/name, resource}      ResourceQuota `used` at the window's end
    quota_hard  {quota: ns/name, resource}      ResourceQuota `hard` at the window's end
"""

from __future__ import annotations

from validator.criteria.series_math import max_by, mean, sum_by
from validator.model import Evidence, Measure

REQUESTS = "requests"
REQUEST_PER_POD = "request_per_pod"
QUOTA_USED = "quota_used"
QUOTA_HARD = "quota_hard"
# (resource, the query key of its requests per agent type, the unit)
REQUEST_QUERIES = (("cpu", "cpu_requests_by_agent", "cores"), ("memory", "memory_requests_by_agent", "bytes"))
PER_POD_QUERIES = (
    ("cpu", "cpu_request_per_pod_by_agent", "cores"),
    ("memory", "memory_request_per_pod_by_agent", "bytes"),
)
QUOTA_QUERIES = ((QUOTA_USED, "quota_used"), (QUOTA_HARD, "quota_hard"))
QUOTA_LABELS = ("namespace", "resourcequota", "resource")


def quota_scope(key: tuple[str, ...]) -> dict[str, str]:
    """A (namespace, resourcequota, resource) key as a result's and a measure's scope."""
    return {"quota": f"{key[0]}/{key[1]}", "resource": key[2]}


def requests_by_agent(evidence: Evidence, query_key: str) -> dict[str, float]:
    """Mean over the window of each agent type's series of `query_key` (summed requests, or the
    request per pod; types without the label left out); {} when the query is absent or empty."""
    if evidence.metrics is None:
        return {}
    found = evidence.metrics.get(query_key)
    if found.problem():
        return {}
    summed = sum_by(found, evidence.manifest.agent_metric_label, window=evidence.window)
    return {agent: mean([v for _, v in points]) for (agent,), points in summed.items() if agent}


def platform_measures(evidence: Evidence) -> tuple[Measure, ...]:
    """Every measure the run's evidence holds, in a stable order; () without metrics evidence."""
    out: list[Measure] = []
    for name, per_resource in ((REQUESTS, REQUEST_QUERIES), (REQUEST_PER_POD, PER_POD_QUERIES)):
        for resource, query_key, unit in per_resource:
            for agent, value in sorted(requests_by_agent(evidence, query_key).items()):
                out.append(
                    Measure(name=name, scope={"agent": agent, "resource": resource}, value=value, unit=unit)
                )
    if evidence.metrics is None:
        return tuple(out)
    for name, query_key in QUOTA_QUERIES:
        found = evidence.metrics.get(query_key)
        if found.problem():
            continue
        for key, points in sorted(max_by(found, *QUOTA_LABELS, window=evidence.window).items()):
            out.append(Measure(name=name, scope=quota_scope(key), value=points[-1][1]))
    return tuple(out)
