"""kwok renews each node's lease every quarter of its duration. Up to 200 nodes the sandbox keeps
Kubernetes' 40 s lease and node-monitor grace period; a bigger sandbox gets longer ones, so that the
renewals stay at 20 a second and a kwok that falls behind on 2 loaded cores does not turn healthy
nodes Unknown (docs/sandbox-contract.md, "At 1,000 nodes")."""

from __future__ import annotations

from pathlib import Path

import pytest

from validator.sandbox.kwokctl_driver import NODE_LEASE_RENEWALS_PER_S, kwokctl_config, node_lease_duration_s

BINS = {
    name: Path(f"/bin/{name}")
    for name in (
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubectl",
        "etcd",
        "kwok",
        "metrics-server",
    )
}


@pytest.mark.parametrize(
    ("nodes", "lease_s"), [(0, 40), (10, 40), (200, 40), (201, 44), (1000, 200), (5000, 1000)]
)
def test_the_lease_is_kubernetes_default_up_to_200_nodes_then_grows(nodes: int, lease_s: int) -> None:
    assert node_lease_duration_s(nodes) == lease_s


@pytest.mark.parametrize("nodes", [10, 200, 1000, 5000])
def test_renewals_stay_within_the_rate_at_any_size(nodes: int) -> None:
    renew_every_s = node_lease_duration_s(nodes) / 4  # kwok's renew interval
    assert nodes / renew_every_s <= NODE_LEASE_RENEWALS_PER_S


@pytest.mark.parametrize("timing", ["compressed", "production"])
def test_kwokctl_gets_the_lease_and_a_grace_period_as_long(timing: str) -> None:
    options = kwokctl_config(timing, BINS, nodes=1000)["options"]  # type: ignore[arg-type]
    assert options["nodeLeaseDurationSeconds"] == 200
    assert options["kubeControllerManagerNodeMonitorGracePeriodMilliseconds"] == 200_000
    small = kwokctl_config(timing, BINS, nodes=10)["options"]  # type: ignore[arg-type]
    assert small["nodeLeaseDurationSeconds"] == 40
    assert small["kubeControllerManagerNodeMonitorGracePeriodMilliseconds"] == 40_000
