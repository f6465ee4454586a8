"""HPA scaling decisions within 5 minutes of load changes.

Per HPA and per load rise: seconds from the first sample where a metric exceeds its target
(beyond the HPA's tolerance) to the first increase of desired replicas. A rise with no decision
fails once it has lasted longer than `max` (whether it then fell back, its metric went missing or
the window ended); a shorter one that fell back is *not exercised* (the load change did not last
long enough to demand a decision), one whose metric went missing or that the window cut short is
inconclusive. A rise while the HPA is already at maxReplicas cannot be answered by scaling:
inconclusive, unless it stays above target longer than `max` (a target the HPA can never reach):
fail. An HPA whose metric never rose is not exercised. Durations of a compressed run are judged in
real time (`time_factor`).

The HPA's status trails the load it measures by its metrics pipeline: metrics-server averages CPU
between two scrapes a resolution apart, the HPA reads every sync period. A decision's latency is
timed on that same status at both ends, so the trail cancels; a stay at maxReplicas that ended is
not: the load may have fallen back up to `metrics_delay` seconds of wall clock before the status
showed it, and on a compressed clock those seconds count `time_factor` times (15 s of
metrics-server's resolution read as 450 s at 30x). So a stay at maxReplicas that fell back counts
only what is certain, its length less `metrics_delay`; one that lasts to the window's end counts
whole (the status was late at its start too).
"""

from __future__ import annotations

from dataclasses import dataclass

from validator.criteria.evidence_checks import (
    at_most,
    clock_note,
    inconclusive,
    judged,
    not_exercised,
    on_clock,
    queries,
    window_too_short,
)
from validator.criteria.series_math import max_by
from validator.criteria.watch_timeline import blind_spans, timelines
from validator.criteria.wording import at, secs
from validator.model import CriterionSpec, Evidence, HpaState, QueryResult, Result, SourceName, TimeWindow

ID = "scaling_latency"
INFO = False
PROMETHEUS_ONLY = True
SOURCES = (SourceName.K8S, SourceName.METRICS)
MEASURES: tuple[str, ...] = ()
PROMETHEUS_MEASURES: tuple[str, ...] = ()
QUERIES: dict[str, str] = {
    "hpa_current_metric": "kube_horizontalpodautoscaler_status_target_metric{{namespace_matcher}}",
    "hpa_target_metric": "kube_horizontalpodautoscaler_spec_target_metric{{namespace_matcher}}",
    "hpa_desired_replicas": "kube_horizontalpodautoscaler_status_desired_replicas{{namespace_matcher}}",
    "hpa_max_replicas": "kube_horizontalpodautoscaler_spec_max_replicas{{namespace_matcher}}",
}
# metrics_delay: seconds of wall clock (never compressed) the HPA's status can trail its metrics'
# source: twice metrics-server's resolution plus the HPA's sync period, 45 s with Kubernetes' and
# the official metrics-server manifest's 15 s (the sandbox's is 15 s too, its sync 1 s)
DEFAULTS: dict[str, float] = {"max": 300, "tolerance": 0.1, "metrics_delay": 45}


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    t: float
    above: bool | None  # None: no metric of the HPA had both a current value and a target
    desired: int
    max_replicas: int


def evaluate(spec: CriterionSpec, evidence: Evidence) -> list[Result]:
    band = spec.band("max")
    if evidence.k8s is not None and evidence.k8s.kind_seen("HorizontalPodAutoscaler"):
        per_hpa = _from_watch(evidence, spec.threshold("tolerance"))
        blind = blind_spans(evidence.k8s, "HorizontalPodAutoscaler", evidence.window)
        source = "watched HPA status"
    else:
        found, problem = queries(evidence, tuple(k for k in QUERIES if k != "hpa_max_replicas"))
        if problem:
            return [
                inconclusive(
                    spec, f"no HPA in the Kubernetes watch, and {problem}", unit="seconds", threshold=band
                )
            ]
        per_hpa = _from_prometheus(evidence, found, spec.threshold("tolerance"))
        blind, source = [], "kube-state-metrics"
    if not per_hpa:
        return [
            inconclusive(
                spec, "no HorizontalPodAutoscaler seen in the window", unit="seconds", threshold=band
            )
        ]
    results: list[Result] = []
    for hpa in sorted(per_hpa):
        results.extend(_judge(spec, evidence, hpa, per_hpa[hpa], blind, source))
    return results


def _judge(
    spec: CriterionSpec,
    evidence: Evidence,
    hpa: str,
    samples: list[Sample],
    blind: list[TimeWindow],
    source: str,
) -> list[Result]:
    band = spec.band("max")
    limit = spec.threshold("max")
    window = evidence.window
    samples = [s for s in samples if s.t <= window.end]
    results: list[Result] = []
    i = 0
    prev: Sample | None = None
    while i < len(samples):
        s = samples[i]
        if s.above is not True:
            prev = s
            i += 1
            continue
        # a rise starts at s
        start = s.t
        base = prev.desired if prev is not None else s.desired
        scope = {"hpa": hpa, "rise": at(start)}
        if base >= s.max_replicas > 0:
            end_at = _skip_rise(samples, i)
            fell_back = end_at < len(samples)
            until = samples[end_at].t if fell_back else window.end
            seen = until - max(start, window.start)
            delay = spec.threshold("metrics_delay") if fell_back else 0.0
            pinned, compressed = on_clock(evidence, max(0.0, seen - delay))
            trailed = (
                f"; back under target at {at(until)}, and the HPA's status trails its metrics by up to "
                f"{secs(delay)} of wall clock (metrics_delay): {secs(pinned)} of the "
                f"{secs(on_clock(evidence, seen)[0])} it showed is certain"
                if delay
                else ""
            )
            advice = (
                f"HPA `{hpa}` is pinned at maxReplicas {s.max_replicas} above its target: raise "
                "spec.maxReplicas, or set a target the workload can reach at that size",
            )
            if pinned > limit:
                results.append(
                    judged(
                        spec,
                        False,
                        pinned,
                        f"above target from {at(start)} for {secs(pinned)}{clock_note(compressed)} while at "
                        f"maxReplicas ({s.max_replicas}){trailed}: the HPA can never reach its target "
                        f"({source})",
                        scope=scope,
                        unit="seconds",
                        threshold=band,
                        advice=advice,
                        compressed=compressed,
                    )
                )
            else:
                results.append(
                    inconclusive(
                        spec,
                        f"load rose above target at {at(start)} while already at maxReplicas "
                        f"({s.max_replicas}){trailed}: no scale-up possible, latency not measurable",
                        scope=scope,
                        unit="seconds",
                        threshold=band,
                        advice=advice,
                    )
                )
            i = end_at
            prev = samples[i - 1]
            continue
        j = i
        decided: float | None = None
        fell: float | None = None
        lost: float | None = None
        while j < len(samples):
            if samples[j].desired > base:
                decided = samples[j].t
                break
            if samples[j].above is False:
                fell = samples[j].t
                break
            if samples[j].above is None:
                lost = samples[j].t
                break
            j += 1
        resolved = decided if decided is not None else fell if fell is not None else lost
        if resolved is not None and resolved < window.start:
            i = _skip_rise(samples, j)
            prev = samples[i - 1]
            continue
        if decided is not None:
            value, compressed = on_clock(evidence, decided - start)
            results.append(
                judged(
                    spec,
                    at_most(value, limit),
                    value,
                    f"above target at {at(start)}, desired replicas {base} -> {samples[j].desired} at "
                    f"{at(decided)}{clock_note(compressed)} ({source})",
                    scope=scope,
                    unit="seconds",
                    threshold=band,
                    advice=(
                        f"HPA `{hpa}` took {secs(value)} to scale up: check the metrics pipeline and "
                        f"its behavior.scaleUp policy (a scale-up stabilizationWindowSeconds as long as "
                        "the budget makes every decision late)",
                    ),
                    compressed=compressed,
                )
            )
        elif fell is not None or lost is not None:
            ended = fell if fell is not None else lost
            assert ended is not None
            elapsed, compressed = on_clock(evidence, ended - start)
            how = "back under target" if fell is not None else "its metric went missing"
            if not at_most(elapsed, limit):
                results.append(
                    judged(
                        spec,
                        False,
                        elapsed,
                        f"above target from {at(start)} for {secs(elapsed)}{clock_note(compressed)} without "
                        f"a scaling decision, until {how} at {at(ended)} ({source})",
                        scope=scope,
                        unit="seconds",
                        threshold=band,
                        advice=(
                            f"HPA `{hpa}` stayed above target for {secs(elapsed)} without scaling: check "
                            "`kubectl describe hpa` events (metrics unavailable? behavior.scaleUp?)",
                        ),
                        compressed=compressed,
                    )
                )
            elif fell is not None:
                results.append(
                    not_exercised(
                        spec,
                        f"above target from {at(start)} for {secs(elapsed)}{clock_note(compressed)}, back "
                        f"under it at {at(fell)} before a decision was due (budget {limit:g} s) ({source})",
                        scope=scope,
                        unit="seconds",
                        threshold=band,
                    )
                )
            else:
                results.append(
                    inconclusive(
                        spec,
                        f"above target from {at(start)}; its metric went missing at {at(ended)} "
                        f"({secs(elapsed)} later{clock_note(compressed)}, under the budget) before any "
                        "scaling decision",
                        scope=scope,
                        unit="seconds",
                        threshold=band,
                        advice=(f"HPA `{hpa}`: check the metric's source (metrics-server, adapter)",),
                    )
                )
        else:
            unseen = [b.start for b in blind if b.end > start]
            seen_until = min([window.end, *unseen])
            elapsed_run = max(0.0, seen_until - start)
            elapsed, compressed = on_clock(evidence, elapsed_run)
            if not at_most(elapsed, limit):
                results.append(
                    judged(
                        spec,
                        False,
                        elapsed,
                        f"above target from {at(start)}; no scaling decision in the {secs(elapsed)}"
                        f"{clock_note(compressed)} after it ({source})",
                        scope=scope,
                        unit="seconds",
                        threshold=band,
                        advice=(
                            f"HPA `{hpa}` never scaled up after its metric exceeded target: check "
                            "`kubectl describe hpa` events (metrics unavailable? behavior.scaleUp?)",
                        ),
                        compressed=compressed,
                    )
                )
            elif seen_until < window.end:
                results.append(
                    inconclusive(
                        spec,
                        f"above target from {at(start)}; no decision seen before a watch gap at "
                        f"{at(seen_until)}, under the budget",
                        scope=scope,
                        unit="seconds",
                        threshold=band,
                    )
                )
            else:
                results.append(
                    window_too_short(
                        spec,
                        evidence,
                        f"HPA `{hpa}` above target from {at(start)} without a decision",
                        elapsed_run,
                        limit,
                        scope=scope,
                        threshold=band,
                    )
                )
            break
        i = _skip_rise(samples, j)
        prev = samples[i - 1] if i > 0 else None
    if not results and not any(s.above is not None for s in samples):
        return [
            inconclusive(
                spec,
                "none of the HPA's metrics had a current value in the window: a load rise could not be seen",
                scope={"hpa": hpa},
                unit="seconds",
                threshold=band,
                advice=(f"HPA `{hpa}`: check its metrics source (`kubectl describe hpa`)",),
            )
        ]
    if not results:
        return [
            not_exercised(
                spec,
                "no load rise above the HPA's target in the window",
                scope={"hpa": hpa},
                unit="seconds",
                threshold=band,
            )
        ]
    return results


def _skip_rise(samples: list[Sample], i: int) -> int:
    """Index of the first sample after `i` known to be under target (the next rise starts after it)."""
    while i < len(samples) and samples[i].above is not False:
        i += 1
    return max(i, 1)


def _from_watch(evidence: Evidence, tolerance: float) -> dict[str, list[Sample]]:
    assert evidence.k8s is not None
    out: dict[str, list[Sample]] = {}
    for key, line in timelines(evidence.k8s, "HorizontalPodAutoscaler", HpaState).items():
        samples = []
        for t, state in line:
            if state is None:
                continue
            samples.append(
                Sample(
                    t=t,
                    above=state.above(tolerance),
                    desired=state.desired_replicas,
                    max_replicas=state.max_replicas,
                )
            )
        if samples:
            out[key] = samples
    return out


def _from_prometheus(
    evidence: Evidence, found: dict[str, QueryResult], tolerance: float
) -> dict[str, list[Sample]]:
    hpa_labels = ("namespace", "horizontalpodautoscaler")
    metric_labels = (*hpa_labels, "metric_name", "metric_target_type")
    current = max_by(found["hpa_current_metric"], *metric_labels)
    target = max_by(found["hpa_target_metric"], *metric_labels)
    desired = max_by(found["hpa_desired_replicas"], *hpa_labels)
    assert evidence.metrics is not None
    max_result = evidence.metrics.get("hpa_max_replicas")
    maxes = max_by(max_result, *hpa_labels) if max_result.ok else {}
    out: dict[str, list[Sample]] = {}
    for hpa_key, points in desired.items():
        metric_points = [(dict(current[k]), dict(target.get(k, []))) for k in current if k[:2] == hpa_key]
        max_at = dict(maxes.get(hpa_key, []))
        samples = []
        for t, d in points:
            known = [(cur[t], tgt[t]) for cur, tgt in metric_points if t in cur and t in tgt]
            above = any(c > g * (1 + tolerance) for c, g in known) if known else None
            samples.append(Sample(t=t, above=above, desired=int(d), max_replicas=int(max_at.get(t, 0))))
        out["/".join(hpa_key)] = samples
    return out
