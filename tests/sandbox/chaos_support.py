"""Helpers of the chaos and safety sandbox tests: allow-lists, workloads, budgets, runs, snapshots."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from kubernetes import client

from validator.safety import marks
from validator.safety.allowlist import ContextEntry, Limits, read_identity, save_entry

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
EXPERIMENTS = ROOT / "experiments"
POOL = "quality"  # the pool these tests disrupt (other areas' tests use implementation and testing)


def write_allowlist(
    sandbox: Any,
    path: Path,
    namespaces: list[str],
    *,
    max_cordoned_nodes: int = 1,
    max_workload_share: float = 0.5,
) -> Path:
    identity, _ = read_identity(sandbox.context, str(sandbox.kubeconfig))
    uid = client.CoreV1Api(sandbox.api).read_namespace("kube-system").metadata.uid
    save_entry(
        ContextEntry(
            name=sandbox.context,
            server=identity.server,
            ca_sha256=identity.ca_sha256,
            kube_system_uid=str(uid),
            namespaces=tuple(namespaces),
            node_pools=(POOL, "system"),
            limits=Limits(max_cordoned_nodes=max_cordoned_nodes, max_workload_share=max_workload_share),
        ),
        path,
    )
    return path


def run_env(sandbox: Any, allowlist: Path, run_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VALIDATOR_")}
    env.update(
        VALIDATOR_CONTEXT=sandbox.context,
        VALIDATOR_KUBECONFIG=str(sandbox.kubeconfig),
        VALIDATOR_ALLOWLIST=str(allowlist),
        VALIDATOR_RUN_DIR=str(run_dir),
        VALIDATOR_RECOVERY_TIMEOUT_S="30",
    )
    env.update(extra)
    return env


def chaos_run(
    experiment: Path, env: dict[str, str], journal: Path, timeout: float = 180
) -> tuple[dict[str, Any], str]:
    proc = subprocess.run(
        [str(BIN / "chaos"), "--no-log-file", "run", "--journal-path", str(journal), str(experiment)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=journal.parent,
    )
    return json.loads(journal.read_text()), proc.stdout + proc.stderr


def chaos_popen(experiment: Path, env: dict[str, str], journal: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN / "chaos"), "--no-log-file", "run", "--journal-path", str(journal), str(experiment)],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=journal.parent,
    )


def validator_cli(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "validator"), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def deployment(
    sandbox: Any,
    namespace: str,
    name: str,
    *,
    replicas: int = 2,
    labels: dict[str, str] | None = None,
    node_selector: dict[str, str] | None = None,
    memory_limit: str = "1Gi",
    prefer_node: str = "",
) -> None:
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "agent-platform", **(labels or {})}
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "nodeSelector": node_selector or {"node-pool": POOL},
                    "tolerations": [
                        {"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}
                    ],
                    "terminationGracePeriodSeconds": 1,
                    **(
                        {
                            "affinity": {
                                "nodeAffinity": {
                                    "preferredDuringSchedulingIgnoredDuringExecution": [
                                        {
                                            "weight": 100,
                                            "preference": {
                                                "matchExpressions": [
                                                    {
                                                        "key": "kubernetes.io/hostname",
                                                        "operator": "In",
                                                        "values": [prefer_node],
                                                    }
                                                ]
                                            },
                                        }
                                    ]
                                }
                            }
                        }
                        if prefer_node
                        else {}
                    ),
                    "containers": [
                        {
                            "name": "main",
                            "image": "registry.invalid/agent:1",
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "256Mi"},
                                "limits": {"memory": memory_limit},
                            },
                        }
                    ],
                },
            },
        },
    }
    client.AppsV1Api(sandbox.api).create_namespaced_deployment(namespace, body)


def pdb(sandbox: Any, namespace: str, name: str, app: str, *, max_unavailable: int) -> None:
    body = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "maxUnavailable": max_unavailable,
            "selector": {"matchLabels": {"app.kubernetes.io/name": app}},
        },
    }
    client.PolicyV1Api(sandbox.api).create_namespaced_pod_disruption_budget(namespace, body)


def pods(sandbox: Any, namespace: str, selector: str = "") -> list[Any]:
    return [
        p
        for p in client.CoreV1Api(sandbox.api)
        .list_namespaced_pod(namespace, label_selector=selector or None)
        .items
        if not p.metadata.deletion_timestamp
    ]


def ready_count(sandbox: Any, namespace: str, selector: str = "") -> int:
    """Ready pods matching; -1 while a Deployment's status lags behind its pods (the steady-state
    probes read Deployment status, so tests wait for both)."""
    for dep in client.AppsV1Api(sandbox.api).list_namespaced_deployment(namespace).items:
        if (dep.status.available_replicas or 0) < (dep.spec.replicas or 0) or \
                (dep.status.observed_generation or 0) < (dep.metadata.generation or 0):
            return -1
    n = 0
    for p in pods(sandbox, namespace, selector):
        if any(c.type == "Ready" and c.status == "True" for c in (p.status.conditions or [])):
            n += 1
    return n


def wait(what: str, check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


def pdb_ready(sandbox: Any, namespace: str, name: str, allowed: int) -> bool:
    status = client.PolicyV1Api(sandbox.api).read_namespaced_pod_disruption_budget(name, namespace).status
    return bool(status and status.observed_generation and status.disruptions_allowed == allowed)


def node_states(sandbox: Any) -> dict[str, tuple[bool, str | None, str | None]]:
    """name -> (unschedulable, validator revert mark, not-ready label), for every node."""
    out = {}
    for n in client.CoreV1Api(sandbox.api).list_node().items:
        ann = n.metadata.annotations or {}
        out[n.metadata.name] = (
            bool(n.spec.unschedulable),
            ann.get(marks.REVERT),
            (n.metadata.labels or {}).get("sim.validator.io/not-ready"),
        )
    return out


def assert_nodes_clean(sandbox: Any) -> None:
    dirty = {k: v for k, v in node_states(sandbox).items() if v[1] or v[2] or (v[0] and k.startswith(POOL))}
    assert not dirty, f"nodes left changed: {dirty}"


def decoy_state(sandbox: Any, namespace: str) -> dict[str, tuple[str, int]]:
    return {
        p.metadata.name: (p.metadata.uid, sum(c.restart_count for c in (p.status.container_statuses or [])))
        for p in pods(sandbox, namespace)
    }


def faults(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "chaos" / "faults.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def audit(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def experiment_copy(name: str, dest: Path, **activity_pauses: dict[str, float]) -> Path:
    """A copy of an experiment with pauses added to named activities (to signal inside a phase)."""
    exp = json.loads((EXPERIMENTS / f"{name}.json").read_text())
    for act in exp["method"] + exp["rollbacks"]:
        if act["name"] in activity_pauses:
            act["pauses"] = activity_pauses[act["name"]]
    path = dest / f"{name}.json"
    path.write_text(json.dumps(exp))
    return path


def quiet_node(sandbox: Any, allowed: list[str], pool: str = POOL) -> str:
    """A node of `pool` hosting no running pod outside `allowed` namespaces (other tests share the pool)."""
    core = client.CoreV1Api(sandbox.api)

    def pick() -> str | None:
        busy = {
            p.spec.node_name
            for p in core.list_pod_for_all_namespaces().items
            if p.metadata.namespace not in allowed
            and p.spec.node_name
            # finished pods block no drain (it skips them); the simulated platform keeps its
            # completed stage pods around for a while after a run
            and (p.status.phase or "") not in ("Succeeded", "Failed")
        }
        free = sorted(
            n.metadata.name
            for n in core.list_node(label_selector=f"node-pool={pool}").items
            if n.metadata.name not in busy and not n.spec.unschedulable
        )
        return free[0] if free else None

    return str(wait(f"a {pool} node without other tests' pods", pick, timeout=90))


def empty_namespace(sandbox: Any, namespace: str, timeout: float = 30) -> None:
    """Delete the namespace's workloads and wait for its pods to be gone (so they block no later drain)."""
    apps, core = client.AppsV1Api(sandbox.api), client.CoreV1Api(sandbox.api)
    for d in apps.list_namespaced_deployment(namespace).items:
        apps.delete_namespaced_deployment(d.metadata.name, namespace)
    for ds in apps.list_namespaced_daemon_set(namespace).items:
        apps.delete_namespaced_daemon_set(ds.metadata.name, namespace)
    core.delete_collection_namespaced_pod(namespace, grace_period_seconds=0)
    with contextlib.suppress(AssertionError):
        wait(f"pods of {namespace} gone", lambda: not core.list_namespaced_pod(namespace).items, timeout)
