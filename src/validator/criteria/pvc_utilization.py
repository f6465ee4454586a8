"""PVC utilisation 50-80%: per PVC, mean of used / capacity over the window."""

from __future__ import annotations

from validator.criteria.evidence_checks import (
    at_least,
    at_most,
    inconclusive,
    judged,
    queries,
    query_coverage_problem,
)
from validator.criteria.series_math import MIN_COVERAGE, max_by, mean, paired_share, ratio_points
from validator.criteria.wording import pct
from validator.model import CriterionSpec, Evidence, Result, SourceName

ID = "pvc_utilization"
INFO = False
PROMETHEUS_ONLY = True
SOURCES = (SourceName.METRICS,)
MEASURES: tuple[str, ...] = ()
PROMETHEUS_MEASURES: tuple[str, ...] = ()
QUERIES: dict[str, str] = {
    # a kubelet never reports a volume without its claim; pods without one (the sandbox's per-pod
    # series) carry an empty label, which must not become a PVC called "<namespace>/"
    "pvc_used_bytes": "max by (namespace, persistentvolumeclaim) "
    '(kubelet_volume_stats_used_bytes{persistentvolumeclaim!="",{namespace_matcher}})',
    "pvc_capacity_bytes": (
        "max by (namespace, persistentvolumeclaim) "
        '(kubelet_volume_stats_capacity_bytes{persistentvolumeclaim!="",{namespace_matcher}})'
    ),
}
DEFAULTS: dict[str, float] = {"min": 0.5, "max": 0.8, "min_coverage": MIN_COVERAGE}


def evaluate(spec: CriterionSpec, evidence: Evidence) -> list[Result]:
    band = spec.band("min", "max")
    found, problem = queries(evidence, tuple(QUERIES))
    if problem:
        return [inconclusive(spec, problem, unit="ratio", threshold=band)]
    problem = query_coverage_problem(evidence, found["pvc_used_bytes"])
    if problem:
        return [inconclusive(spec, problem, unit="ratio", threshold=band)]
    used = max_by(found["pvc_used_bytes"], "namespace", "persistentvolumeclaim", window=evidence.window)
    cap = max_by(found["pvc_capacity_bytes"], "namespace", "persistentvolumeclaim", window=evidence.window)
    results: list[Result] = []
    low, high = spec.threshold("min"), spec.threshold("max")
    for namespace, claim in sorted(used):
        scope = {"pvc": f"{namespace}/{claim}"}
        ratios = ratio_points(used[(namespace, claim)], cap.get((namespace, claim), []))
        if not ratios:
            results.append(
                inconclusive(
                    spec,
                    f"no capacity samples for PVC {namespace}/{claim}",
                    scope=scope,
                    unit="ratio",
                    threshold=band,
                )
            )
            continue
        value = mean([v for _, v in ratios])
        ok = at_least(value, low) and at_most(value, high)
        share = paired_share(used[(namespace, claim)], cap.get((namespace, claim), []))
        if share < spec.threshold("min_coverage"):
            results.append(
                inconclusive(
                    spec,
                    f"partial data: PVC {namespace}/{claim} has used and capacity bytes at {share:.0%} of "
                    f"the steps either was seen at (need {spec.threshold('min_coverage'):.0%}); "
                    f"{pct(value)} used over those",
                    scope=scope,
                    unit="ratio",
                    threshold=band,
                )
            )
            continue
        if value < low:
            detail = f"below target: {pct(value)} used, over-sized (mean over {len(ratios)} samples)"
            advice: tuple[str, ...] = (
                f"PVC `{namespace}/{claim}` is {pct(value)} full: request a smaller volume for new claims",
            )
        elif value > high:
            detail = f"above target: {pct(value)} used (mean over {len(ratios)} samples)"
            advice = (
                f"PVC `{namespace}/{claim}` is {pct(value)} full: expand it (allowVolumeExpansion) or "
                f"clean up old data",
            )
        else:
            detail, advice = f"mean over {len(ratios)} samples", ()
        results.append(
            judged(spec, ok, value, detail, scope=scope, unit="ratio", threshold=band, advice=advice)
        )
    return results
