"""99.9% uptime for controllers: per controller workload (Deployment, StatefulSet or DaemonSet matching
the suite's controller selector), share of the window with >= 1 available replica.

Time the evidence does not cover (before the watch first saw the Deployment, watch GAPs, missing
Prometheus samples) is unknown: the verdict is pass only if it holds even were all unknown time an
outage, fail only if it fails even were all unknown time available, else inconclusive.
"""

from __future__ import annotations

import itertools

from validator.criteria import workloads
from validator.criteria.evidence_checks import at_least, inconclusive, judged, queries
from validator.criteria.promql import workload_query
from validator.criteria.series_math import max_by
from validator.criteria.watch_timeline import blind_spans, total
from validator.criteria.wording import at, pct, secs
from validator.model import (
    CriterionSpec,
    Evidence,
    LabelSelector,
    QueryResult,
    Result,
    SourceName,
    kube_state_label,
)

ID = "controller_availability"
INFO = False
PROMETHEUS_ONLY = True
SOURCES = (SourceName.K8S, SourceName.METRICS)
MEASURES: tuple[str, ...] = ()
PROMETHEUS_MEASURES: tuple[str, ...] = ()
QUERIES: dict[str, str] = {
    "workload_replicas_available": workload_query(
        (
            ("Deployment", "kube_deployment_status_replicas_available", "deployment"),
            ("StatefulSet", "kube_statefulset_status_replicas_available", "statefulset"),
            ("DaemonSet", "kube_daemonset_status_number_available", "daemonset"),
        )
    ),
    "workload_labels": workload_query(
        (
            ("Deployment", "kube_deployment_labels", "deployment"),
            ("StatefulSet", "kube_statefulset_labels", "statefulset"),
            ("DaemonSet", "kube_daemonset_labels", "daemonset"),
        ),
        keep_labels=True,
    ),
}
DEFAULTS: dict[str, float] = {"min": 0.999}


def evaluate(spec: CriterionSpec, evidence: Evidence) -> list[Result]:
    band = spec.band("min")
    selector = evidence.manifest.controller_selector
    wanted = str(selector)
    if evidence.k8s is not None and workloads.seen_kinds(evidence.k8s):
        spans = _from_watch(evidence, selector)
        source = "Kubernetes watch"
    else:
        found, problem = queries(evidence, tuple(QUERIES))
        if problem:
            return [
                inconclusive(spec, f"no Deployment in the watch, and {problem}", unit="ratio", threshold=band)
            ]
        spans = _from_prometheus(evidence, found, selector)
        source = "kube-state-metrics"
    if not spans:
        return [
            inconclusive(
                spec,
                f"no Deployment matches the controller selector `{wanted}`",
                unit="ratio",
                threshold=band,
                advice=(
                    f"label the controller workloads `{wanted}` or set controller_selector in the suite",
                ),
            )
        ]
    duration = evidence.window.duration
    results: list[Result] = []
    for name in sorted(spans):
        available, unknown, longest = spans[name]
        kind, _, object_key = name.partition("/")
        scope = {kind.lower(): object_key}
        if duration <= 0:
            results.append(
                inconclusive(spec, "the window is empty", scope=scope, unit="ratio", threshold=band)
            )
            continue
        worst = available / duration
        best = (available + unknown) / duration
        seen = duration - unknown
        value = available / seen if seen > 0 else None
        outage = f"; longest outage {secs(longest[1])} from {at(longest[0])}" if longest[1] > 0 else ""
        detail = f"available {pct(value or 0)} of {secs(seen)} observed ({source}){outage}"
        if unknown > 0:
            detail += f"; {secs(unknown)} not observed"
        limit = spec.threshold("min")
        if value is None or (not at_least(worst, limit) and at_least(best, limit)):
            results.append(
                inconclusive(
                    spec,
                    f"partial data: {detail}; the unobserved time decides the verdict",
                    scope=scope,
                    unit="ratio",
                    threshold=band,
                )
            )
            continue
        ok = at_least(worst, limit)
        results.append(
            judged(
                spec,
                ok,
                value,
                detail,
                scope=scope,
                unit="ratio",
                threshold=band,
                advice=(
                    f"{workloads.describe(name)} had no available replica for "
                    f"{secs(duration - available - unknown)}: "
                    "run 2+ replicas spread over nodes (topologySpreadConstraints) with a PDB minAvailable 1",
                ),
            )
        )
    return results


# name -> (available seconds, unknown seconds, (start, length) of the longest outage)
Spans = dict[str, tuple[float, float, tuple[float, float]]]


def _from_watch(evidence: Evidence, selector: LabelSelector) -> Spans:
    assert evidence.k8s is not None
    window = evidence.window
    out: Spans = {}
    for name, line in workloads.workload_timelines(evidence.k8s).items():
        states = [s for _, s in line if s is not None]
        if not any(selector.matches(s.labels) for s in states):
            continue  # never carried the controller labels
        kind = name.split("/", 1)[0]
        gaps = [g for g in blind_spans(evidence.k8s, kind, window) if g.start > window.start]
        first = line[0][0]
        unknown = max(0.0, min(first, window.end) - window.start) + total(gaps)
        available = 0.0
        longest = (0.0, 0.0)
        down_since: float | None = None
        points = [*line, (window.end, None)]
        for (t, state), (t_next, _) in itertools.pairwise(points):
            start, end = max(t, window.start), min(t_next, window.end)
            up = state is not None and state.available_replicas >= 1
            if end > start:
                blind = sum(max(0.0, min(end, g.end) - max(start, g.start)) for g in gaps)
                if up:
                    available += end - start - blind
            if up:
                if down_since is not None:
                    length = min(t, window.end) - down_since
                    if length > longest[1]:
                        longest = (down_since, length)
                    down_since = None
            elif down_since is None and t < window.end:
                down_since = max(t, window.start)
        if down_since is not None and window.end - down_since > longest[1]:
            longest = (down_since, window.end - down_since)
        out[name] = (available, unknown, longest)
    return out


def _from_prometheus(evidence: Evidence, found: dict[str, QueryResult], selector: LabelSelector) -> Spans:
    assert evidence.metrics is not None
    step = evidence.metrics.step_seconds
    window = evidence.window
    keys = {r.key for r in selector.requirements}
    controllers = {
        (s.label("namespace"), s.label("workload"))
        for s in found["workload_labels"].series
        if selector.matches(
            {k: s.labels[kube_state_label(k)] for k in keys if s.labels.get(kube_state_label(k))}
        )
    }
    expected = int(window.duration // step) + 1
    out: Spans = {}
    for key, points in max_by(
        found["workload_replicas_available"], "namespace", "workload", window=window
    ).items():
        if key not in controllers:
            continue
        up = sum(1 for _, v in points if v >= 1)
        missing = max(0, expected - len(points))
        share = window.duration / expected
        longest = (0.0, 0.0)
        run_start: float | None = None
        for t, v in points:
            if v < 1 and run_start is None:
                run_start = t
            elif v >= 1 and run_start is not None:
                if t - run_start > longest[1]:
                    longest = (run_start, t - run_start)
                run_start = None
        if run_start is not None and window.end - run_start > longest[1]:
            longest = (run_start, window.end - run_start)
        kind, _, name = key[1].partition("/")
        out[workloads.key(kind, f"{key[0]}/{name}")] = (up * share, missing * share, longest)
    return out
