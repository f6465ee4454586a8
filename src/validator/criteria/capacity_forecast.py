"""30-day projections: days until each ResourceQuota resource runs out at its growth trend (info).

Per namespace, quota and resource: the trend is Prometheus's `deriv` of `used` over the last week of
cluster time (`{forecast_range}`), not the run's window: a run's own load ramps usage up and down
within minutes, and extending that to a month says nothing. The projection needs at least
`min_history_days` of history in Prometheus (how far back the quota's series goes, in cluster time:
a compressed run's seconds count `time_factor` times); with less it is inconclusive and says how much
there is. Usage at or over `hard` at the end of the window fails at once (0 days). A flat or
shrinking trend never runs out: value null, verdict pass.
"""

from __future__ import annotations

from validator.criteria.evidence_checks import at_least, inconclusive, judged, queries
from validator.criteria.series_math import max_by
from validator.criteria.wording import span
from validator.model import CriterionSpec, Evidence, Result, SourceName, Verdict

ID = "capacity_forecast"
INFO = True
PROMETHEUS_ONLY = True
SOURCES = (SourceName.METRICS,)
MEASURES: tuple[str, ...] = ()
PROMETHEUS_MEASURES: tuple[str, ...] = ()
_USED = 'kube_resourcequota{type="used",{namespace_matcher}}'
QUERIES: dict[str, str] = {
    "quota_used": _USED,
    "quota_hard": 'kube_resourcequota{type="hard",{namespace_matcher}}',
    # growth per second over the last week of cluster time (least squares, like predict_linear)
    "quota_trend": f"deriv({_USED}[{{forecast_range}}])",
    # how far back the series goes within that week (seconds), at the subquery's resolution
    "quota_history": f"time() - min_over_time(timestamp({_USED})[{{forecast_range}}:{{forecast_step}}])",
}
DEFAULTS: dict[str, float] = {"min": 30, "min_history_days": 1}
DAY = 86400.0
LABELS = ("namespace", "resourcequota", "resource")


def evaluate(spec: CriterionSpec, evidence: Evidence) -> list[Result]:
    band = spec.band("min")
    found, problem = queries(evidence, tuple(QUERIES))
    if problem:
        return [inconclusive(spec, problem, unit="days", threshold=band)]
    window = evidence.window
    factor = evidence.manifest.time_factor
    used = max_by(found["quota_used"], *LABELS, window=window)
    hard = max_by(found["quota_hard"], *LABELS, window=window)
    trend = max_by(found["quota_trend"], *LABELS, window=window)
    history = max_by(found["quota_history"], *LABELS, window=window)
    need_days = spec.threshold("min_history_days")
    results: list[Result] = []
    for key in sorted(used):
        scope = {"quota": f"{key[0]}/{key[1]}", "resource": key[2]}
        limit = hard.get(key)
        if not limit:
            results.append(
                inconclusive(
                    spec, "no hard limit for this resource", scope=scope, unit="days", threshold=band
                )
            )
            continue
        now, cap = used[key][-1][1], limit[-1][1]
        if cap <= 0 and now <= 0:  # e.g. persistentvolumeclaims: "0" for a stateless namespace
            results.append(
                _never_runs_out(spec, scope, "hard limit 0 (none allowed) and none used: nothing to forecast")
            )
            continue
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
        held_s = history[key][-1][1] * factor if key in history else 0.0
        if held_s < need_days * DAY or key not in trend:
            results.append(
                inconclusive(
                    spec,
                    f"Prometheus holds {span(held_s)} of this quota's usage (cluster time); a 30-day "
                    f"projection needs at least {need_days:g} day(s) of it: run against a Prometheus "
                    "that has kept the quota's series that long",
                    scope=scope,
                    unit="days",
                    threshold=band,
                )
            )
            continue
        slope = trend[key][-1][1] / factor  # per cluster second
        over = f"over the last {held_s / DAY:.1f} days"
        if slope <= 0:
            results.append(
                _never_runs_out(
                    spec, scope, f"usage not growing {over} ({now:g} of {cap:g}): no exhaustion at this trend"
                )
            )
            continue
        days = (cap - now) / slope / DAY
        results.append(
            judged(
                spec,
                at_least(days, spec.threshold("min")),
                days,
                f"{now:g} of {cap:g} used, growing {slope * DAY:g}/day {over}",
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


def _never_runs_out(spec: CriterionSpec, scope: dict[str, str], detail: str) -> Result:
    """A pass with no number: there is no day on which this resource runs out."""
    return Result(
        criterion=spec.id,
        scope=scope,
        verdict=Verdict.PASS,
        value=None,
        unit="days",
        threshold=dict(spec.band("min")),
        detail=detail,
    )
