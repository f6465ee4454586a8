"""RBAC preflight as a least-privilege identity, and the read-only probes against real objects."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from tests.support.cluster import (
    EXPERIMENTS,
    ROOT,
    deployment,
    empty_namespace,
    experiment_env,
    pdb,
    pdb_ready,
    ready_count,
    validator_cli,
    wait_until,
    write_allowlist,
)
from validator.safety.allowlist import ContextEntry, read_identity, save_entry

pytestmark = pytest.mark.sandbox


def runner_rules() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    docs = list(yaml.safe_load_all((ROOT / "platform" / "base" / "rbac-validator-runner.yaml").read_text()))
    cluster = next(d for d in docs if d and d["kind"] == "ClusterRole")["rules"]
    role = next(d for d in docs if d and d["kind"] == "Role")["rules"]
    return cluster, role


def limited_kubeconfig(sandbox: Any, namespace: str, dest: Path) -> tuple[Path, str]:
    core = client.CoreV1Api(sandbox.api)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": "runner"}})
    token = core.create_namespaced_service_account_token(
        "runner", namespace, {"spec": {"audiences": [], "expirationSeconds": 900}}
    ).status.token
    admin = yaml.safe_load(sandbox.kubeconfig.read_text())
    ctx = next(c for c in admin["contexts"] if c["name"] == sandbox.context)["context"]
    cluster = next(c for c in admin["clusters"] if c["name"] == ctx["cluster"])["cluster"]
    cluster = dict(cluster)
    if "certificate-authority" in cluster:
        path = Path(cluster.pop("certificate-authority"))
        if not path.is_absolute():
            path = sandbox.kubeconfig.parent / path
        cluster["certificate-authority-data"] = base64.b64encode(path.read_bytes()).decode()
    name = f"limited-{namespace}"
    kc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "runner", "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": "c", "user": "runner"}}],
    }
    out = dest / "limited.yaml"
    out.write_text(yaml.safe_dump(kc))
    return out, name


def test_preflight_lists_missing_verbs_then_passes_with_the_runner_role(
    sandbox: Any, namespace: str, tmp_path: Path
) -> None:
    kc, ctx = limited_kubeconfig(sandbox, namespace, tmp_path)
    rbac = client.RbacAuthorizationV1Api(sandbox.api)
    cluster_rules, role_rules = runner_rules()
    role_name = f"validator-runner-{namespace}"
    subject = [{"kind": "ServiceAccount", "name": "runner", "namespace": namespace}]
    # identity reads only (get namespaces), so the gate can check the cluster: the rest is missing
    rbac.create_cluster_role(
        {
            "metadata": {"name": role_name},
            "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}],
        }
    )
    rbac.create_cluster_role_binding(
        {
            "metadata": {"name": role_name},
            "subjects": subject,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role_name},
        }
    )
    try:
        identity, _ = read_identity(ctx, str(kc))
        uid = client.CoreV1Api(sandbox.api).read_namespace("kube-system").metadata.uid
        allow = tmp_path / "allow.yaml"
        save_entry(
            ContextEntry(
                name=ctx,
                server=identity.server,
                ca_sha256=identity.ca_sha256,
                kube_system_uid=str(uid),
                namespaces=(namespace,),
                node_pools=("quality",),
            ),
            allow,
        )
        env = experiment_env(
            sandbox,
            allow,
            tmp_path / "run",
            VALIDATOR_CONTEXT=ctx,
            VALIDATOR_KUBECONFIG=str(kc),
            VALIDATOR_TARGET_NAMESPACE=namespace,
        )
        proc = validator_cli(["plan", str(EXPERIMENTS / "pod-eviction.json")], env)
        assert proc.returncode == 4, proc.stdout + proc.stderr
        assert f"create pods/eviction in namespace {namespace}" in proc.stdout
        assert "patch nodes (cluster-wide)" in proc.stdout
        assert "token" not in (proc.stdout + proc.stderr).lower()
        # now the least-privilege runner role of platform/, bound to this namespace
        rbac.replace_cluster_role(role_name, {"metadata": {"name": role_name}, "rules": cluster_rules})
        rbac.create_namespaced_role(
            namespace, {"metadata": {"name": "validator-runner"}, "rules": role_rules}
        )
        rbac.create_namespaced_role_binding(
            namespace,
            {
                "metadata": {"name": "validator-runner"},
                "subjects": subject,
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": "validator-runner",
                },
            },
        )

        def preflight_passes() -> bool:
            out = validator_cli(["plan", str(EXPERIMENTS / "pod-eviction.json"), "--json"], env)
            return out.returncode != 4 and "missing permissions" not in out.stdout

        wait_until("the runner role to take effect", preflight_passes, 30)
        proc = validator_cli(["plan", str(EXPERIMENTS / "pod-eviction.json"), "--json"], env)
        assert json.loads(proc.stdout)["missing_permissions"] == []
    finally:
        rbac.delete_cluster_role_binding(role_name)
        rbac.delete_cluster_role(role_name)


def test_probes_read_real_objects(
    sandbox: Any, namespace: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from validator.chaos import probes
    from validator.chaos.node.probes import nodes_schedulable
    from validator.chaos.pod.probes import pods_ready
    from validator.safety import session

    allow = write_allowlist(sandbox, tmp_path / "allow.yaml", [namespace])
    for key, value in experiment_env(sandbox, allow, tmp_path / "run").items():
        if key.startswith("VALIDATOR_"):
            monkeypatch.setenv(key, value)
    monkeypatch.setenv("VALIDATOR_PROMETHEUS_URL", sandbox.prometheus_url)
    session.reset()
    try:
        deployment(sandbox, namespace, "cleo", replicas=2)
        pdb(sandbox, namespace, "cleo-pdb", "cleo", max_unavailable=1)
        client.AutoscalingV2Api(sandbox.api).create_namespaced_horizontal_pod_autoscaler(
            namespace,
            {
                "metadata": {"name": "cleo"},
                "spec": {
                    "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "cleo"},
                    "minReplicas": 2,
                    "maxReplicas": 4,
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "target": {"type": "Utilization", "averageUtilization": 70},
                            },
                        }
                    ],
                },
            },
        )
        wait_until("cleo ready", lambda: ready_count(sandbox, namespace) == 2)
        wait_until("budget", lambda: pdb_ready(sandbox, namespace, "cleo-pdb", 1))
        assert probes.pdb_disruptions_allowed(namespace, "cleo-pdb") == 1
        assert probes.deployments_available(namespace, "app.kubernetes.io/name=cleo")
        assert not probes.deployments_available(namespace, "app.kubernetes.io/name=nobody")
        assert pods_ready(namespace, "app.kubernetes.io/name=cleo", 2)
        assert nodes_schedulable("node-pool=quality")
        hpa = wait_until(
            "hpa status",
            lambda: (
                probes.hpa_replicas(namespace, "cleo")["current"] and probes.hpa_replicas(namespace, "cleo")
            ),
            60,
        )
        assert hpa["min"] == 2 and hpa["max"] == 4 and hpa["current"] == 2
        assert probes.prometheus_query_below("vector(3)", 5) is True
        assert probes.prometheus_query_below("vector(7)", 5) is False
        from chaoslib.exceptions import ActivityFailed

        with pytest.raises(ActivityFailed, match="no data"):
            probes.prometheus_query_value('up{job="no-such-job-anywhere"}')
    finally:
        session.reset()
        empty_namespace(sandbox, namespace)


def test_allow_records_the_cluster_identity(sandbox: Any, tmp_path: Path) -> None:
    allow = tmp_path / "allow.yaml"
    env = experiment_env(sandbox, allow, tmp_path / "run")
    proc = validator_cli(
        [
            "allow",
            "--context",
            sandbox.context,
            "--kubeconfig",
            str(sandbox.kubeconfig),
            "--allowlist",
            str(allow),
            "--namespace",
            "agents",
            "--node-pool",
            "quality",
        ],
        env,
    )
    assert proc.returncode == 0, proc.stderr
    entry = yaml.safe_load(allow.read_text())["contexts"][sandbox.context]
    identity, _ = read_identity(sandbox.context, str(sandbox.kubeconfig))
    assert entry["server"] == identity.server and entry["ca_sha256"] == identity.ca_sha256
    assert (
        entry["kube_system_uid"] == client.CoreV1Api(sandbox.api).read_namespace("kube-system").metadata.uid
    )
    assert entry["namespaces"] == ["agents"] and entry["node_pools"] == ["quality"]
    text = allow.read_text()
    assert "token" not in text and "BEGIN CERTIFICATE" not in text
    # a tampered identity is refused before the plan touches anything
    entry["kube_system_uid"] = "00000000-0000-0000-0000-000000000000"
    allow.write_text(yaml.safe_dump({"contexts": {sandbox.context: entry}}))
    proc = validator_cli(["plan", str(EXPERIMENTS / "node-drain.json")], env)
    assert proc.returncode == 4 and "kube-system namespace UID differs" in proc.stderr
