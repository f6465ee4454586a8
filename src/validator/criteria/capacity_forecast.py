"""30-day projections: days until each ResourceQuota resource runs out at the observed trend (info).

Per namespace, quota and resource: a least-squares line through `used` over the window, extended to
`hard`. A flat or shrinking trend never runs out: value null, verdict pass, detail says so.
"""

from __future__ import annotations

from validator.criteria.evidence_checks import at_least, inconclusive, judged, queries
from validator.criteria.series_math import linear_slope, max_by
from validator.model import CriterionSpec, Evidence, Result, Verdict

ID = "capacity_forecast"
INFO = True
PROMETHEUS_ONLY = True
QUERIES: dict[str, str] = {
    "quota_used": 'kube_resourcequota{type="used",{namespace_matcher}}',
    "quota_hard": 'kube_resourcequota{type="hard",{namespace_matcher}}',
}
DEFAULTS: dict[str, float] = {"min": 30}
DAY = 86400.0


def evaluate(spec: CriterionSpec, evidence: Evidence) -> list[Result]:
    band = spec.band("min")
    found, problem = queries(evidence, tuple(QUERIES))
    if problem:
        return [inconclusive(spec, problem, unit="days", threshold=band)]
    labels = ("namespace", "resourcequota", "resource")
    used = max_by(found["quota_used"], *labels, window=evidence.window)
    hard = max_by(found["quota_hard"], *labels, window=evidence.window)
    results: list[Result] = []
    for key in sorted(used):
        points = used[key]
        scope = {"quota": f"{key[0]}/{key[1]}", "resource": key[2]}
        limit = hard.get(key)
        if not limit or limit[-1][1] <= 0:
            results.append(
                inconclusive(
                    spec, "no hard limit for this resource", scope=scope, unit="days", threshold=band
                )
            )
            continue
        slope = linear_slope(points)
        if slope is None:
            results.append(
                inconclusive(
                    spec, "fewer than two samples: no trend", scope=scope, unit="days", threshold=band
                )
            )
            continue
        now, cap = points[-1][1], limit[-1][1]
        if now >= cap:
            results.append(
                judged(
                    spec,
                    False,
                    0.0,
                    f"already exhausted: {now:g} of {cap:g} used",
                    scope=scope,
                    unit="days",
                    threshold=band,
                    advice=(f"quota `{scope['quota']}` {key[2]} is exhausted: raise its hard limit",),
                )
            )
            continue
        if slope <= 0:
            results.append(
                Result(
                    criterion=spec.id,
                    scope=scope,
                    verdict=Verdict.PASS,
                    value=None,
                    unit="days",
                    threshold=dict(band),
                    detail=f"usage not growing ({now:g} of {cap:g}): no exhaustion at the observed trend",
                )
            )
            continue
        days = (cap - now) / slope / DAY
        results.append(
            judged(
                spec,
                at_least(days, spec.threshold("min")),
                days,
                f"{now:g} of {cap:g} used, growing {slope * DAY:g}/day",
                scope=scope,
                unit="days",
                threshold=band,
                advice=(
                    f"quota `{scope['quota']}` {key[2]} runs out in {days:.1f} days: raise its hard limit",
                ),
            )
        )
    if not results:
        return [inconclusive(spec, "no ResourceQuota in the run's namespaces", unit="days", threshold=band)]
    return results
