"""Choosing what a fault touches: read-only listing, filtering and sampling without replacement."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from validator.errors import UnsafeOperation
from validator.safety.mutator import Mutator

Obj = Mapping[str, Any]


def meta(obj: Obj) -> dict[str, Any]:
    return dict(obj.get("metadata") or {})


def name_of(obj: Obj) -> str:
    return str(meta(obj).get("name"))


def ref(obj: Obj) -> str:
    m = meta(obj)
    return f"pod/{m.get('namespace')}/{m.get('name')}" if m.get("namespace") else f"node/{m.get('name')}"


def list_pods(mutator: Mutator, namespace: str, label_selector: str = "",
              field_selector: str = "") -> list[dict[str, Any]]:
    core = mutator.core()
    if namespace:
        items = core.list_namespaced_pod(namespace, label_selector=label_selector or None,
                                         field_selector=field_selector or None).items
    else:
        items = core.list_pod_for_all_namespaces(label_selector=label_selector or None,
                                                 field_selector=field_selector or None).items
    return [mutator.to_dict(p) for p in items]


def is_daemonset_pod(pod: Obj) -> bool:
    return any(r.get("kind") == "DaemonSet" and r.get("controller")
               for r in meta(pod).get("ownerReferences") or [])


def is_mirror_pod(pod: Obj) -> bool:
    return "kubernetes.io/config.mirror" in (meta(pod).get("annotations") or {})


def is_finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def is_terminating(pod: Obj) -> bool:
    return bool(meta(pod).get("deletionTimestamp"))


def drainable(pod: Obj) -> tuple[bool, str]:
    """Should a drain evict this pod? (False, why) for DaemonSet, mirror and finished pods."""
    if is_mirror_pod(pod):
        return False, "mirror pod"
    if is_daemonset_pod(pod):
        return False, "DaemonSet pod"
    if is_finished(pod):
        return False, "finished pod"
    if is_terminating(pod):
        return False, "already terminating"
    return True, ""


def is_ready(pod: Obj) -> bool:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return str(cond.get("status")) == "True"
    return False


SIMULATED_NODE = "kwok.x-k8s.io/node"  # the annotation kwok's fake nodes carry (value "fake")


def is_simulated(node: Obj) -> bool:
    return (meta(node).get("annotations") or {}).get(SIMULATED_NODE) == "fake"


def require_simulated(mutator: Mutator, nodes: Sequence[str], what: str) -> None:
    """The `sandbox` mechanisms only work on the sandbox's kwok nodes: anywhere else the fault would
    do nothing, so refuse (before any write) rather than inject nothing and report a pass."""
    real = [name for name in dict.fromkeys(nodes) if name and not is_simulated(mutator.read_node(name))]
    if real:
        raise UnsafeOperation(
            f"{what} uses mechanism `sandbox`, which only the sandbox's simulated (kwok) nodes react to; "
            f"{', '.join(real)} {'is' if len(real) == 1 else 'are'} not simulated",
            where="mechanism",
            fix="use the real mechanism: chaos-mesh for memory pressure, hook for node failure",
        )


def sample(items: Sequence[Any], count: int, rng: random.Random | None = None) -> list[Any]:
    """`count` distinct items (all when fewer), chosen without replacement."""
    rng = rng or random.Random()
    if count >= len(items):
        return list(items)
    return rng.sample(list(items), count)
