"""The sandbox behaves like a real cluster: scheduling, budgets, drain, quotas, priorities, HPA, OOM.

Each test runs against the real local control plane (kube-apiserver, controller-manager,
scheduler, etcd; kwok nodes), in its own namespace. Tests that need a pool to themselves create
their own fake nodes with a unique pool label and delete them afterwards.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.support.cluster import Sandbox, wait_until
from validator.sandbox.node_pools import POOL_LABEL, node_manifests
from validator.sandbox.usage import OOM_KILL, usage_patch

pytestmark = pytest.mark.sandbox


def _deployment(
    name: str,
    replicas: int,
    *,
    pool: str | None = None,
    labels: dict[str, str] | None = None,
    cpu: str = "100m",
    memory: str = "128Mi",
    annotations: dict[str, str] | None = None,
    priority_class: str | None = None,
) -> dict[str, Any]:
    pod_labels = {"app": name, **(labels or {})}
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": "main",
                "image": "registry.invalid/sim:1",
                "resources": {
                    "requests": {"cpu": cpu, "memory": memory},
                    "limits": {"cpu": cpu, "memory": memory},
                },
            }
        ],
        "terminationGracePeriodSeconds": 0,
    }
    if pool:
        spec["nodeSelector"] = {POOL_LABEL: pool}
    if priority_class:
        spec["priorityClassName"] = priority_class
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": pod_labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": pod_labels, "annotations": annotations or {}}, "spec": spec},
        },
    }


def _hpa(name: str, *, minimum: int, maximum: int, metric: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": minimum,
            "maxReplicas": maximum,
            "metrics": [metric],
        },
    }


def _cpu_utilization(percent: int) -> dict[str, Any]:
    return {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": percent}},
    }


def _external_average(metric: str, value: str) -> dict[str, Any]:
    return {
        "type": "External",
        "external": {"metric": {"name": metric}, "target": {"type": "AverageValue", "averageValue": value}},
    }


def _ready_pods(sandbox: Sandbox, namespace: str, selector: str) -> list[Any]:
    pods = sandbox.core.list_namespaced_pod(namespace, label_selector=selector).items
    return [
        p
        for p in pods
        if p.metadata.deletion_timestamp is None
        and any(c.type == "Ready" and c.status == "True" for c in (p.status.conditions or []))
    ]


@pytest.fixture
def private_pool(sandbox: Sandbox) -> Iterator[tuple[str, list[str]]]:
    """Two fake nodes (16 CPU, 64 GiB each) in a pool of their own."""
    pool = f"p{uuid.uuid4().hex[:6]}"
    manifests = node_manifests({"implementation": 2})
    names = []
    for index, manifest in enumerate(manifests, start=1):
        manifest["metadata"]["name"] = f"{pool}-{index}"
        manifest["metadata"]["labels"][POOL_LABEL] = pool
        manifest["metadata"]["labels"]["kubernetes.io/hostname"] = manifest["metadata"]["name"]
        manifest["metadata"]["annotations"]["metrics.k8s.io/resource-metrics-path"] = (
            f"/metrics/nodes/{manifest['metadata']['name']}/metrics/resource"
        )
        sandbox.core.create_node(manifest)
        names.append(manifest["metadata"]["name"])

    def schedulable(name: str) -> bool:
        # Ready is not enough: the node lifecycle controller removes its not-ready taint a moment
        # after the node reports Ready, and the scheduler skips the node until it has.
        node = sandbox.core.read_node(name)
        ready = any(c.type == "Ready" and c.status == "True" for c in (node.status.conditions or []))
        blocking = [t for t in (node.spec.taints or []) if t.effect in ("NoSchedule", "NoExecute")]
        return ready and not blocking

    wait_until(
        "private pool nodes Ready and untainted", lambda: all(schedulable(n) for n in names), timeout_s=60
    )
    try:
        yield pool, names
    finally:
        for name in names:
            try:
                sandbox.core.delete_node(name)
            except ApiException as exc:
                if exc.status != 404:
                    raise


def test_deployment_pods_land_on_their_pool_and_become_ready(sandbox: Sandbox, namespace: str) -> None:
    sandbox.apps.create_namespaced_deployment(namespace, _deployment("cleo", 3, pool="quality"))
    pods = wait_until(
        "3 Ready cleo pods",
        lambda: (
            len(_ready_pods(sandbox, namespace, "app=cleo")) == 3
            and _ready_pods(sandbox, namespace, "app=cleo")
        ),
        timeout_s=60,
    )
    pools = {sandbox.core.read_node(p.spec.node_name).metadata.labels[POOL_LABEL] for p in pods}
    assert pools == {"quality"}


def _evict(sandbox: Sandbox, namespace: str, pod: str, dry_run: bool = False) -> int:
    body = client.V1Eviction(
        metadata=client.V1ObjectMeta(name=pod, namespace=namespace),
        delete_options=client.V1DeleteOptions(dry_run=["All"] if dry_run else None),
    )
    try:
        sandbox.core.create_namespaced_pod_eviction(pod, namespace, body)
    except ApiException as exc:
        return int(exc.status)
    return 201


def test_eviction_is_refused_by_a_budget_that_allows_none_and_allowed_once_it_does(
    sandbox: Sandbox, namespace: str
) -> None:
    sandbox.apps.create_namespaced_deployment(namespace, _deployment("ctrl", 2, pool="system"))
    wait_until("2 Ready pods", lambda: len(_ready_pods(sandbox, namespace, "app=ctrl")) == 2)
    policy = client.PolicyV1Api(sandbox.api)
    policy.create_namespaced_pod_disruption_budget(
        namespace,
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "ctrl-pdb"},
            "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "ctrl"}}},
        },
    )
    wait_until(
        "the budget observed",
        lambda: (
            policy.read_namespaced_pod_disruption_budget("ctrl-pdb", namespace).status.observed_generation
            == 1
        ),
    )
    pod = _ready_pods(sandbox, namespace, "app=ctrl")[0].metadata.name

    assert _evict(sandbox, namespace, pod, dry_run=True) == 429
    assert _evict(sandbox, namespace, pod) == 429
    assert sandbox.core.read_namespaced_pod(pod, namespace).metadata.deletion_timestamp is None

    policy.patch_namespaced_pod_disruption_budget("ctrl-pdb", namespace, {"spec": {"minAvailable": 1}})
    wait_until(
        "the budget to allow one disruption",
        lambda: (
            policy.read_namespaced_pod_disruption_budget("ctrl-pdb", namespace).status.disruptions_allowed
            == 1
        ),
    )
    assert _evict(sandbox, namespace, pod, dry_run=True) == 201
    assert sandbox.core.read_namespaced_pod(pod, namespace).metadata.deletion_timestamp is None  # dry run
    assert _evict(sandbox, namespace, pod) == 201


def test_kubectl_drain_evicts_pods_and_they_are_rescheduled_elsewhere(
    sandbox: Sandbox, namespace: str, private_pool: tuple[str, list[str]]
) -> None:
    pool, nodes = private_pool
    sandbox.apps.create_namespaced_deployment(namespace, _deployment("rex", 4, pool=pool))
    wait_until("4 Ready rex pods", lambda: len(_ready_pods(sandbox, namespace, "app=rex")) == 4)
    placed = _ready_pods(sandbox, namespace, "app=rex")
    # Drain whichever node holds pods (the scheduler usually spreads them, but need not).
    target = placed[0].spec.node_name
    other = next(n for n in nodes if n != target)
    on_target = {p.metadata.name for p in placed if p.spec.node_name == target}
    proc = subprocess.run(
        [
            sandbox.info.kubectl,
            "--kubeconfig",
            str(sandbox.kubeconfig),
            "--context",
            sandbox.context,
            "drain",
            target,
            "--ignore-daemonsets",
            "--delete-emptydir-data",
            "--timeout=60s",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert sandbox.core.read_node(target).spec.unschedulable is True

    def rescheduled() -> bool:
        pods = _ready_pods(sandbox, namespace, "app=rex")
        return len(pods) == 4 and all(p.spec.node_name == other for p in pods)

    wait_until("4 Ready pods, all on the other node", rescheduled, timeout_s=60)
    remaining = {p.metadata.name for p in _ready_pods(sandbox, namespace, "app=rex")}
    assert not (on_target & remaining), "the drained node's pods were evicted and replaced"


def test_resource_quota_rejects_a_pod_over_quota_and_limit_range_fills_defaults(
    sandbox: Sandbox, namespace: str
) -> None:
    sandbox.core.create_namespaced_limit_range(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "LimitRange",
            "metadata": {"name": "defaults"},
            "spec": {
                "limits": [
                    {
                        "type": "Container",
                        "default": {"cpu": "500m", "memory": "512Mi"},
                        "defaultRequest": {"cpu": "250m", "memory": "256Mi"},
                    }
                ]
            },
        },
    )
    sandbox.core.create_namespaced_resource_quota(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "small"},
            "spec": {"hard": {"requests.cpu": "1", "limits.cpu": "2", "pods": "5"}},
        },
    )
    wait_until(
        "the quota's status",
        lambda: sandbox.core.read_namespaced_resource_quota("small", namespace).status.hard,
    )
    plain = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "plain"},
        "spec": {"containers": [{"name": "c", "image": "registry.invalid/sim:1"}]},
    }
    created = sandbox.core.create_namespaced_pod(namespace, plain)
    resources = created.spec.containers[0].resources
    assert resources.requests == {"cpu": "250m", "memory": "256Mi"}
    assert resources.limits == {"cpu": "500m", "memory": "512Mi"}

    big = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "big"},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "registry.invalid/sim:1",
                    "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "2"}},
                }
            ]
        },
    }
    with pytest.raises(ApiException) as refused:
        sandbox.core.create_namespaced_pod(namespace, big)
    assert refused.value.status == 403
    assert "exceeded quota" in refused.value.body


def test_a_higher_priority_pod_preempts_a_lower_one_on_a_full_pool(
    sandbox: Sandbox, namespace: str, private_pool: tuple[str, list[str]]
) -> None:
    pool, _nodes = private_pool
    scheduling = client.SchedulingV1Api(sandbox.api)
    low, high = f"low-{namespace}", f"high-{namespace}"
    scheduling.create_priority_class(
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": low},
            "value": 100,
        }
    )
    scheduling.create_priority_class(
        {
            "apiVersion": "scheduling.k8s.io/v1",
            "kind": "PriorityClass",
            "metadata": {"name": high},
            "value": 100000,
        }
    )
    try:
        sandbox.apps.create_namespaced_deployment(
            namespace, _deployment("cleo", 2, pool=pool, cpu="12", memory="8Gi", priority_class=low)
        )
        wait_until(
            "the pool full of low-priority pods",
            lambda: len(_ready_pods(sandbox, namespace, "app=cleo")) == 2,
        )
        victims = {p.metadata.name for p in _ready_pods(sandbox, namespace, "app=cleo")}
        sandbox.apps.create_namespaced_deployment(
            namespace, _deployment("tess", 1, pool=pool, cpu="12", memory="8Gi", priority_class=high)
        )
        wait_until(
            "the high-priority pod Ready",
            lambda: len(_ready_pods(sandbox, namespace, "app=tess")) == 1,
            timeout_s=90,
        )
        survivors = {p.metadata.name for p in _ready_pods(sandbox, namespace, "app=cleo")}
        assert len(victims - survivors) == 1, "exactly one low-priority pod was preempted"
        events = sandbox.core.list_namespaced_event(namespace).items
        assert any(e.reason == "Preempted" for e in events)
    finally:
        scheduling.delete_priority_class(low)
        scheduling.delete_priority_class(high)


def test_raising_simulated_cpu_above_the_hpa_target_raises_desired_replicas(
    sandbox: Sandbox, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox.apps.create_namespaced_deployment(
        namespace,
        _deployment(
            "wc", 2, pool="system", cpu="1", memory="1Gi", annotations={"sim.validator.io/cpu": "300m"}
        ),
    )
    wait_until("2 Ready pods", lambda: len(_ready_pods(sandbox, namespace, "app=wc")) == 2)
    autoscaling = client.AutoscalingV2Api(sandbox.api)
    autoscaling.create_namespaced_horizontal_pod_autoscaler(
        namespace,
        _hpa("wc", minimum=2, maximum=6, metric=_cpu_utilization(50)),
    )

    def hpa_reads_cpu() -> bool:
        status = autoscaling.read_namespaced_horizontal_pod_autoscaler("wc", namespace).status
        return any(
            m.resource is not None and m.resource.current.average_utilization is not None
            for m in status.current_metrics or []
        )

    wait_until("the HPA to read CPU from metrics-server", hpa_reads_cpu, timeout_s=120)
    status = autoscaling.read_namespaced_horizontal_pod_autoscaler("wc", namespace).status
    assert status.desired_replicas == 2  # 30% of requests: below target, stays at the minimum

    # raise the usage of the running pods (as the simulated platform does, its CPU counter kept
    # continuous): no rollout, no new pods
    raised_at = time.monotonic()
    for pod in _ready_pods(sandbox, namespace, "app=wc"):
        current = sandbox.api.sanitize_for_serialization(pod)
        sandbox.core.patch_namespaced_pod(pod.metadata.name, namespace, usage_patch(current, cpu="900m"))

    def scaled_up() -> bool:
        nonlocal last_status
        hpa = autoscaling.read_namespaced_horizontal_pod_autoscaler("wc", namespace)
        last_status = client.ApiClient().sanitize_for_serialization(hpa.status)
        return (hpa.status.desired_replicas or 0) > 2

    last_status: Any = None
    try:
        wait_until("desired replicas above 2", scaled_up, timeout_s=180, interval_s=0.25)
    except BaseException:
        pods = [
            (p.metadata.name, p.metadata.annotations, p.status.phase)
            for p in sandbox.core.list_namespaced_pod(namespace).items
        ]
        print(f"HPA status: {last_status}\npods: {pods}")
        raise
    took = time.monotonic() - raised_at
    with capsys.disabled():
        print(
            f"\n[sandbox] HPA raised desired replicas {took:.1f}s after simulated CPU rose to 90% of requests"
        )


def _prometheus_query(sandbox: Sandbox, promql: str) -> list[dict[str, Any]]:
    url = f"{sandbox.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.load(resp)
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def test_oom_stage_reports_oomkilled_through_the_api_and_kube_state_metrics(
    sandbox: Sandbox, namespace: str
) -> None:
    sandbox.apps.create_namespaced_deployment(
        namespace,
        _deployment(
            "tess",
            1,
            pool="testing",
            memory="2Gi",
            labels={"app.kubernetes.io/name": "tess"},
            annotations={"sim.validator.io/memory": "1Gi"},
        ),
    )
    pod = wait_until("a Ready tess pod", lambda: _ready_pods(sandbox, namespace, "app=tess"))[0].metadata.name
    sandbox.core.patch_namespaced_pod(pod, namespace, {"metadata": {"annotations": {OOM_KILL: "1"}}})

    def killed() -> Any:
        status = sandbox.core.read_namespaced_pod(pod, namespace).status.container_statuses[0]
        return status if status.restart_count == 1 else None

    status = wait_until("the container OOM-killed once", killed, timeout_s=30)
    assert status.last_state.terminated.reason == "OOMKilled"
    assert status.last_state.terminated.exit_code == 137
    assert status.state.running is not None
    annotations = sandbox.core.read_namespaced_pod(pod, namespace).metadata.annotations or {}
    assert OOM_KILL not in annotations, "the stage consumes its trigger"

    selector = f'namespace="{namespace}",pod="{pod}"'
    wait_until(
        "kube-state-metrics' OOMKilled reason in Prometheus",
        lambda: _prometheus_query(
            sandbox, f'kube_pod_container_status_last_terminated_reason{{{selector},reason="OOMKilled"}} == 1'
        ),
        timeout_s=60,
    )
    restarts = wait_until(
        "the restart in Prometheus",
        lambda: _prometheus_query(sandbox, f"kube_pod_container_status_restarts_total{{{selector}}} == 1"),
        timeout_s=60,
    )
    assert restarts[0]["metric"]["container"] == "main"


STANDARD_SERIES = [
    # criteria.md's standard names, each with a selector that must return data
    "container_cpu_usage_seconds_total{{namespace='{ns}'}}",
    "container_memory_working_set_bytes{{namespace='{ns}'}}",
    "container_cpu_cfs_periods_total{{namespace='{ns}'}}",
    "container_cpu_cfs_throttled_periods_total{{namespace='{ns}'}}",
    "kube_pod_container_resource_requests{{namespace='{ns}',resource='cpu'}}",
    "kube_pod_container_resource_limits{{namespace='{ns}',resource='memory'}}",
    "kube_pod_labels{{namespace='{ns}',label_app_kubernetes_io_name='rex'}}",
    "kube_pod_container_status_restarts_total{{namespace='{ns}'}}",
    "kube_pod_container_status_last_terminated_reason{{namespace='{ns}'}}",
    "kubelet_volume_stats_used_bytes{{namespace='{ns}',persistentvolumeclaim='workspace-rex'}}",
    "kubelet_volume_stats_capacity_bytes{{namespace='{ns}',persistentvolumeclaim='workspace-rex'}}",
    "kube_deployment_status_replicas_available{{namespace='{ns}'}}",
    "kube_horizontalpodautoscaler_status_desired_replicas{{namespace='{ns}'}}",
    "kube_horizontalpodautoscaler_spec_target_metric{{namespace='{ns}'}}",
    "kube_horizontalpodautoscaler_status_target_metric{{namespace='{ns}'}}",
    "kube_poddisruptionbudget_status_pod_disruptions_allowed{{namespace='{ns}'}}",
    "kube_resourcequota{{namespace='{ns}'}}",
    "ALERTS{{alertstate='firing'}}",
]


def test_prometheus_answers_with_data_for_every_standard_series(sandbox: Sandbox, namespace: str) -> None:
    sandbox.apps.create_namespaced_deployment(
        namespace,
        _deployment(
            "rex",
            2,
            pool="implementation",
            cpu="2",
            memory="8Gi",
            labels={"app.kubernetes.io/name": "rex"},
            annotations={
                "sim.validator.io/cpu": "1500m",
                "sim.validator.io/memory": "6Gi",
                "sim.validator.io/cpu-throttled-ratio": "0.01",
                "sim.validator.io/pvc": "workspace-rex",
                "sim.validator.io/pvc-capacity": "10Gi",
                "sim.validator.io/pvc-used": "6Gi",
            },
        ),
    )
    client.AutoscalingV2Api(sandbox.api).create_namespaced_horizontal_pod_autoscaler(
        namespace,
        _hpa("rex", minimum=2, maximum=3, metric=_cpu_utilization(70)),
    )
    client.PolicyV1Api(sandbox.api).create_namespaced_pod_disruption_budget(
        namespace,
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "rex"},
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": {"app": "rex"}}},
        },
    )
    sandbox.core.create_namespaced_resource_quota(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "agents"},
            "spec": {"hard": {"requests.cpu": "20", "requests.memory": "80Gi", "pods": "20"}},
        },
    )
    pods = wait_until(
        "2 Ready rex pods",
        lambda: (
            len(_ready_pods(sandbox, namespace, "app=rex")) == 2
            and _ready_pods(sandbox, namespace, "app=rex")
        ),
    )
    # one OOM kill, so that the last-terminated-reason series exists
    sandbox.core.patch_namespaced_pod(
        pods[0].metadata.name, namespace, {"metadata": {"annotations": {OOM_KILL: "1"}}}
    )

    deadline = time.monotonic() + 120
    pending = [s.format(ns=namespace) for s in STANDARD_SERIES]
    while pending and time.monotonic() < deadline:
        pending = [q for q in pending if not _prometheus_query(sandbox, q)]
        if pending:
            time.sleep(2)
    assert not pending, f"Prometheus has no data for: {pending}"

    # and the values are the simulated ones: usage 1.5 CPU and 6 GiB per pod, PVC at 60 %
    rate = _prometheus_query(
        sandbox, f"sum(rate(container_cpu_usage_seconds_total{{namespace='{namespace}'}}[20s]))"
    )
    assert rate and 2.4 <= float(rate[0]["value"][1]) <= 3.6  # 2 pods x 1.5 CPU, scrape jitter allowed
    pvc = _prometheus_query(
        sandbox,
        (
            f"max(kubelet_volume_stats_used_bytes{{namespace='{namespace}'}}) / "
            f"max(kubelet_volume_stats_capacity_bytes{{namespace='{namespace}'}})"
        ),
    )
    assert abs(float(pvc[0]["value"][1]) - 0.6) < 1e-9


class _QueueDepthExporter:
    """A loopback /metrics endpoint standing in for the platform's `workflow_queue_depth`."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.depth = 0.0
        exporter = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = f"# TYPE workflow_queue_depth gauge\nworkflow_queue_depth {exporter.depth}\n".encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: object) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_an_hpa_on_the_external_queue_depth_metric_scales_through_prometheus_adapter(
    sandbox: Sandbox, namespace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from validator.sandbox import lifecycle

    exporter = _QueueDepthExporter()
    job = f"queue-{namespace}"
    lifecycle.register_scrape_target(sandbox.info, job, exporter.address)
    try:
        sandbox.apps.create_namespaced_deployment(
            namespace, _deployment("workflow-controller", 2, pool="system")
        )
        wait_until(
            "2 Ready controllers",
            lambda: len(_ready_pods(sandbox, namespace, "app=workflow-controller")) == 2,
        )
        autoscaling = client.AutoscalingV2Api(sandbox.api)
        autoscaling.create_namespaced_horizontal_pod_autoscaler(
            namespace,
            _hpa(
                "workflow-controller",
                minimum=2,
                maximum=8,
                metric=_external_average("workflow_queue_depth", "10"),
            ),
        )

        def reads_queue_depth() -> bool:
            current = (
                autoscaling.read_namespaced_horizontal_pod_autoscaler(
                    "workflow-controller", namespace
                ).status.current_metrics
                or []
            )
            return any(
                m.external is not None and m.external.current.average_value is not None for m in current
            )

        wait_until("the HPA to read the queue depth", reads_queue_depth, timeout_s=120)
        assert (
            autoscaling.read_namespaced_horizontal_pod_autoscaler(
                "workflow-controller", namespace
            ).status.desired_replicas
            == 2
        )  # empty queue: the minimum
        raised = time.monotonic()
        exporter.depth = 60  # 60 queued workflows / 10 per replica => 6 replicas
        wait_until(
            "desired replicas 6",
            lambda: (
                autoscaling.read_namespaced_horizontal_pod_autoscaler(
                    "workflow-controller", namespace
                ).status.desired_replicas
                == 6
            ),
            timeout_s=120,
            interval_s=0.25,
        )
        with capsys.disabled():
            print(
                f"\n[sandbox] HPA scaled on workflow_queue_depth "
                f"{time.monotonic() - raised:.1f}s after it rose"
            )
    finally:
        lifecycle.unregister_scrape_target(sandbox.info, job)
        exporter.close()


def test_a_finished_pod_uses_nothing(sandbox: Sandbox, namespace: str) -> None:
    """A completed pod's CPU counter stops, at its CPU x complete-after: kwok must not charge usage
    to pods that are kept after they finish (the simulated platform keeps them a while), or
    utilisation comes out inflated (tests/cluster/test_cpu_counter.py has the exact figures)."""
    sandbox.core.create_namespaced_pod(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "stage",
                "annotations": {"sim.validator.io/cpu": "1", "sim.validator.io/complete-after": "10s"},
            },
            "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "main", "image": "registry.invalid/sim:1"}],
            },
        },
    )
    wait_until(
        "the pod Succeeded",
        lambda: sandbox.core.read_namespaced_pod("stage", namespace).status.phase == "Succeeded",
        timeout_s=60,
    )
    query = f"container_cpu_usage_seconds_total{{namespace='{namespace}',pod='stage'}}"
    wait_until(
        "the finished pod's counter in Prometheus at 1 CPU x 10 s",
        lambda: (r := _prometheus_query(sandbox, query)) and abs(float(r[0]["value"][1]) - 10.0) < 0.002,
        timeout_s=60,
    )
    time.sleep(12)  # a dozen scrapes later
    later = _prometheus_query(sandbox, query)
    assert float(later[0]["value"][1]) == pytest.approx(10.0, abs=0.002)


def _condition_time(pod: Any, kind: str) -> float:
    for condition in pod.status.conditions or []:
        if condition.type == kind and condition.status == "True":
            return float(condition.last_transition_time.timestamp())
    raise AssertionError(f"{pod.metadata.name} has no {kind}=True condition")


def test_a_readiness_probe_delay_is_honoured_as_a_kubelet_would(sandbox: Sandbox, namespace: str) -> None:
    """A kubelet runs a readiness probe first after its initialDelaySeconds: the pod is Running, its
    container started, and not Ready until then (kwok's own stage made every pod Ready at once).
    Without a delay the pod is Ready as soon as it runs. Times are the pod's own conditions."""
    for name, probe in (("slow", {"initialDelaySeconds": 6}), ("quick", {"periodSeconds": 10})):
        sandbox.core.create_namespaced_pod(
            namespace,
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name},
                "spec": {
                    "nodeSelector": {POOL_LABEL: "system"},
                    "containers": [
                        {
                            "name": "main",
                            "image": "registry.invalid/sim:1",
                            "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, **probe},
                        }
                    ],
                },
            },
        )
    running = wait_until(
        "the slow pod running but not Ready",
        lambda: (p := sandbox.core.read_namespaced_pod("slow", namespace)).status.phase == "Running" and p,
        timeout_s=30,
    )
    assert not any(c.type == "Ready" and c.status == "True" for c in running.status.conditions or [])
    started = running.status.container_statuses[0].state.running.started_at.timestamp()
    # a change to the pod meanwhile (the simulated platform rewrites usage every few seconds) must
    # not push the moment back: it is the container's start plus the delay
    sandbox.core.patch_namespaced_pod("slow", namespace, {"metadata": {"annotations": {"touched": "1"}}})
    slow = wait_until(
        "the slow pod Ready",
        lambda: (
            (p := sandbox.core.read_namespaced_pod("slow", namespace))
            and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
            and p
        ),
        timeout_s=60,
    )
    assert 6 - 1 <= _condition_time(slow, "Ready") - started <= 6 + 2  # whole-second object times
    quick = wait_until(
        "the quick pod Ready",
        lambda: (
            (p := sandbox.core.read_namespaced_pod("quick", namespace))
            and any(c.type == "Ready" and c.status == "True" for c in p.status.conditions or [])
            and p
        ),
        timeout_s=30,
    )
    assert (
        _condition_time(quick, "Ready")
        - quick.status.container_statuses[0].state.running.started_at.timestamp()
        <= 1
    )
