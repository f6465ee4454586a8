from __future__ import annotations

import pytest

from validator.errors import ConfigError
from validator.sandbox.node_pools import MIN_PER_POOL, POOL_LABEL, node_manifests, plan_pools


@pytest.mark.parametrize(("total", "expected"), [
    (8, {"implementation": 2, "quality": 2, "testing": 2, "system": 2}),
    (10, {"implementation": 4, "quality": 2, "testing": 2, "system": 2}),
    (100, {"implementation": 40, "quality": 20, "testing": 20, "system": 20}),
    (1000, {"implementation": 400, "quality": 200, "testing": 200, "system": 200}),
    (13, {"implementation": 6, "quality": 3, "testing": 2, "system": 2}),
], ids=["minimum", "default", "hundred", "thousand", "remainder"])
def test_plan_pools_splits_nodes_by_share_with_a_floor(total: int, expected: dict[str, int]) -> None:
    plan = plan_pools(total)
    assert sum(plan.values()) == total
    assert all(count >= MIN_PER_POOL for count in plan.values())
    assert plan == expected


def test_too_few_nodes_names_the_flag_and_the_fix() -> None:
    with pytest.raises(ConfigError) as err:
        plan_pools(5)
    assert "--nodes 5" in str(err.value) and "--nodes 8" in str(err.value)


def test_node_manifests_carry_pool_label_capacity_loopback_address_and_metrics_path() -> None:
    nodes = node_manifests({"system": 2})
    assert [n["metadata"]["name"] for n in nodes] == ["system-1", "system-2"]
    node = nodes[0]
    assert node["metadata"]["labels"][POOL_LABEL] == "system"
    assert node["metadata"]["annotations"]["kwok.x-k8s.io/node"] == "fake"
    assert node["metadata"]["annotations"]["metrics.k8s.io/resource-metrics-path"] == \
        "/metrics/nodes/system-1/metrics/resource"
    assert node["status"]["allocatable"]["cpu"] == "8"
    assert node["status"]["addresses"] == [{"type": "InternalIP", "address": "127.0.0.1"}]
