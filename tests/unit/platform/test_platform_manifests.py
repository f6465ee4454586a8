"""The reference platform as built by kustomize: what the brief and issue 3 ask for, object by object."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from validator.sandbox.platform_deploy import Workload, not_ready_reason, resolve_overlay

REPO = Path(__file__).resolve().parents[3]
PLATFORM = REPO / "platform"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"

AGENTS = {
    # name: (pool, priority class, requests, limits, workspace)
    "rex": ("implementation", "agent-high-priority", ("2000m", "8Gi"), ("4000m", "16Gi"), "10Gi"),
    "blaze": ("implementation", "agent-high-priority", ("2000m", "8Gi"), ("4000m", "16Gi"), "10Gi"),
    "cleo": ("quality", "agent-standard-priority", ("1000m", "4Gi"), ("2000m", "8Gi"), "10Gi"),
    "tess": ("testing", "agent-high-priority", ("2000m", "8Gi"), ("4000m", "16Gi"), "50Gi"),
}


def build(directory: Path) -> list[dict[str, Any]]:
    out = subprocess.run([KUBECTL, "kustomize", str(directory)], capture_output=True, text=True, check=True)
    return [d for d in yaml.safe_load_all(out.stdout) if isinstance(d, dict)]


def pick(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]


@pytest.fixture(scope="module", params=["production", "testing"])
def overlay_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def overlay(overlay_name: str) -> list[dict[str, Any]]:
    return build(PLATFORM / "overlays" / overlay_name)


def test_agents_follow_the_brief(overlay: list[dict[str, Any]]) -> None:
    for name, (pool, priority, requests, limits, workspace) in AGENTS.items():
        (sts,) = pick(overlay, "StatefulSet", name)
        template = sts["spec"]["template"]
        assert template["metadata"]["labels"]["app.kubernetes.io/name"] == name
        assert template["metadata"]["labels"]["app.kubernetes.io/component"] == "agent"
        assert template["spec"]["nodeSelector"] == {"node-pool": pool}
        assert template["spec"]["priorityClassName"] == priority
        (container,) = template["spec"]["containers"]
        resources = container["resources"]
        assert (resources["requests"]["cpu"], resources["requests"]["memory"]) == requests
        assert (resources["limits"]["cpu"], resources["limits"]["memory"]) == limits
        (claim,) = sts["spec"]["volumeClaimTemplates"]
        assert claim["spec"]["resources"]["requests"]["storage"] == workspace
        (vpa,) = pick(overlay, "VerticalPodAutoscaler", name)
        assert vpa["spec"]["updatePolicy"]["updateMode"] == "Off"
        bounds = vpa["spec"]["resourcePolicy"]["containerPolicies"][0]
        assert bounds["maxAllowed"] == {"cpu": limits[0], "memory": limits[1]}


def test_controller_deployment_hpa_and_budget(overlay: list[dict[str, Any]], overlay_name: str) -> None:
    (deployment,) = pick(overlay, "Deployment", "workflow-controller")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert labels["app.kubernetes.io/component"] == "controller"
    assert labels["app.kubernetes.io/name"] == "workflow-controller"
    assert deployment["spec"]["template"]["spec"]["nodeSelector"] == {"node-pool": "system"}
    assert deployment["spec"]["template"]["spec"]["priorityClassName"] == "agent-platform-critical"
    (hpa,) = pick(overlay, "HorizontalPodAutoscaler", "workflow-controller")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["minReplicas"] >= 2
    metrics = {}
    for metric in hpa["spec"]["metrics"]:
        name = metric["resource"]["name"] if "resource" in metric else metric["external"]["metric"]["name"]
        metrics[f"{metric['type']}:{name}"] = metric
    assert metrics["Resource:cpu"]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    memory_target = metrics["Resource:memory"]["resource"]["target"]
    assert memory_target == {"type": "Utilization", "averageUtilization": 80}
    assert metrics["External:workflow_queue_depth"]["external"]["target"] == {
        "type": "AverageValue", "averageValue": "10"}
    up, down = hpa["spec"]["behavior"]["scaleUp"], hpa["spec"]["behavior"]["scaleDown"]
    # the brief's windows in production; the sandbox's 30x compressed clock in testing
    up_window, down_window, period = (300, 900, 60) if overlay_name == "production" else (10, 30, 15)
    assert up["stabilizationWindowSeconds"] == up_window
    assert up["policies"] == [{"type": "Percent", "value": 100, "periodSeconds": period}]
    assert down["stabilizationWindowSeconds"] == down_window
    assert down["policies"] == [{"type": "Percent", "value": 50, "periodSeconds": period}]


def test_budgets_can_never_block_a_drain(overlay: list[dict[str, Any]]) -> None:
    budgets = pick(overlay, "PodDisruptionBudget")
    assert {b["metadata"]["name"] for b in budgets} == {*AGENTS, "workflow-controller"}
    for budget in budgets:
        assert "minAvailable" not in budget["spec"]
        assert budget["spec"]["maxUnavailable"] >= 1
        assert budget["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


def test_priority_tiers_and_preemption(overlay: list[dict[str, Any]]) -> None:
    classes = {c["metadata"]["name"]: c for c in pick(overlay, "PriorityClass")}
    critical, high, standard = (classes[n] for n in
                                ("agent-platform-critical", "agent-high-priority", "agent-standard-priority"))
    assert critical["value"] > high["value"] > standard["value"] > 0
    assert critical["value"] < 2_000_000_000  # below the built-in system classes
    assert critical["preemptionPolicy"] == high["preemptionPolicy"] == "PreemptLowerPriority"
    assert standard["preemptionPolicy"] == "Never"
    assert not any(c.get("globalDefault") for c in classes.values())


VALIDATOR_RUNNER_RULES = {
    ("", "pods", "get"), ("", "pods", "list"), ("", "pods", "watch"),
    ("", "nodes", "get"), ("", "nodes", "list"), ("", "nodes", "watch"),
    ("", "events", "get"), ("", "events", "list"), ("", "events", "watch"),
    ("", "namespaces", "get"), ("", "namespaces", "list"), ("", "namespaces", "watch"),
    ("apps", "deployments", "get"), ("apps", "deployments", "list"), ("apps", "deployments", "watch"),
    ("apps", "replicasets", "get"), ("apps", "replicasets", "list"), ("apps", "replicasets", "watch"),
    ("apps", "statefulsets", "get"), ("apps", "statefulsets", "list"), ("apps", "statefulsets", "watch"),
    ("apps", "daemonsets", "get"), ("apps", "daemonsets", "list"), ("apps", "daemonsets", "watch"),
    ("autoscaling", "horizontalpodautoscalers", "get"), ("autoscaling", "horizontalpodautoscalers", "list"),
    ("autoscaling", "horizontalpodautoscalers", "watch"),
    ("policy", "poddisruptionbudgets", "get"), ("policy", "poddisruptionbudgets", "list"),
    ("policy", "poddisruptionbudgets", "watch"),
    ("", "pods/eviction", "create"),
    ("", "nodes", "patch"),
    ("", "pods", "patch"),
    ("", "pods", "delete"),
    ("authorization.k8s.io", "selfsubjectaccessreviews", "create"),
    *(("chaos-mesh.org", r, v) for r in ("podchaos", "stresschaos")
       for v in ("get", "list", "watch", "create", "delete")),
}


def _rules(role: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(group, resource, verb) for rule in role.get("rules", []) for group in rule["apiGroups"]
            for resource in rule["resources"] for verb in rule["verbs"]}


def test_validator_runner_has_exactly_the_verbs_its_runs_need(overlay: list[dict[str, Any]]) -> None:
    roles = [r for r in overlay
             if r["kind"] in {"ClusterRole", "Role"} and r["metadata"]["name"] == "validator-runner"]
    assert {r["kind"] for r in roles} == {"ClusterRole", "Role"}
    granted: set[tuple[str, str, str]] = set()
    for role in roles:
        granted |= _rules(role)
    assert granted == VALIDATOR_RUNNER_RULES
    # writes to pods stay inside the platform's namespaces
    (cluster_role,) = [r for r in roles if r["kind"] == "ClusterRole"]
    assert not {rule for rule in _rules(cluster_role) if rule[1].startswith("pods") and rule[2] != "get"
                and rule[2] not in {"list", "watch"}}
    assert {r["metadata"]["namespace"] for r in roles if r["kind"] == "Role"} == {"agents", "workflow-system"}


def test_no_wildcard_in_any_role(overlay: list[dict[str, Any]]) -> None:
    for role in overlay:
        if role["kind"] not in {"ClusterRole", "Role"}:
            continue
        for rule in role.get("rules", []):
            for key in ("apiGroups", "resources", "verbs"):
                assert "*" not in rule.get(key, []), f"{role['kind']}/{role['metadata']['name']} {key}"


def test_testing_overlay_reserves_a_volume_for_every_workspace() -> None:
    objects = build(PLATFORM / "overlays" / "testing")
    volumes = {(v["spec"]["claimRef"]["namespace"], v["spec"]["claimRef"]["name"]): v
               for v in pick(objects, "PersistentVolume")}
    for name, (*_, workspace) in AGENTS.items():
        (sts,) = pick(objects, "StatefulSet", name)
        claim = sts["spec"]["volumeClaimTemplates"][0]
        for ordinal in range(sts["spec"]["replicas"]):
            volume = volumes[("agents", f"{claim['metadata']['name']}-{name}-{ordinal}")]
            assert volume["spec"]["capacity"]["storage"] == workspace
            assert volume["spec"]["storageClassName"] == claim["spec"]["storageClassName"]


def test_vpa_auto_component_switches_every_vpa_to_automatic_updates(tmp_path: Path) -> None:
    testing = os.path.relpath(PLATFORM / "overlays" / "testing", tmp_path)
    component = os.path.relpath(PLATFORM / "components" / "vpa-auto", tmp_path)
    (tmp_path / "kustomization.yaml").write_text(f"resources: [{testing}]\ncomponents: [{component}]\n")
    vpas = pick(build(tmp_path), "VerticalPodAutoscaler")
    assert len(vpas) == 4
    assert all(v["spec"]["updatePolicy"]["updateMode"] == "Recreate" for v in vpas)


def test_deploy_readiness_counts_the_hpa_minimum() -> None:
    controller = Workload(kind="Deployment", namespace="workflow-system", name="workflow-controller")
    obj = {"metadata": {"generation": 2}, "spec": {"replicas": 1},
           "status": {"observedGeneration": 2, "availableReplicas": 1, "updatedReplicas": 1, "replicas": 1}}
    minimum = {("Deployment/workflow-system", "workflow-controller"): 2}
    assert not_ready_reason(controller, obj, minimum) == "1/2 replicas available"
    obj["status"]["availableReplicas"] = 2
    assert not_ready_reason(controller, obj, minimum) is None
    obj["status"]["observedGeneration"] = 1
    assert not_ready_reason(controller, obj, minimum) == "not yet observed by its controller"


def test_deploy_waits_for_a_changed_template_to_roll_out() -> None:
    """The old pods stay ready while a changed template rolls out: healthy only once the pods
    that are ready are the template's (an overlay's change must be in place before a run)."""
    cleo = Workload(kind="StatefulSet", namespace="agents", name="cleo")
    rolling = {"metadata": {"generation": 3}, "spec": {"replicas": 1},
               "status": {"observedGeneration": 3, "readyReplicas": 1, "updatedReplicas": 0,
                          "currentRevision": "cleo-a", "updateRevision": "cleo-b"}}
    assert not_ready_reason(cleo, rolling, {}) == "rolling out: 0/1 replicas updated"
    rolling["status"].update(updatedReplicas=1, readyReplicas=0)
    assert not_ready_reason(cleo, rolling, {}) == "rolling out: 1/1 replicas updated"  # revision not current
    rolling["status"].update(currentRevision="cleo-b")
    assert not_ready_reason(cleo, rolling, {}) == "0/1 replicas ready"
    rolling["status"].update(readyReplicas=1)
    assert not_ready_reason(cleo, rolling, {}) is None
    controller = Workload(kind="Deployment", namespace="workflow-system", name="workflow-controller")
    surging = {"metadata": {"generation": 2}, "spec": {"replicas": 2},
               "status": {"observedGeneration": 2, "availableReplicas": 3, "updatedReplicas": 2,
                          "replicas": 3}}
    assert not_ready_reason(controller, surging, {}) == "rolling out: 2/2 replicas updated"


def test_deploy_resolves_overlay_names_and_refuses_unknown_ones() -> None:
    assert resolve_overlay("testing") == (PLATFORM / "overlays" / "testing").resolve()
    with pytest.raises(Exception, match="no platform overlay 'staging'") as info:
        resolve_overlay("staging")
    assert "production" in str(info.value) and "testing" in str(info.value)
