"""Pod probes (read-only)."""

from __future__ import annotations

from typing import Any

from validator.chaos.targets import is_ready, is_terminating, list_pods
from validator.safety.session import mutator_for


def pods_ready(namespace: str, label_selector: str, min_ready: int = 1,
               configuration: dict[str, Any] | None = None, secrets: dict[str, Any] | None = None) -> bool:
    """At least `min_ready` matching pods are Ready and not terminating."""
    pods = list_pods(mutator_for(configuration), namespace, label_selector)
    return sum(1 for p in pods if is_ready(p) and not is_terminating(p)) >= int(min_ready)
