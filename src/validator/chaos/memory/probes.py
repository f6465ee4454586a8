"""Memory probes (read-only)."""

from __future__ import annotations

from typing import Any

from validator.chaos.targets import meta
from validator.safety import marks
from validator.safety.session import mutator_for


def no_memory_pressure(namespace: str, configuration: dict[str, Any] | None = None,
                       secrets: dict[str, Any] | None = None) -> bool:
    """No pod in the namespace still carries a memory change of the suite."""
    mutator = mutator_for(configuration)
    for pod in mutator.core().list_namespaced_pod(namespace).items:
        reverts = marks.parse_reverts((meta(mutator.to_dict(pod)).get("annotations") or {}).get(marks.REVERT))
        if marks.RESTORE_ANNOTATIONS in reverts:
            return False
    return True
