"""The guard's decisions, table-driven: namespaces, labels, nodes, blast radius."""

from __future__ import annotations

from typing import Any

import pytest

from validator.safety.allowlist import ContextEntry, Limits
from validator.safety.guard import (
    allowed_disruptions,
    namespace_refusal,
    node_refusal,
    pod_refusal,
    share_refusal,
)

ENTRY = ContextEntry(
    name="ctx",
    server="https://x",
    ca_sha256="ab",
    namespaces=("agents", "t-*"),
    node_pools=("implementation", "quality"),
    limits=Limits(max_cordoned_nodes=1),
)


def node(
    name: str,
    pool: str | None = "implementation",
    *,
    unschedulable: bool = False,
    ready: bool = True,
    labels: dict[str, str] | None = None,
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    lab = dict(labels or {})
    if pool:
        lab["node-pool"] = pool
    return {
        "metadata": {"name": name, "labels": lab, "annotations": annotations or {}},
        "spec": {"unschedulable": unschedulable},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def pod(
    name: str, namespace: str = "agents", owner: str = "rs-a", labels: dict[str, str] | None = None
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels or {},
            "ownerReferences": [{"kind": "ReplicaSet", "name": owner, "controller": True}],
        }
    }


@pytest.mark.parametrize(
    ("namespace", "refused_because"),
    [
        ("agents", None),
        ("t-1234", None),
        ("kube-system", "system namespace"),
        ("kube-public", "system namespace"),
        ("default", "not in the allow-list"),
        ("", "cluster-wide"),
    ],
)
def test_namespace_decisions(namespace: str, refused_because: str | None) -> None:
    reason = namespace_refusal(namespace, ENTRY)
    if refused_because is None:
        assert reason is None
    else:
        assert reason is not None and refused_because in reason


def test_kube_system_is_refused_even_when_listed() -> None:
    entry = ContextEntry(name="c", server="s", ca_sha256="x", namespaces=("*",))
    assert namespace_refusal("kube-system", entry) is not None
    assert namespace_refusal("anything", entry) is None


@pytest.mark.parametrize(
    ("labels", "allowed"),
    [
        ({"app": "rex"}, True),
        ({"app": "blaze"}, False),
        ({"chaos-target": "yes"}, True),
        ({}, False),
    ],
)
def test_pod_label_allow_list(labels: dict[str, str], allowed: bool) -> None:
    entry = ContextEntry(
        name="c", server="s", ca_sha256="x", namespaces=("agents",), pod_labels=("app=rex", "chaos-target")
    )
    assert (pod_refusal(pod("p", labels=labels), entry) is None) is allowed


CASES: list[tuple[str, dict[str, Any], list[dict[str, Any]], list[str], str | None]] = [
    ("a pool with a spare node", node("i-1"), [node("i-1"), node("i-2")], [], None),
    (
        "the last schedulable node of its pool",
        node("i-1"),
        [node("i-1"), node("i-2", unschedulable=True)],
        [],
        "last schedulable node",
    ),
    (
        "the only node of its pool",
        node("q-1", "quality"),
        [node("q-1", "quality"), node("i-1")],
        [],
        "last schedulable node",
    ),
    (
        "the other node is NotReady",
        node("i-1"),
        [node("i-1"), node("i-2", ready=False)],
        [],
        "last schedulable node",
    ),
    (
        "a control-plane node",
        node("cp", labels={"node-role.kubernetes.io/control-plane": ""}),
        [node("cp"), node("i-2")],
        [],
        "control-plane",
    ),
    (
        "a pool outside the allow-list",
        node("s-1", "system"),
        [node("s-1", "system"), node("s-2", "system")],
        [],
        "not in the allow-list",
    ),
    ("a node without a pool label", node("x", None), [node("x", None)], [], "no 'node-pool' label"),
    (
        "above the cordon limit",
        node("i-1"),
        [
            node("i-1"),
            node("i-2"),
            node("i-3", unschedulable=True, annotations={"validator.io/revert": "uncordon"}),
        ],
        [],
        "limit of 1",
    ),
    (
        "two chosen together above the limit",
        node("i-1"),
        [node("i-1"), node("i-2"), node("i-3")],
        ["i-2"],
        "limit of 1",
    ),
]


@pytest.mark.parametrize(
    ("node_", "nodes", "also", "refused_because"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_node_decisions(
    node_: dict[str, Any], nodes: list[dict[str, Any]], also: list[str], refused_because: str | None
) -> None:
    reason = node_refusal(node_, nodes, ENTRY, also)
    if refused_because is None:
        assert reason is None
    else:
        assert reason is not None and refused_because in reason, reason


@pytest.mark.parametrize(
    ("total", "share", "allowed"),
    [(1, 0.5, 1), (2, 0.5, 1), (4, 0.5, 2), (5, 0.5, 2), (10, 0.3, 3), (0, 0.5, 0), (3, 1.0, 3)],
)
def test_allowed_disruptions(total: int, share: float, allowed: int) -> None:
    assert allowed_disruptions(total, share) == allowed


def test_share_of_a_workload() -> None:
    population = [pod(f"a{i}", owner="a") for i in range(4)] + [pod("b0", owner="b")]
    assert share_refusal(population[:2], population, 0.5) is None
    reason = share_refusal(population[:3], population, 0.5)
    assert reason is not None and "3 of the 4 pods" in reason
    assert share_refusal([population[4]], population, 0.5) is None  # one of one: at least one allowed
