"""Node probes (read-only)."""

from __future__ import annotations

from typing import Any

from validator.chaos.targets import meta
from validator.safety import marks
from validator.safety.guard import is_schedulable
from validator.safety.session import mutator_for


def nodes_schedulable(label_selector: str = "", configuration: dict[str, Any] | None = None,
                      secrets: dict[str, Any] | None = None) -> bool:
    """True when every matching node is Ready, schedulable, and owes no validator revert."""
    nodes = mutator_for(configuration).list_nodes(label_selector)
    if not nodes:
        return False
    for node in nodes:
        if not is_schedulable(node) or (meta(node).get("annotations") or {}).get(marks.REVERT):
            return False
    return True
