"""The reference platform on the real local control plane.

Both overlays are accepted by the apiserver (server-side dry-run); the testing overlay deploys
and becomes healthy, its controller HPA reads CPU and memory, Prometheus loads the alert rules,
and a drain of a system node goes through the budgets without ever leaving the controller with
no available replica.

The deployed platform is left in place (deploying is idempotent; `make demo` deploys it too).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cluster import BIN, Sandbox, wait_until
from validator.sandbox import lifecycle, platform_deploy
from validator.sandbox.simulated_platform.platform_process import PlatformSettings, SimulatedPlatformProcess

pytestmark = pytest.mark.sandbox

PLATFORM_NAMESPACES = ("agents", "workflow-system", "validator")


def kubectl(sandbox: Sandbox, *args: str, stdin: str | None = None, timeout: float = 180) -> str:
    binary = platform_deploy.default_kubectl()
    proc = subprocess.run(
        [str(binary), "--kubeconfig", str(sandbox.kubeconfig), "--context", sandbox.context, *args],
        input=stdin, capture_output=True, text=True, check=False, timeout=timeout,
    )
    assert proc.returncode == 0, f"kubectl {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def deployed(sandbox: Sandbox) -> Sandbox:
    messages: list[str] = []
    platform_deploy.deploy(
        sandbox.kubeconfig, sandbox.context, "testing", sandbox.info.rules_dir,
        progress=messages.append, timeout=300,
    )
    lifecycle.reload_prometheus(sandbox.info)
    assert any(m.startswith("healthy:") for m in messages), messages
    return sandbox


@pytest.fixture
def dry_run_namespaces(sandbox: Sandbox) -> Iterator[dict[str, str]]:
    """Fresh stand-ins for the platform's namespaces, so a dry-run never collides with a deployed
    platform (StatefulSet volumeClaimTemplates are immutable, so production over testing would be
    refused for that reason alone)."""
    suffix = uuid.uuid4().hex[:6]
    mapping = {ns: f"t-{suffix}-{ns}"[:63] for ns in PLATFORM_NAMESPACES}
    for name in mapping.values():
        kubectl(sandbox, "create", "namespace", name)
    try:
        yield mapping
    finally:
        for name in mapping.values():
            kubectl(sandbox, "delete", "namespace", name, "--wait=false")


def _remapped(
    overlay: str, namespaces: dict[str, str], *, namespaced_only: bool = False
) -> list[dict[str, Any]]:
    """The overlay's objects, moved into the stand-in namespaces (Namespace objects left out)."""
    built = subprocess.run(
        [str(platform_deploy.default_kubectl()), "kustomize",
         str(platform_deploy.resolve_overlay(overlay))],
        capture_output=True, text=True, check=True,
    ).stdout
    docs = []
    for doc in yaml.safe_load_all(built):
        if not isinstance(doc, dict) or doc["kind"] == "Namespace":
            continue
        meta = doc["metadata"]
        if namespaced_only and "namespace" not in meta:
            continue
        if meta.get("namespace") in namespaces:
            meta["namespace"] = namespaces[meta["namespace"]]
        docs.append(doc)
    return docs


@pytest.mark.parametrize("overlay", ["production", "testing"])
def test_overlay_passes_server_side_dry_run(
    deployed: Sandbox, dry_run_namespaces: dict[str, str], overlay: str
) -> None:
    docs = _remapped(overlay, dry_run_namespaces)
    out = kubectl(
        deployed, "apply", "--server-side", "--dry-run=server", "--force-conflicts",
        "--field-manager=validator-platform-dry-run", "-f", "-", stdin=yaml.safe_dump_all(docs),
    )
    kinds = {doc["kind"] for doc in docs}
    assert {"StatefulSet", "Deployment", "HorizontalPodAutoscaler", "VerticalPodAutoscaler",
            "PrometheusRule", "ServiceMonitor", "ResourceQuota", "LimitRange", "PodDisruptionBudget"} <= kinds
    assert out.count("(server dry run)") == len(docs)


def test_production_overlay_is_accepted_by_a_real_apply(
    deployed: Sandbox, dry_run_namespaces: dict[str, str]
) -> None:
    """A real (not dry-run) apply of the production overlay. Its cluster-scoped objects are the
    testing overlay's, which `deployed` already applied for real; its namespaced ones go into fresh
    stand-in namespaces. Nothing waits for health: the sandbox has no storage provisioner for the
    production workspaces, and the point is what the apiserver admits (quota, LimitRange, schema)."""
    docs = _remapped("production", dry_run_namespaces, namespaced_only=True)
    out = kubectl(
        deployed, "apply", "--server-side", "--force-conflicts",
        "--field-manager=validator-platform-production-check", "-f", "-", stdin=yaml.safe_dump_all(docs),
    )
    assert out.count("serverside-applied") == len(docs), out
    agents = dry_run_namespaces["agents"]
    quota = json.loads(kubectl(deployed, "get", "resourcequota", "-n", agents, "-o", "json"))["items"]
    expected = {d["metadata"]["name"]: d["spec"]["hard"] for d in docs
                if d["kind"] == "ResourceQuota" and d["metadata"]["namespace"] == agents}
    assert {q["metadata"]["name"]: q["spec"]["hard"] for q in quota} == expected
    sts = json.loads(kubectl(deployed, "get", "statefulsets", "-n", agents, "-o", "json"))["items"]
    agent_names = {s["metadata"]["labels"]["app.kubernetes.io/name"] for s in sts}
    assert agent_names == {"rex", "blaze", "cleo", "tess"}

def _hpa(sandbox: Sandbox) -> dict[str, Any]:
    return dict(json.loads(kubectl(sandbox, "get", "hpa", "workflow-controller", "-n", "workflow-system",
                                   "-o", "json")))


def test_controller_is_available_and_its_hpa_reads_cpu_and_memory(deployed: Sandbox) -> None:
    deployment = json.loads(kubectl(deployed, "get", "deployment", "workflow-controller", "-n",
                                    "workflow-system", "-o", "json"))
    assert deployment["status"].get("availableReplicas", 0) >= 2

    def resource_metrics() -> dict[str, int] | None:
        found = {}
        for metric in _hpa(deployed).get("status", {}).get("currentMetrics") or []:
            if metric.get("type") == "Resource":
                current = metric["resource"].get("current", {})
                if "averageUtilization" in current:
                    found[metric["resource"]["name"]] = current["averageUtilization"]
        return found if {"cpu", "memory"} <= set(found) else None

    found = wait_until("the HPA to report current CPU and memory utilisation", resource_metrics,
                       timeout_s=180, interval_s=3)
    assert found["cpu"] >= 0 and found["memory"] >= 0
    hpa = _hpa(deployed)
    # the testing overlay's: the brief's 300 s / 900 s compressed 30x like the sandbox's clock
    assert hpa["spec"]["behavior"]["scaleUp"]["stabilizationWindowSeconds"] == 10
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 30


def test_prometheus_loaded_the_alert_rules(deployed: Sandbox) -> None:
    def groups() -> list[dict[str, Any]] | None:
        with urllib.request.urlopen(f"{deployed.prometheus_url}/api/v1/rules?type=alert", timeout=10) as resp:
            data = json.load(resp)
        found = [g for g in data["data"]["groups"] if g["name"] == "agent-platform.resources"]
        return found or None

    (group,) = wait_until("Prometheus to load agent-platform.resources", groups, timeout_s=60, interval_s=2)
    names = {rule["name"] for rule in group["rules"]}
    source_file = Path(platform_deploy.BUNDLED_PLATFORM_DIR) / "alerts" / "rules.source.yaml"
    source = yaml.safe_load(source_file.read_text())
    assert names == {rule["alert"] for g in source["groups"] for rule in g["rules"]}


def test_drain_of_a_system_node_passes_through_the_budgets(deployed: Sandbox) -> None:
    pods = json.loads(kubectl(deployed, "get", "pods", "-n", "workflow-system", "-l",
                              "app.kubernetes.io/name=workflow-controller", "-o", "json"))["items"]
    nodes = sorted({p["spec"]["nodeName"] for p in pods if p["spec"].get("nodeName")})
    assert nodes, "no scheduled controller pod"
    node = nodes[0]

    lowest = {"available": 99}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            status = json.loads(kubectl(deployed, "get", "deployment", "workflow-controller", "-n",
                                        "workflow-system", "-o", "json"))["status"]
            lowest["available"] = min(lowest["available"], status.get("availableReplicas", 0))
            time.sleep(0.3)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        # Only the platform's pods are drained (`--pod-selector`), so other tests sharing the
        # sandbox keep theirs; the node is cordoned as in any drain. kubectl drain evicts through
        # the eviction API and retries while a budget refuses (HTTP 429).
        out = kubectl(deployed, "drain", node, "--ignore-daemonsets", "--delete-emptydir-data",
                      "--pod-selector=app.kubernetes.io/part-of=agent-platform", "--timeout=180s",
                      timeout=240)
    finally:
        stop.set()
        sampler.join(timeout=10)
        kubectl(deployed, "uncordon", node)
    assert "evicted" in out, out
    assert lowest["available"] >= 1, "the controller had no available replica during the drain"

    def recovered() -> bool:
        status = json.loads(kubectl(deployed, "get", "deployment", "workflow-controller", "-n",
                                    "workflow-system", "-o", "json"))["status"]
        return bool(status.get("availableReplicas", 0) >= 2)

    wait_until("the controller to be back at 2 available replicas", recovered, timeout_s=120, interval_s=2)


def test_dashboard_queries_run_and_show_the_agents(deployed: Sandbox) -> None:
    """Every query of the Grafana dashboard is valid PromQL for the sandbox's Prometheus, and the
    per-agent utilisation panels find all four agent types."""
    dashboard_file = Path(platform_deploy.BUNDLED_PLATFORM_DIR) / "dashboards" / "agent-resources.json"
    dashboard = json.loads(dashboard_file.read_text())
    results: dict[str, int] = {}
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            query = target["expr"].replace("$agent", ".*").replace("$namespace", ".*")
            url = f"{deployed.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": query})
            with urllib.request.urlopen(url, timeout=10) as resp:
                data = json.load(resp)
            assert data["status"] == "success", (panel["title"], data)
            results[panel["title"]] = max(results.get(panel["title"], 0), len(data["data"]["result"]))

    def agents_seen() -> bool:
        title = "CPU utilisation of requests (target 60-80%)"
        query = dashboard_query(dashboard, title)
        url = f"{deployed.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": query})
        with urllib.request.urlopen(url, timeout=10) as resp:
            result = json.load(resp)["data"]["result"]
        found = {r["metric"].get("label_app_kubernetes_io_name") for r in result}
        return {"rex", "blaze", "cleo", "tess"} <= found

    wait_until("Prometheus to see CPU utilisation of all four agent types", agents_seen, timeout_s=120,
               interval_s=5)


def dashboard_query(dashboard: dict[str, Any], title: str) -> str:
    (panel,) = [p for p in dashboard["panels"] if p["title"] == title]
    return str(panel["targets"][0]["expr"]).replace("$agent", ".*").replace("$namespace", ".*")


def _has_queue_depth_series(sandbox: Sandbox) -> bool:
    query = urllib.parse.urlencode({"query": "workflow_queue_depth"})
    url = f"{sandbox.prometheus_url}/api/v1/query?{query}"
    with urllib.request.urlopen(url, timeout=10) as resp:
        return bool(json.load(resp)["data"]["result"])


def test_hpa_reads_the_workflow_queue_depth_when_the_sandbox_serves_it(deployed: Sandbox) -> None:
    """The External metric: the simulated platform exports workflow_queue_depth, Prometheus
    scrapes it, prometheus-adapter serves it. If no platform is running, one is started for the
    test."""
    services = json.loads(kubectl(deployed, "get", "apiservices", "-o", "json"))["items"]
    external = [s for s in services if s["metadata"]["name"] == "v1beta1.external.metrics.k8s.io"]
    available = external and any(c["type"] == "Available" and c["status"] == "True"
                                 for c in external[0].get("status", {}).get("conditions", []))
    # the sandbox always runs prometheus-adapter: an unavailable external metrics API is a failure
    assert available, "the sandbox serves no external metrics API (is prometheus-adapter running?)"

    def queue_depth() -> dict[str, Any] | None:
        for metric in _hpa(deployed).get("status", {}).get("currentMetrics") or []:
            if metric.get("type") == "External" and "current" in metric.get("external", {}):
                return dict(metric["external"])
        return None

    with contextlib.ExitStack() as stack:
        if not _has_queue_depth_series(deployed):
            stack.enter_context(SimulatedPlatformProcess(PlatformSettings(
                kubeconfig=deployed.kubeconfig, context=deployed.context,
                scrape_targets_dir=deployed.info.targets_dir,
            )))
        found = wait_until("the HPA to read workflow_queue_depth", queue_depth, timeout_s=240, interval_s=3)
    assert found["metric"]["name"] == "workflow_queue_depth"
    assert "averageValue" in found["current"]


def _cpu_utilisation(sandbox: Sandbox) -> float | None:
    """The controller HPA's CPU utilisation as its own status shows it."""
    for metric in _hpa(sandbox).get("status", {}).get("currentMetrics") or []:
        if metric.get("type") == "Resource" and metric["resource"]["name"] == "cpu":
            value = metric["resource"].get("current", {}).get("averageUtilization")
            return None if value is None else float(value)
    return None


def test_a_redeploy_returns_once_the_hpa_no_longer_shows_the_replaced_platforms_load(
    deployed: Sandbox,
) -> None:
    """`validator sandbox deploy` restarts the simulated platform, which drops its queue; the HPA's
    status shows the old load a while longer (metrics-server's resolution), and a run started at
    once recorded it as its own (CI, 2026-12-06: 414 s at maxReplicas, a failed verdict). The deploy
    returns once the HPA's own status is back under its target."""
    info = lifecycle.start_simulated_platform(deployed.info)
    assert info.workflow_api_url
    body = json.dumps({"size": "single-file-change"}).encode()
    for _ in range(150):  # 8 run at a time: the queue stays long for minutes
        request = urllib.request.Request(f"{info.workflow_api_url}/workflows", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as resp:
            assert resp.status == 202
    target = float(_hpa(deployed)["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"])
    wait_until("the HPA to show the queue's load above its CPU target",
               lambda: (_cpu_utilisation(deployed) or 0) > target * 1.1, timeout_s=120, interval_s=1)
    proc = subprocess.run(
        [str(BIN / "validator"), "sandbox", "deploy", "testing", "--name", deployed.info.name],
        capture_output=True, text=True, timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "restarting the simulated platform" in out and "waiting up to 35s for the HPAs" in out, out
    cpu = _cpu_utilisation(deployed)
    assert cpu is not None and cpu <= target * 1.1, (cpu, out)


def test_a_redeploy_rearms_a_workspace_volume_its_deleted_claim_left_released(
    sandbox: Sandbox, namespace: str
) -> None:
    """A statically provisioned volume reserved for a claim by name keeps the deleted claim's uid
    (phase Released) and would never bind the claim re-created under that name; the deploy re-arms
    it, reading the volumes in one listing, and the new claim binds."""
    pv_name = f"workspace-{namespace}"
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "workspace", "namespace": namespace},
        "spec": {
            "storageClassName": "rearm-test",
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }
    volume = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": pv_name},
        "spec": {
            "storageClassName": "rearm-test",
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain",
            "claimRef": {"namespace": namespace, "name": "workspace"},
            "hostPath": {"path": f"/var/lib/{pv_name}", "type": "DirectoryOrCreate"},
        },
    }

    def phase(kind: str, *where: str) -> str:
        return str(
            json.loads(kubectl(sandbox, "get", kind, *where, "-o", "json")).get("status", {}).get("phase")
        )

    kubectl(sandbox, "apply", "-f", "-", stdin=json.dumps(volume))
    try:
        kubectl(sandbox, "apply", "-f", "-", stdin=json.dumps(claim))
        wait_until("the claim bound", lambda: phase("pvc", "workspace", "-n", namespace) == "Bound")
        kubectl(sandbox, "delete", "pvc", "workspace", "-n", namespace, "--wait=true")
        wait_until("the volume released", lambda: phase("pv", pv_name) == "Released")
        kubectl(sandbox, "apply", "-f", "-", stdin=json.dumps(claim))
        time.sleep(3)  # the binder's sync is event-driven: a released volume stays out of reach
        assert phase("pvc", "workspace", "-n", namespace) == "Pending"
        messages: list[str] = []
        client = platform_deploy.Kubectl(
            binary=platform_deploy.default_kubectl(), kubeconfig=sandbox.kubeconfig, context=sandbox.context
        )
        platform_deploy.release_static_volumes(client, [volume, claim], messages.append)
        assert messages == [f"re-arming released workspace volume {pv_name} for {namespace}/workspace"]
        wait_until(
            "the re-created claim bound", lambda: phase("pvc", "workspace", "-n", namespace) == "Bound"
        )
        # a volume already bound is left alone
        messages.clear()
        platform_deploy.release_static_volumes(client, [volume, claim], messages.append)
        assert messages == []
    finally:
        kubectl(sandbox, "delete", "pvc", "workspace", "-n", namespace, "--ignore-not-found", "--wait=false")
        kubectl(sandbox, "delete", "pv", pv_name, "--ignore-not-found", "--wait=false")
