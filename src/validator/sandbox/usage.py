"""Simulated usage of a sandbox pod: the patch that sets it (docs/sandbox-contract.md).

kwok does not enforce memory limits, so raising a pod's simulated memory to or past a
container's limit also asks the OOM stage to kill it, as the kubelet's OOM killer would.
Pure: returns a merge patch; the caller applies it through its own (gated) client.
"""

from __future__ import annotations

from typing import Any

from validator.model.quantity import parse_quantity as parse_quantity  # re-exported for its callers

CPU = "sim.validator.io/cpu"
MEMORY = "sim.validator.io/memory"
OOM_KILL = "sim.validator.io/oom-kill"
COMPLETE_AFTER = "sim.validator.io/complete-after"
NOT_READY = "sim.validator.io/not-ready"
NOT_READY_CONDITION = "sim.validator.io/not-ready-condition"
PVC = "sim.validator.io/pvc"
PVC_CAPACITY = "sim.validator.io/pvc-capacity"
PVC_USED = "sim.validator.io/pvc-used"


def memory_limits(pod: dict[str, Any]) -> list[float]:
    """The memory limits of a pod's containers, in bytes (those that set one)."""
    limits = []
    for container in (pod.get("spec") or {}).get("containers") or []:
        raw = ((container.get("resources") or {}).get("limits") or {}).get("memory")
        if raw is not None:
            limits.append(parse_quantity(str(raw)))
    return limits


def usage_patch(pod: dict[str, Any], cpu: str | None = None, memory: str | None = None) -> dict[str, Any]:
    """Merge patch setting a pod's simulated usage; adds the OOM trigger where memory reaches a limit."""
    annotations: dict[str, Any] = {}
    if cpu is not None:
        parse_quantity(cpu)  # reject garbage before it reaches kwok's CEL
        annotations[CPU] = cpu
    if memory is not None:
        used = parse_quantity(memory)
        annotations[MEMORY] = memory
        if any(used >= limit for limit in memory_limits(pod)):
            annotations[OOM_KILL] = "memory-limit"
    return {"metadata": {"annotations": annotations}}

