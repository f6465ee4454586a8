"""The sandbox's fake nodes: pools that mirror the brief (implementation, quality, testing agents,
and a system pool for controllers), with realistic capacity. Pure: builds manifests only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from validator.errors import ConfigError

POOL_LABEL = "node-pool"
MIN_PER_POOL = 2  # so one node of every pool can be drained without emptying it


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolSpec:
    name: str
    share: float
    cpu: str
    memory: str
    pods: str = "110"


POOLS = (
    PoolSpec(name="implementation", share=0.4, cpu="16", memory="64Gi"),
    PoolSpec(name="quality", share=0.2, cpu="16", memory="64Gi"),
    PoolSpec(name="testing", share=0.2, cpu="16", memory="64Gi"),
    PoolSpec(name="system", share=0.2, cpu="8", memory="32Gi"),
)


def plan_pools(total: int) -> dict[str, int]:
    """How many nodes each pool gets out of `total` (at least MIN_PER_POOL each)."""
    minimum = MIN_PER_POOL * len(POOLS)
    if total < minimum:
        raise ConfigError(
            f"--nodes {total} is too few: every pool needs at least {MIN_PER_POOL} nodes",
            where="validator sandbox up --nodes",
            fix=f"use --nodes {minimum} or more",
        )
    counts = {p.name: max(MIN_PER_POOL, int(total * p.share)) for p in POOLS}
    # hand out (or take back) the remainder, largest share first
    order = sorted(POOLS, key=lambda p: -p.share)
    i = 0
    while sum(counts.values()) != total:
        pool = order[i % len(order)].name
        if sum(counts.values()) < total:
            counts[pool] += 1
        elif counts[pool] > MIN_PER_POOL:
            counts[pool] -= 1
        i += 1
    return counts


def node_manifests(plan: dict[str, int]) -> list[dict[str, Any]]:
    specs = {p.name: p for p in POOLS}
    nodes = []
    for pool, count in plan.items():
        spec = specs[pool]
        resources = {"cpu": spec.cpu, "memory": spec.memory, "pods": spec.pods, "ephemeral-storage": "200Gi"}
        for index in range(1, count + 1):
            name = f"{pool}-{index}"
            nodes.append(
                {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {
                        "name": name,
                        "labels": {
                            POOL_LABEL: pool,
                            "type": "kwok",
                            "kubernetes.io/hostname": name,
                            "kubernetes.io/os": "linux",
                            "kubernetes.io/arch": "amd64",
                            "node.kubernetes.io/instance-type": f"sim-{spec.cpu}cpu-{spec.memory.lower()}",
                        },
                        "annotations": {
                            "kwok.x-k8s.io/node": "fake",
                            "node.alpha.kubernetes.io/ttl": "0",
                            # metrics-server asks kwok for this node's kubelet-style resource metrics here
                            "metrics.k8s.io/resource-metrics-path": f"/metrics/nodes/{name}/metrics/resource",
                        },
                    },
                    "spec": {},
                    "status": {
                        "capacity": dict(resources),
                        "allocatable": dict(resources),
                        # loopback only: metrics-server reaches kwok's kubelet endpoint here, nothing else
                        "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                    },
                }
            )
    return nodes
