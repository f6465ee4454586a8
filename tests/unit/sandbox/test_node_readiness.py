"""When `validator sandbox up` counts a node as ready: pods can land on it."""

from __future__ import annotations

from typing import Any

from validator.sandbox.lifecycle import node_ready


def node(ready: str, taints: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": "implementation-1"},
        "spec": {"taints": taints} if taints is not None else {},
        "status": {
            "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": ready}]
        },
    }


def test_a_ready_node_without_taints_is_ready() -> None:
    assert node_ready(node("True"))
    assert node_ready(node("True", []))


def test_a_ready_node_whose_not_ready_taint_is_not_lifted_yet_is_not() -> None:
    """The apiserver taints every new node; the controller lifts the taint some time after kwok
    marks the node Ready (minutes for 1,000 nodes under the controller's default request limit)."""
    assert not node_ready(node("True", [{"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}]))
    assert not node_ready(node("True", [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]))


def test_a_not_ready_or_unreported_node_is_not_ready() -> None:
    assert not node_ready(node("False"))
    assert not node_ready(node("Unknown"))
    assert not node_ready({"metadata": {"name": "n"}})


def test_a_cordoned_node_still_counts_as_up() -> None:
    """A drained node is the chaos experiments' doing, not a sandbox that failed to start."""
    assert node_ready(node("True", [{"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}]))
