"""30-day projections: days until each ResourceQuota resource runs out at its growth trend (info).

Per namespace, quota and resource, judged from one of two sources, named in the detail:

1. **The nights' history** (`Evidence.history`: the suite's earlier runs in the history store, each
   with its quota use at its window's end) plus tonight's use: a least-squares line of `used` over
   the runs' window ends (`night_trend.fit`). Needs at least `min_nights` runs (tonight included)
   spanning at least `min_span_days`. The value is the days from tonight until the fitted line
   reaches tonight's `hard`; the detail gives the slope per day with its 95% interval, r², the
   nights and their span, and the interval of days to exhaustion that follows from the slope's.
2. **Otherwise Prometheus's last week** (the method before there was a history): Prometheus's
   `deriv` of `used` over the last week of cluster time (`{forecast_range}`), not the run's window:
   a run's own load ramps usage up and down within minutes, and extending that to a month says
   nothing. It needs at least `min_history_days` of the series in Prometheus (how far back it goes,
   in cluster time: a compressed run's seconds count `time_factor` times); with less it is
   inconclusive and says what either source holds.

Usage at or over `hard` at the end of the window fails at once (0 days). A flat or shrinking trend
never runs out: value null, verdict pass.
"""

from __future__ import annotations

from validator.criteria.evidence_checks import at_least, inconclusive, judged, queries
from validator.criteria.night_trend import Fit, fit
from validator.criteria.platform_measures import QUOTA_LABELS, QUOTA_USED, quota_scope
from validator.criteria.series_math import Points, max_by
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
DEFAULTS: dict[str, float] = {"min": 30, "min_history_days": 1, "min_nights": 5, "min_span_days": 3}
DAY = 86400.0
LABELS = QUOTA_LABELS
MIN_FIT_NIGHTS = 3  # a line and the spread of its residuals, whatever `min_nights` says


def evaluate(spec: CriterionSpec, evidence: Evidence) -> list[Result]:
    band = spec.band("min")
    found, problem = queries(evidence, ("quota_used", "quota_hard"))
    if problem:
        return [inconclusive(spec, problem, unit="days", threshold=band)]
    window = evidence.window
    used = max_by(found["quota_used"], *LABELS, window=window)
    hard = max_by(found["quota_hard"], *LABELS, window=window)
    results: list[Result] = []
    for key in sorted(used):
        scope = quota_scope(key)
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
        nights = _nights(evidence, scope, now)
        trend = fit(nights)
        short = _too_few(spec, evidence, nights, trend)
        if trend is not None and not short:
            results.append(_from_history(spec, scope, trend, now, cap))
        else:
            results.append(_from_prometheus(spec, evidence, key, now, cap, f"history: {short}"))
    if not results:
        return [inconclusive(spec, "no ResourceQuota in the run's namespaces", unit="days", threshold=band)]
    return results


def _nights(evidence: Evidence, scope: dict[str, str], now: float) -> Points:
    """(window end, used) of each earlier night that recorded this quota resource, and tonight's."""
    earlier = evidence.history.nights if evidence.history is not None else ()
    points = [(n.window_end, n.value(QUOTA_USED, scope)) for n in earlier]
    return [(t, v) for t, v in points if v is not None] + [(evidence.window.end, now)]


def _too_few(spec: CriterionSpec, evidence: Evidence, nights: Points, trend: Fit | None) -> str:
    """Why the nights cannot judge (no history, too few nights, too short a span), or ""."""
    if evidence.history is None or not evidence.history.nights:
        return "no earlier run of this suite and context in the history"
    need_n = max(spec.threshold("min_nights"), MIN_FIT_NIGHTS)
    need_days = spec.threshold("min_span_days")
    held = (max(t for t, _ in nights) - min(t for t, _ in nights)) / DAY
    if len(nights) >= need_n and held >= need_days and trend is not None:
        return ""
    return (
        f"{len(nights)} night(s) over {held:.1f} days with this quota (tonight included); "
        f"a trend needs {need_n:g} over {need_days:g} days"
    )


def _from_history(spec: CriterionSpec, scope: dict[str, str], trend: Fit, now: float, cap: float) -> Result:
    source = (
        f"judged from the history's {trend.nights} nights: {now:g} of {cap:g} used, trend {trend.describe()}"
    )
    days = trend.days_to(cap)
    if days is None:
        return _never_runs_out(spec, scope, f"{source}; usage not growing: no exhaustion at this trend")
    soonest, latest = trend.days_interval(cap)
    interval = f"{soonest:.1f} days or never" if latest is None else f"{soonest:.1f} to {latest:.1f} days"
    return judged(
        spec,
        at_least(days, spec.threshold("min")),
        days,
        f"{source}; reaches {cap:g} in {days:.1f} days (95%: {interval})",
        scope=scope,
        unit="days",
        threshold=spec.band("min"),
        advice=(
            f"quota `{scope['quota']}` {scope['resource']} runs out in {days:.1f} days at the nights' trend "
            f"(95%: {interval}): raise its hard limit",
        ),
    )


def _from_prometheus(
    spec: CriterionSpec, evidence: Evidence, key: tuple[str, ...], now: float, cap: float, why: str
) -> Result:
    """The week of Prometheus's history: `why` says why the nights could not judge."""
    band = spec.band("min")
    scope = quota_scope(key)
    found, problem = queries(evidence, ("quota_trend", "quota_history"))
    if problem:
        return inconclusive(spec, f"{why}; Prometheus: {problem}", scope=scope, unit="days", threshold=band)
    factor = evidence.manifest.time_factor
    trend = max_by(found["quota_trend"], *LABELS, window=evidence.window)
    history = max_by(found["quota_history"], *LABELS, window=evidence.window)
    need_days = spec.threshold("min_history_days")
    held_s = history[key][-1][1] * factor if key in history else 0.0
    if held_s < need_days * DAY or key not in trend:
        return inconclusive(
            spec,
            f"{why}; Prometheus holds {span(held_s)} of this quota's usage (cluster time); a 30-day "
            f"projection needs at least {need_days:g} day(s) of it: run against a Prometheus that has "
            "kept the quota's series that long, or let the history gather more nights",
            scope=scope,
            unit="days",
            threshold=band,
        )
    slope = trend[key][-1][1] / factor  # per cluster second
    over = f"over the last {held_s / DAY:.1f} days ({why})"
    if slope <= 0:
        return _never_runs_out(
            spec,
            scope,
            f"judged from Prometheus: usage not growing {over} ({now:g} of {cap:g}): "
            "no exhaustion at this trend",
        )
    days = (cap - now) / slope / DAY
    return judged(
        spec,
        at_least(days, spec.threshold("min")),
        days,
        f"judged from Prometheus: {now:g} of {cap:g} used, growing {slope * DAY:g}/day {over}",
        scope=scope,
        unit="days",
        threshold=band,
        advice=(f"quota `{scope['quota']}` {key[2]} runs out in {days:.1f} days: raise its hard limit",),
    )


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
