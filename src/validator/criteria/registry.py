"""The criteria by id, their queries, and the run's overall verdict.

Overall verdict (docs/criteria.md): fail if any non-info criterion fails; else inconclusive if any
non-info criterion is inconclusive; else pass. A criterion's verdict is the worst of its scopes.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import Protocol, cast

from validator.criteria import (
    alert_accuracy,
    capacity_forecast,
    controller_availability,
    cost_efficiency,
    cpu_utilization,
    graceful_degradation,
    maintenance_disruption,
    memory_utilization,
    oom_kills,
    pdb_respected,
    pvc_utilization,
    recovery_time,
    resource_isolation,
    scaling_latency,
)
from validator.criteria.positive_evidence import enforce, fault_reasons
from validator.criteria.promql import render_query
from validator.model import (
    CriterionOutcome,
    CriterionOverride,
    CriterionSpec,
    Evidence,
    NotEvaluated,
    Result,
    SourceName,
    Summary,
    Verdict,
    worst,
)

__all__ = [
    "CRITERIA",
    "CriterionModule",
    "all_queries",
    "build_specs",
    "default_spec",
    "evaluate_all",
    "overall_verdict",
    "prometheus_measures",
    "prometheus_only_ids",
    "render_query",
]


class CriterionModule(Protocol):
    ID: str
    INFO: bool
    PROMETHEUS_ONLY: bool
    QUERIES: dict[str, str]
    DEFAULTS: dict[str, float]
    # the evidence its passes rest on: a partial one of these turns a pass inconclusive
    SOURCES: tuple[SourceName, ...]
    # measures it judges separately (resource_isolation: throttling, rejections); () = one measure
    MEASURES: tuple[str, ...]
    # the measures Prometheus alone can judge (what `validator check` evaluates)
    PROMETHEUS_MEASURES: tuple[str, ...]
    evaluate: Callable[[CriterionSpec, Evidence], list[Result]]


_MODULES: tuple[ModuleType, ...] = (
    cpu_utilization,
    memory_utilization,
    oom_kills,
    pvc_utilization,
    scaling_latency,
    controller_availability,
    pdb_respected,
    maintenance_disruption,
    recovery_time,
    graceful_degradation,
    resource_isolation,
    alert_accuracy,
    capacity_forecast,
    cost_efficiency,
)

# In the order of docs/criteria.md.
CRITERIA: dict[str, CriterionModule] = {m.ID: cast(CriterionModule, m) for m in _MODULES}
# Criteria a run judges live, after each experiment: they need only the watch, the load and the faults
# (no Prometheus), so a suite can also stop on them (`abort_on.criteria`).
LIVE_CRITERIA = ("maintenance_disruption", "pdb_respected", "oom_kills", "controller_availability")


def all_queries() -> dict[str, str]:
    """Every query key any criterion reads, with its PromQL (placeholders unfilled)."""
    out: dict[str, str] = {}
    for module in CRITERIA.values():
        for key, promql in module.QUERIES.items():
            if out.get(key, promql) != promql:
                raise RuntimeError(f"query key {key!r} means two different queries ({module.ID})")
            out[key] = promql
    return out


def prometheus_only_ids() -> list[str]:
    """Criteria Prometheus alone can judge, wholly or in some of their measures."""
    return [cid for cid, m in CRITERIA.items() if m.PROMETHEUS_ONLY or m.PROMETHEUS_MEASURES]


def prometheus_measures(criterion_id: str) -> tuple[str, ...]:
    """The measures of `criterion_id` that Prometheus alone can judge (() = all of it)."""
    module = CRITERIA[criterion_id]
    return () if module.PROMETHEUS_ONLY else module.PROMETHEUS_MEASURES


def default_spec(criterion_id: str) -> CriterionSpec:
    module = CRITERIA[criterion_id]
    return CriterionSpec(
        id=criterion_id, thresholds=dict(module.DEFAULTS), queries=dict(module.QUERIES), info=module.INFO
    )


def build_specs(*layers: Mapping[str, CriterionOverride]) -> dict[str, CriterionSpec]:
    """Defaults, then each layer of overrides in order (e.g. manifest, then --criteria file).

    Overrides must already be validated (validator.config.criteria_file does that).
    """
    specs = {cid: default_spec(cid) for cid in CRITERIA}
    for layer in layers:
        for cid, override in layer.items():
            base = specs[cid]
            specs[cid] = CriterionSpec(
                id=cid,
                thresholds={**base.thresholds, **override.thresholds},
                queries={**base.queries, **override.queries},
                info=base.info if override.info is None else override.info,
                measures=base.measures,
            )
    return specs


def overall_verdict(outcomes: Iterable[CriterionOutcome]) -> Verdict:
    judged = [o.verdict for o in outcomes if not o.info]
    if Verdict.FAIL in judged:
        return Verdict.FAIL
    if Verdict.INCONCLUSIVE in judged:
        return Verdict.INCONCLUSIVE
    return Verdict.PASS


def evaluate_all(
    specs: Mapping[str, CriterionSpec] | None,
    evidence: Evidence,
    *,
    only: Iterable[str] | None = None,
    not_evaluated_reason: str = "needs evidence this command does not collect",
) -> Summary:
    """Evaluate every criterion (or those in `only`; the rest are listed as not evaluated)."""
    chosen = set(CRITERIA) if only is None else set(only)
    unknown = chosen - set(CRITERIA)
    if unknown:
        raise KeyError(f"unknown criterion id(s): {', '.join(sorted(unknown))}")
    # The evidence of a big run is millions of long-lived objects that the cyclic collector would
    # walk again and again while the criteria allocate (half the evaluation of a day of 20,000
    # pods); it pauses here and collects whatever cycles the criteria left once they are done.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _evaluate(specs or {}, evidence, chosen, not_evaluated_reason)
    finally:
        if collecting:
            gc.enable()


def _evaluate(
    specs: Mapping[str, CriterionSpec], evidence: Evidence, chosen: set[str], not_evaluated_reason: str
) -> Summary:
    outcomes: list[CriterionOutcome] = []
    skipped: list[NotEvaluated] = []
    reasons: dict[tuple[str, str], str] | None = None  # why each fault cannot vouch for a pass, once
    for cid, module in CRITERIA.items():
        if cid not in chosen:
            skipped.append(NotEvaluated(id=cid, reason=not_evaluated_reason))
            continue
        spec = specs.get(cid) or default_spec(cid)
        skipped.extend(
            NotEvaluated(id=cid, measure=m, reason=not_evaluated_reason)
            for m in module.MEASURES
            if not spec.measured(m)
        )
        try:
            if reasons is None and SourceName.CHAOS in module.SOURCES:
                reasons = fault_reasons(evidence)
            results = enforce(
                spec, module.SOURCES, evidence, module.evaluate(spec, evidence), reasons=reasons
            )
        except Exception as exc:  # a bug must not cost the whole report; it shows as inconclusive
            results = [
                Result(
                    criterion=cid,
                    verdict=Verdict.INCONCLUSIVE,
                    detail=f"internal error in the validator ({type(exc).__name__}: {exc}); please report it",
                )
            ]
        if not results:
            results = [
                Result(criterion=cid, verdict=Verdict.INCONCLUSIVE, detail="the criterion returned no result")
            ]
        outcomes.append(
            CriterionOutcome(
                id=cid,
                verdict=worst(r.verdict for r in results) or Verdict.INCONCLUSIVE,
                info=spec.info,
                results=tuple(results),
            )
        )
    return Summary(
        run_id=evidence.run_id,
        window=evidence.window,
        verdict=overall_verdict(outcomes),
        criteria=tuple(outcomes),
        not_evaluated=tuple(skipped),
    )
