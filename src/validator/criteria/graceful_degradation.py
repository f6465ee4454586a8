"""Keeps functioning under resource pressure.

Per fault window: the submission success ratio (1 - failures / requests) and the p95 latency ratio
(median of Locust's rolling p95 inside the window over its median before the first fault).
"""

from __future__ import annotations

from validator.criteria import fault_windows
from validator.criteria.evidence_checks import at_least, at_most, inconclusive, judged
from validator.criteria.load_counts import increase, p95_values
from validator.criteria.series_math import percentile
from validator.criteria.wording import pct
from validator.model import CriterionSpec, Evidence, Result, SourceName, TimeWindow

ID = "graceful_degradation"
INFO = False
PROMETHEUS_ONLY = False
SOURCES = (SourceName.LOAD, SourceName.CHAOS)
MEASURES: tuple[str, ...] = ()
PROMETHEUS_MEASURES: tuple[str, ...] = ()
QUERIES: dict[str, str] = {}
# p95_floor_seconds: a p95 at or under it is not degradation, whatever its ratio to the baseline
# (a fast API's millisecond noise would otherwise fail the ratio).
DEFAULTS: dict[str, float] = {"min_success_ratio": 0.99, "max_p95_ratio": 2.0, "p95_floor_seconds": 0.25}


def evaluate(spec: CriterionSpec, evidence: Evidence) -> list[Result]:
    ratio_band = spec.band("min_success_ratio")
    p95_band = spec.band("max_p95_ratio")
    if evidence.chaos is None:
        return [
            inconclusive(spec, f"no fault evidence: {evidence.why_missing(SourceName.CHAOS)}", unit="ratio")
        ]
    faults = fault_windows.closed(evidence)
    never = fault_windows.never_injected(spec, evidence, unit="ratio")
    if not faults:
        return never or [inconclusive(spec, "no injected fault with a known end in the run", unit="ratio")]
    if evidence.load is None:
        return [
            inconclusive(spec, f"no load evidence: {evidence.why_missing(SourceName.LOAD)}", unit="ratio")
        ]
    rows = evidence.load.aggregated()
    first_fault = min(w.start for _, w in faults)
    baseline_span = TimeWindow(start=evidence.window.start, end=max(evidence.window.start, first_fault))
    baseline = p95_values(rows, baseline_span, include_end=False)
    base_p95 = percentile(baseline, 0.5) if baseline else None
    results: list[Result] = list(never)
    for fault, window in faults:
        scope = fault_windows.fault_scope(fault)
        requests, inside = increase(rows, window, failures=False)
        failures, _ = increase(rows, window, failures=True)
        ratio_scope = {**scope, "measure": "success_ratio"}
        if requests == 0:
            results.append(
                inconclusive(
                    spec,
                    f"no submissions during the fault ({inside} load samples inside it)",
                    scope=ratio_scope,
                    unit="ratio",
                    threshold=ratio_band,
                )
            )
        else:
            ratio = 1.0 - failures / requests
            results.append(
                judged(
                    spec,
                    at_least(ratio, spec.threshold("min_success_ratio")),
                    ratio,
                    f"{requests - failures} of {requests} submissions succeeded ({pct(ratio)})",
                    scope=ratio_scope,
                    unit="ratio",
                    threshold=ratio_band,
                    advice=(
                        f"under `{fault.fault}` {failures} of {requests} submissions failed"
                        f"{_causes(evidence, window)}: add retries with backoff in the submitter, "
                        "queue room and spare replicas so load can shift",
                    ),
                )
            )
        p95_scope = {**scope, "measure": "p95_ratio"}
        during = p95_values(rows, window)
        if base_p95 is None or base_p95 <= 0:
            results.append(
                inconclusive(
                    spec,
                    "no pre-fault latency baseline (no load sample with a p95 before the first fault)",
                    scope=p95_scope,
                    unit="ratio",
                    threshold=p95_band,
                )
            )
        elif not during:
            results.append(
                inconclusive(
                    spec,
                    "no latency sample inside the fault window",
                    scope=p95_scope,
                    unit="ratio",
                    threshold=p95_band,
                )
            )
        else:
            p95 = percentile(during, 0.5)
            value = p95 / base_p95
            floor = spec.threshold("p95_floor_seconds")
            under_floor = p95 <= floor
            detail = f"p95 {p95:.3f} s during the fault vs {base_p95:.3f} s before ({value:.2f}x)"
            if under_floor and not at_most(value, spec.threshold("max_p95_ratio")):
                detail += f"; at or under the {floor:.3f} s floor, so not degradation"
            results.append(
                judged(
                    spec,
                    under_floor or at_most(value, spec.threshold("max_p95_ratio")),
                    value,
                    detail,
                    scope=p95_scope,
                    unit="ratio",
                    threshold=p95_band,
                    advice=(
                        f"under `{fault.fault}` p95 latency rose {value:.1f}x: check queue "
                        f"back-pressure and the "
                        "HPA's reaction time",
                    ),
                )
            )
    return results


def _causes(evidence: Evidence, window: TimeWindow) -> str:
    """`; errors then: ...`: the load's own failure messages seen in the window (Locust's failures
    table), most frequent first, so the advice names what refused the work."""
    if evidence.load is None:
        return ""
    seen = evidence.load.failures_during(window.start, window.end)[:3]
    if not seen:
        return ""
    return "; errors then: " + "; ".join(
        f"{f.method} {f.name}: {f.error} ({f.occurrences}x in the run)" for f in seen
    )
