"""Fault windows as criteria use them: closed, clipped, grouped when they overlap."""

from __future__ import annotations

from collections.abc import Mapping

from validator.criteria.wording import at
from validator.model import CriterionSpec, Evidence, FaultWindow, Result, TimeWindow, Verdict


def fault_scope(fault: FaultWindow) -> dict[str, str]:
    return {"fault": fault.fault, "start": at(fault.start)}


def closed(evidence: Evidence) -> list[tuple[FaultWindow, TimeWindow]]:
    """Every fault with a known end, with its window; unterminated faults are left out."""
    if evidence.chaos is None:
        return []
    out = [(f, w) for f in evidence.chaos.faults if (w := f.window) is not None]
    return sorted(out, key=lambda fw: (fw[1].start, fw[0].fault))


def unterminated(evidence: Evidence) -> list[FaultWindow]:
    if evidence.chaos is None:
        return []
    return [f for f in evidence.chaos.faults if f.end is None]


def inside_any(t: float, windows: list[TimeWindow]) -> bool:
    return any(w.start <= t <= w.end for w in windows)


def overlap_groups(
    faults: list[tuple[FaultWindow, TimeWindow]],
) -> list[list[tuple[FaultWindow, TimeWindow]]]:
    """Faults whose windows overlap (or touch) fall in one group, in start order."""
    groups: list[list[tuple[FaultWindow, TimeWindow]]] = []
    group_end = float("-inf")
    for fw in sorted(faults, key=lambda x: x[1].start):
        if groups and fw[1].start <= group_end:
            groups[-1].append(fw)
            group_end = max(group_end, fw[1].end)
        else:
            groups.append([fw])
            group_end = fw[1].end
    return groups


def never_injected(
    spec: CriterionSpec,
    evidence: Evidence,
    *,
    kinds: tuple[str, ...] = (),
    unit: str = "",
    threshold: Mapping[str, float] | None = None,
) -> list[Result]:
    """An inconclusive result per planned fault that was never injected (of `kinds`; () = any):
    a fault that never took effect tests nothing."""
    if evidence.chaos is None:
        return []
    return [
        Result(
            criterion=spec.id,
            scope={"fault": n.fault},
            verdict=Verdict.INCONCLUSIVE,
            unit=unit,
            threshold=dict(threshold or {}),
            detail=f"fault `{n.fault}` was never injected: {n.reason}",
        )
        for n in evidence.chaos.not_injected
        if not kinds or n.kind in kinds
    ]
