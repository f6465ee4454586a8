"""The rule every criterion's results pass through: no pass without positive evidence.

Applied by the registry to whatever a criterion returns, so no criterion can forget it:

1. A pass that rests on a *partial* source (a truncated watch file, unreadable load rows, points
   of a query that could not be read, an incomplete chaos record) is inconclusive, saying which.
   A failure stays a failure: what was seen is enough to fail.
2. A pass scoped to one fault (`{"fault": ..., "start": ...}`) is inconclusive when that fault
   cannot vouch for it: its effect was never seen in the evidence (it tested nothing), its steady
   state was not met before it, its rollback failed, or it was a dry run.

The criteria themselves apply the rest of the rule where only they can: coverage of each scope's
judged span, outcomes not seen before the window ended, targets that vanished, exemptions limited
to a fault's own targets (docs/criteria.md, "Conventions").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from validator.criteria import fault_effects
from validator.criteria.wording import at
from validator.model import CriterionSpec, Evidence, Result, SourceName, Verdict


def partial_sources(sources: Iterable[SourceName], spec: CriterionSpec, evidence: Evidence) -> list[str]:
    """Why the sources a criterion rests on are partial ([] when they are whole or absent)."""
    out: list[str] = []
    for source in sources:
        if source is SourceName.K8S and evidence.k8s is not None and evidence.k8s.partial:
            out.append(f"Kubernetes watch: {evidence.k8s.partial}")
        elif source is SourceName.LOAD and evidence.load is not None and evidence.load.partial:
            out.append(f"load results: {evidence.load.partial}")
        elif source is SourceName.CHAOS and evidence.chaos is not None and evidence.chaos.partial:
            out.append(f"chaos record: {evidence.chaos.partial}")
        elif source is SourceName.METRICS and evidence.metrics is not None:
            if evidence.metrics.partial:
                out.append(f"Prometheus evidence: {evidence.metrics.partial}")
            out.extend(
                f"Prometheus: {result.partial}"
                for key in spec.queries
                if (result := evidence.metrics.queries.get(key)) is not None and result.partial
            )
    return list(dict.fromkeys(out))


def fault_reasons(evidence: Evidence) -> dict[tuple[str, str], str]:
    """(fault name, start as written in scopes) -> why that fault cannot vouch for a pass."""
    if evidence.chaos is None:
        return {}
    out: dict[tuple[str, str], str] = {}
    for fault in evidence.chaos.faults:
        reasons = list(fault.problems)
        missing = fault_effects.unobserved(fault, evidence)
        if missing:
            reasons.insert(0, f"its effect was never seen: {missing}")
        if reasons:
            out[(fault.fault, at(fault.start))] = (
                f"fault `{fault.fault}` tested nothing certain: " + "; ".join(reasons)
            )
    return out


def enforce(
    spec: CriterionSpec,
    sources: Sequence[SourceName],
    evidence: Evidence,
    results: Iterable[Result],
    *,
    reasons: Mapping[tuple[str, str], str] | None = None,
) -> list[Result]:
    """The results with every pass the evidence does not support turned inconclusive. `reasons`
    is `fault_reasons(evidence)` when the caller has it already (it is the same for every
    criterion of one evaluation, and reads every pod's timeline)."""
    partial = partial_sources(sources, spec, evidence)
    faults: Mapping[tuple[str, str], str] = {}
    if SourceName.CHAOS in sources:
        faults = fault_reasons(evidence) if reasons is None else reasons
    out: list[Result] = []
    for result in results:
        if result.verdict is not Verdict.PASS:
            out.append(result)
            continue
        why: list[str] = []
        if partial:
            why.append("partial evidence (" + "; ".join(partial) + ")")
        key = (result.scope.get("fault", ""), result.scope.get("start", ""))
        if key in faults:
            why.append(faults[key])
        if not why:
            out.append(result)
            continue
        out.append(
            Result(
                criterion=result.criterion,
                scope=result.scope,
                verdict=Verdict.INCONCLUSIVE,
                value=None,
                unit=result.unit,
                threshold=result.threshold,
                detail="; ".join(why) + f"; would pass: {result.detail}",
                advice=result.advice,
            )
        )
    return out
