"""The simulated platform (the stand-in for the user's agent platform) against the real sandbox:
submissions become agent pods in order on their pools and complete; the queue depth shows on
/metrics and in Prometheus; the drain rate follows the controller's ready replicas; the controller
pods' simulated CPU follows the queue depth. Each test runs its own platform process and its own
controller Deployment in a fresh namespace, and stops both."""

from __future__ import annotations

import itertools
import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client

from tests.support.cluster import wait_until
from validator.sandbox.simulated_platform.agent_pods import controller_usage
from validator.sandbox.simulated_platform.platform_process import PlatformSettings, SimulatedPlatformProcess
from validator.sandbox.usage import CPU, parse_quantity

pytestmark = pytest.mark.sandbox

CONTROLLER_LABELS = {"app.kubernetes.io/name": "workflow-controller",
                     "app.kubernetes.io/component": "controller"}
POOL_OF = {"rex": "implementation", "blaze": "implementation", "cleo": "quality", "tess": "testing"}


def _controller(namespace: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "workflow-controller", "namespace": namespace, "labels": CONTROLLER_LABELS},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": CONTROLLER_LABELS},
            "template": {
                "metadata": {"labels": CONTROLLER_LABELS},
                "spec": {"nodeSelector": {"node-pool": "system"}, "containers": [{
                    "name": "controller", "image": "ghcr.io/agent-platform/workflow-controller:1.8.2",
                    "resources": {"requests": {"cpu": "500m", "memory": "1Gi"},
                                  "limits": {"cpu": "1", "memory": "2Gi"}}}]},
            },
        },
    }


@dataclass
class Platform:
    url: str
    port: int

    def submit(self, stages: list[tuple[str, float]]) -> str:
        body = json.dumps({"size": "single-file-change",
                           "stages": [{"agent": a, "duration_s": d} for a, d in stages]}).encode()
        request = urllib.request.Request(f"{self.url}/workflows", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 202
            return str(json.loads(response.read())["id"])

    def workflow(self, workflow_id: str) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.url}/workflows/{workflow_id}", timeout=5) as response:
            return json.loads(response.read())  # type: ignore[no-any-return]

    def metrics(self) -> dict[str, float]:
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=5) as response:
            text = response.read().decode()
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
                for line in text.splitlines() if line and not line.startswith("#")}


@contextmanager
def running_platform(sandbox: Any, namespace: str, *extra: str, **settings: Any) -> Iterator[Platform]:
    """The platform as the runner starts it (SimulatedPlatformProcess), stopped gracefully at the end."""
    process = SimulatedPlatformProcess(PlatformSettings(
        kubeconfig=sandbox.kubeconfig, context=sandbox.context, namespace=namespace,
        controller_namespace=namespace, usage_interval_s=1, controller_interval_s=1,
        extra_args=("--keep-finished", "600", *extra), **settings))
    with process:
        yield Platform(url=process.url, port=process.port)
    assert set(process.stopped) >= {"submitted", "completed", "failed", "queued"}, "graceful stop"


def _scale(sandbox: Any, namespace: str, replicas: int) -> None:
    client.AppsV1Api(sandbox.api).patch_namespaced_deployment_scale(
        "workflow-controller", namespace, {"spec": {"replicas": replicas}})


def _ready_replicas(sandbox: Any, namespace: str) -> int:
    deployment = client.AppsV1Api(sandbox.api).read_namespaced_deployment("workflow-controller", namespace)
    return int(deployment.status.ready_replicas or 0)


def test_submissions_become_agent_pods_in_order_on_their_pools(sandbox: Any, namespace: str) -> None:
    apps, core = client.AppsV1Api(sandbox.api), client.CoreV1Api(sandbox.api)
    apps.create_namespaced_deployment(namespace, _controller(namespace, 1))
    wait_until("one ready controller", lambda: _ready_replicas(sandbox, namespace) == 1)
    # time factor 10: stages of 3 s, 2 s, 2 s
    with running_platform(sandbox, namespace, "--time-factor", "10",
                          "--dispatch-rate-per-replica", "1") as platform:
        ids = [platform.submit([("rex", 30), ("cleo", 20), ("tess", 20)]),
               platform.submit([("blaze", 30), ("cleo", 20), ("tess", 20)])]
        done = wait_until("both workflows completed",
                          lambda: all(platform.workflow(i)["state"] == "completed" for i in ids) and
                          [platform.workflow(i) for i in ids], timeout_s=150)
        metrics = platform.metrics()
    assert metrics["workflow_completed_total"] == 2 and metrics["workflow_failed_total"] == 0
    for workflow, implementer in zip(done, ("rex", "blaze"), strict=True):
        history = workflow["history"]
        assert [h["agent"] for h in history] == [implementer, "cleo", "tess"]
        for before, after in itertools.pairwise(history):
            assert before["succeeded_at"] <= after["created_at"], "a stage starts once the previous succeeded"
        pods = {p.metadata.name: p for p in core.list_namespaced_pod(
            namespace, label_selector=f"workflow-id={workflow['id']}").items}
        assert set(pods) == {h["pod"] for h in history}
        for pod in pods.values():
            agent = pod.metadata.labels["app.kubernetes.io/name"]
            assert pod.metadata.labels["app.kubernetes.io/component"] == "workflow-stage"
            assert pod.status.phase == "Succeeded"
            node = core.read_node(pod.spec.node_name)
            assert node.metadata.labels["node-pool"] == POOL_OF[agent] == pod.spec.node_selector["node-pool"]
            requests = pod.spec.containers[0].resources.requests
            expected = {"cpu": "1", "memory": "4Gi"} if agent == "cleo" else {"cpu": "2", "memory": "8Gi"}
            assert requests == expected


def test_queue_depth_on_metrics_and_in_prometheus(sandbox: Any, namespace: str) -> None:
    client.AppsV1Api(sandbox.api).create_namespaced_deployment(namespace, _controller(namespace, 0))
    targets = sandbox.info.targets_dir
    with running_platform(sandbox, namespace, scrape_targets_dir=targets) as platform:
        for _ in range(4):
            platform.submit([("rex", 600), ("cleo", 60), ("tess", 60)])
        time.sleep(2.0)
        assert platform.metrics()["workflow_queue_depth"] == 4, "no ready controller: nothing drains"
        assert platform.metrics()["workflow_controller_ready_replicas"] == 0
        promql = f'workflow_queue_depth{{instance="127.0.0.1:{platform.port}"}}'
        query = urllib.parse.urlencode({"query": promql})

        def scraped() -> float | None:
            url = f"{sandbox.prometheus_url}/api/v1/query?{query}"
            with urllib.request.urlopen(url, timeout=5) as response:
                result = json.loads(response.read())["data"]["result"]
            return float(result[0]["value"][1]) if result else None

        assert wait_until("Prometheus to scrape workflow_queue_depth", scraped, timeout_s=60) == 4
    assert not (targets / f"workflow-platform-{platform.port}.json").exists(), "target removed on shutdown"


def _drain_rate(platform: Platform, seconds: float) -> tuple[float, set[float]]:
    """Workflows dispatched per second over `seconds`, and the ready replicas seen meanwhile."""
    start, seen = platform.metrics(), set()
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        seen.add(platform.metrics()["workflow_controller_ready_replicas"])
        time.sleep(0.25)
    end = platform.metrics()
    elapsed = time.monotonic() - started
    key = "workflow_dispatch_latency_seconds_count"
    return (end[key] - start[key]) / elapsed, seen


def test_drain_rate_follows_ready_controller_replicas(sandbox: Any, namespace: str) -> None:
    client.AppsV1Api(sandbox.api).create_namespaced_deployment(namespace, _controller(namespace, 0))
    # 1 workflow/s per ready replica (0.1 x time factor 10); stages long enough to stay running
    with running_platform(sandbox, namespace, "--time-factor", "10", "--dispatch-rate-per-replica", "0.1",
                          "--queue-capacity", "100") as platform:
        for _ in range(40):
            platform.submit([("rex", 3000), ("cleo", 600), ("tess", 600)])
        idle, seen = _drain_rate(platform, 3.0)
        assert idle == 0 and seen == {0.0}

        _scale(sandbox, namespace, 1)
        wait_until("one ready replica seen by the platform",
                   lambda: platform.metrics()["workflow_controller_ready_replicas"] == 1)
        one, seen_one = _drain_rate(platform, 6.0)

        _scale(sandbox, namespace, 3)
        wait_until("three ready replicas seen by the platform",
                   lambda: platform.metrics()["workflow_controller_ready_replicas"] == 3)
        three, seen_three = _drain_rate(platform, 5.0)
    assert seen_one == {1.0} and seen_three == {3.0}, "sandbox nodes flapped NotReady during the test"
    assert 0.5 <= one <= 1.6
    assert 2.0 <= three <= 4.2
    assert three > 2 * one


def test_controller_cpu_annotation_follows_queue_depth(sandbox: Any, namespace: str) -> None:
    core = client.CoreV1Api(sandbox.api)
    client.AppsV1Api(sandbox.api).create_namespaced_deployment(namespace, _controller(namespace, 1))
    wait_until("one ready controller", lambda: _ready_replicas(sandbox, namespace) == 1)

    def controller_cpu() -> str | None:
        selector = "app.kubernetes.io/component=controller"
        pods = core.list_namespaced_pod(namespace, label_selector=selector).items
        values = {(p.metadata.annotations or {}).get(CPU) for p in pods if p.status.phase == "Running"}
        return values.pop() if len(values) == 1 else None

    # a drain so slow that the queue stays put (one workflow per 1000 s)
    with running_platform(sandbox, namespace, "--dispatch-rate-per-replica", "0.001") as platform:
        idle = controller_usage(0, 1)[0]
        assert wait_until(f"controller cpu {idle} with an empty queue", lambda: controller_cpu() == idle)
        for _ in range(15):
            platform.submit([("rex", 600), ("cleo", 60), ("tess", 60)])
        busy = controller_usage(15, 1)[0]
        assert wait_until(f"controller cpu {busy} with 15 queued", lambda: controller_cpu() == busy,
                          timeout_s=30)
        assert platform.metrics()["workflow_queue_depth"] == 15
    assert parse_quantity(busy) > 0.7 * 0.5, "above the HPA's 70% of the 500m request"


def test_a_deleted_agent_pod_is_recreated(sandbox: Any, namespace: str) -> None:
    core = client.CoreV1Api(sandbox.api)
    client.AppsV1Api(sandbox.api).create_namespaced_deployment(namespace, _controller(namespace, 1))
    wait_until("one ready controller", lambda: _ready_replicas(sandbox, namespace) == 1)
    with running_platform(sandbox, namespace, "--dispatch-rate-per-replica", "1") as platform:
        workflow_id = platform.submit([("rex", 3000), ("cleo", 60), ("tess", 60)])
        first = wait_until("the rex pod", lambda: platform.workflow(workflow_id)["pod"])
        core.delete_namespaced_pod(first, namespace, grace_period_seconds=0)
        second = wait_until("a new rex pod",
                            lambda: (p := platform.workflow(workflow_id)["pod"]) != first and p)
        assert second.endswith("-s0-a2")
        assert platform.metrics()["workflow_stage_retries_total"] == 1
        assert platform.workflow(workflow_id)["state"] == "running"


def test_a_new_platform_deletes_the_stage_pods_an_earlier_one_left(sandbox: Any, namespace: str) -> None:
    """`sandbox deploy` starts a new stand-in: the workflows of the run before must not work on."""
    core = client.CoreV1Api(sandbox.api)
    client.AppsV1Api(sandbox.api).create_namespaced_deployment(namespace, _controller(namespace, 1))
    wait_until("one ready controller", lambda: _ready_replicas(sandbox, namespace) == 1)
    with running_platform(sandbox, namespace, "--dispatch-rate-per-replica", "1") as first:
        workflow_id = first.submit([("rex", 3000), ("cleo", 60), ("tess", 60)])
        left = wait_until("the rex pod", lambda: first.workflow(workflow_id)["pod"])
    assert core.read_namespaced_pod(left, namespace).metadata.deletion_timestamp is None, (
        "stopping a stand-in deletes nothing")
    with running_platform(sandbox, namespace, "--dispatch-rate-per-replica", "1") as second:
        def gone() -> bool:
            try:
                core.read_namespaced_pod(left, namespace)
            except client.ApiException as error:
                return error.status == 404
            return False

        wait_until("the earlier stand-in's pod deleted", gone)
        assert second.metrics()["workflow_submitted_total"] == 0


def test_agent_usage_moves_and_the_stage_still_ends_on_time(sandbox: Any, namespace: str) -> None:
    """kwok restarts complete-after on every change of the pod: the platform's usage patches must
    not postpone the end of a stage."""
    core = client.CoreV1Api(sandbox.api)
    client.AppsV1Api(sandbox.api).create_namespaced_deployment(namespace, _controller(namespace, 1))
    wait_until("one ready controller", lambda: _ready_replicas(sandbox, namespace) == 1)
    with running_platform(sandbox, namespace, "--time-factor", "10",
                          "--dispatch-rate-per-replica", "1") as platform:
        workflow_id = platform.submit([("rex", 120), ("cleo", 10), ("tess", 10)])  # a 12 s first stage
        pod = wait_until("the first stage's pod", lambda: platform.workflow(workflow_id)["pod"])
        seen: set[str] = set()

        def first_stage_done() -> bool:
            current = core.read_namespaced_pod(pod, namespace)
            seen.add((current.metadata.annotations or {}).get(CPU, ""))
            return bool(current.status.phase == "Succeeded")

        wait_until("the first stage to succeed", first_stage_done, timeout_s=40, interval_s=0.5)
        history = platform.workflow(workflow_id)["history"]
    took = history[0]["succeeded_at"] - history[0]["created_at"]
    assert len(seen - {""}) >= 3, "usage was updated while the stage ran"
    for value in seen - {""}:
        assert 0.2 * 2 <= parse_quantity(value) <= 4.0
    assert 11.0 <= took <= 22.0, f"a 12 s stage took {took:.1f}s"


def test_a_real_hpa_scales_the_controller_on_the_simulated_cpu(sandbox: Any, namespace: str) -> None:
    """Queue depth -> controller pods' simulated CPU -> metrics-server -> the HPA -> more replicas
    -> a faster drain: the loop the nightly suite relies on."""
    client.AppsV1Api(sandbox.api).create_namespaced_deployment(namespace, _controller(namespace, 1))
    wait_until("one ready controller", lambda: _ready_replicas(sandbox, namespace) == 1)
    hpa = {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "workflow-controller", "namespace": namespace},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "workflow-controller"},
            "minReplicas": 1, "maxReplicas": 3,
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}],
            "behavior": {"scaleUp": {"stabilizationWindowSeconds": 0}},
        },
    }
    client.AutoscalingV2Api(sandbox.api).create_namespaced_horizontal_pod_autoscaler(namespace, hpa)
    with running_platform(sandbox, namespace, "--dispatch-rate-per-replica", "0.001") as platform:
        for _ in range(30):
            platform.submit([("rex", 600), ("cleo", 60), ("tess", 60)])

        def pod_metrics() -> list[Any]:
            listing = client.CustomObjectsApi(sandbox.api).list_namespaced_custom_object(
                "metrics.k8s.io", "v1beta1", namespace, "pods")
            return list(listing.get("items") or [])

        wait_until("metrics.k8s.io to serve the controller pod's CPU (the sandbox's metrics-server; "
                   "without it no HPA can see simulated usage)", pod_metrics, timeout_s=60, interval_s=2)
        wait_until("the HPA to scale the controller up",
                   lambda: _ready_replicas(sandbox, namespace) >= 2, timeout_s=120, interval_s=2)
        wait_until("the platform to see the new replicas",
                   lambda: platform.metrics()["workflow_controller_ready_replicas"] >= 2, timeout_s=20)


def test_a_full_quota_delays_stages_without_failing_workflows(sandbox: Any, namespace: str) -> None:
    """The platform's ResourceQuota caps concurrent agent pods: the next stage waits for room."""
    core = client.CoreV1Api(sandbox.api)
    client.AppsV1Api(sandbox.api).create_namespaced_deployment(namespace, _controller(namespace, 1))
    wait_until("one ready controller", lambda: _ready_replicas(sandbox, namespace) == 1)
    core.create_namespaced_resource_quota(namespace, {
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "agents"},
        "spec": {"hard": {"requests.cpu": "3"}}})  # one 2-CPU agent pod besides the controller's 0.5
    with running_platform(sandbox, namespace, "--time-factor", "10",
                          "--dispatch-rate-per-replica", "1") as platform:
        ids = [platform.submit([("rex", 40), ("cleo", 20), ("tess", 20)]) for _ in range(2)]
        wait_until("a pod creation refused by the quota",
                   lambda: platform.metrics().get('workflow_pod_create_errors_total{reason="quota"}', 0) >= 1,
                   timeout_s=30)
        wait_until("both workflows completed despite the quota",
                   lambda: all(platform.workflow(i)["state"] == "completed" for i in ids), timeout_s=150)
        assert platform.metrics()["workflow_failed_total"] == 0


def _standing_agent(name: str, claim: str | None, annotations: dict[str, str]) -> dict[str, Any]:
    """A pod as the platform's StatefulSets make them: an agent, not one of the platform's own."""
    spec: dict[str, Any] = {
        "nodeSelector": {"node-pool": "testing"},
        "containers": [{"name": "agent", "image": "ghcr.io/agent-platform/agent-runtime:1.8.2",
                        "resources": {"requests": {"cpu": "2", "memory": "8Gi"},
                                      "limits": {"cpu": "4", "memory": "16Gi"}}}],
    }
    if claim:
        spec["volumes"] = [{"name": "workspace", "persistentVolumeClaim": {"claimName": claim}}]
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations, "labels": {
            "app.kubernetes.io/name": "tess", "app.kubernetes.io/component": "agent",
            "agent-platform.io/agent-class": "testing"}},
        "spec": spec,
    }


def test_standing_agents_get_usage_and_a_workspace_but_never_under_an_experiment(
    sandbox: Any, namespace: str
) -> None:
    """The StatefulSets' replicas work like stage pods (the profile's usage) and fill their
    workspace claim to about 65%, which Prometheus sees as kubelet volume stats; a pod a chaos
    experiment holds keeps the experiment's values."""
    core = client.CoreV1Api(sandbox.api)
    claim, volume = "workspace-tess-0", f"{namespace}-workspace"
    core.create_persistent_volume({
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": volume},
        "spec": {"capacity": {"storage": "50Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "",
                 "claimRef": {"namespace": namespace, "name": claim},
                 "hostPath": {"path": f"/tmp/{volume}"}}})
    try:
        core.create_namespaced_persistent_volume_claim(namespace, {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": claim},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "", "volumeName": volume,
                     "resources": {"requests": {"storage": "50Gi"}}}})
        core.create_namespaced_pod(namespace, _standing_agent("tess-0", claim, {}))
        held = {"validator.io/run-id": "nightly-test", CPU: "123m", "sim.validator.io/memory": "15Gi"}
        core.create_namespaced_pod(namespace, _standing_agent("tess-1", None, held))
        with running_platform(sandbox, namespace):
            def annotations(name: str) -> dict[str, str]:
                pod = core.read_namespaced_pod(name, namespace)
                return dict(pod.metadata.annotations or {}) if pod.status.phase == "Running" else {}

            written = wait_until("usage and workspace annotations on the standing agent",
                                 lambda: (a := annotations("tess-0")).get("sim.validator.io/pvc") and a,
                                 timeout_s=60)
            assert written["sim.validator.io/pvc"] == claim
            assert written["sim.validator.io/pvc-capacity"] == "50Gi"
            fill = parse_quantity(written["sim.validator.io/pvc-used"]) / parse_quantity("50Gi")
            assert 0.5 <= fill <= 0.8
            assert 0.4 <= parse_quantity(written[CPU]) <= 3.2  # 20-160% of the 2-CPU request

            selector = f'namespace="{namespace}",persistentvolumeclaim="{claim}"'
            promql = f"kubelet_volume_stats_used_bytes{{{selector}}}"
            query = urllib.parse.urlencode({"query": promql})

            def scraped() -> float | None:
                with urllib.request.urlopen(f"{sandbox.prometheus_url}/api/v1/query?{query}", timeout=5) as r:
                    result = json.loads(r.read())["data"]["result"]
                return float(result[0]["value"][1]) if result else None

            used = wait_until("Prometheus to scrape the workspace's used bytes", scraped, timeout_s=90)
            assert 0.5 <= used / parse_quantity("50Gi") <= 0.8
            time.sleep(3.0)  # three usage intervals of the platform
            assert all(annotations("tess-1").get(k) == v for k, v in held.items()), "held pod untouched"
    finally:
        core.delete_persistent_volume(volume, grace_period_seconds=0)
