"""The maintenance rehearsal on the sandbox running the reference platform.

1. `--dry-run` changes nothing, checked against the apiserver (every pod keeps its UID and node, and
   those on the target node are not deleting, not DisruptionTarget, with the same labels and
   annotations save the simulated usage; no node is cordoned or marked; no run directory, so no
   audit line), and lists
   the refusals a real drain would meet (a budget that allows no disruption, pods of a namespace
   outside the allow-list).
2. The real rehearsal of a node that hosts only the platform's agents passes with zero failed
   submissions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kubernetes import client

from tests.support.cluster import (
    allow_platform,
    deploy_platform,
    no_validator_marks,
    results,
    run_env,
    summary,
    validator_run,
    verdicts,
)

TOLERATE_KWOK = [client.V1Toleration(key="kwok.x-k8s.io/node", operator="Exists", effect="NoSchedule")]


SIMULATOR = "validator-simulated-platform"  # its workflow pods are patched all the time (usage, stages)


def _pods(sandbox: Any, namespaces: list[str], node: str) -> dict[str, tuple[str, str, str]]:
    """UID and node of every pod the simulated platform does not manage (it creates, patches and deletes
    its workflow pods all the time), and for those on the target node what an eviction or a patch of
    ours would change: deletion, a DisruptionTarget condition, labels, annotations. The simulated
    platform's own usage annotations (sim.validator.io/*, rewritten every few seconds on the standing
    agents) are left out, which is why the resourceVersion cannot be the witness here."""
    out = {}
    for ns in namespaces:
        for pod in sandbox.core.list_namespaced_pod(ns).items:
            if (pod.metadata.labels or {}).get("app.kubernetes.io/managed-by") == SIMULATOR:
                continue
            state = ""
            if pod.spec.node_name == node:
                annotations = {
                    k: v
                    for k, v in (pod.metadata.annotations or {}).items()
                    if not k.startswith("sim.validator.io/")
                }
                disrupted = [c.type for c in pod.status.conditions or [] if c.type == "DisruptionTarget"]
                labels = sorted((pod.metadata.labels or {}).items())
                marks = sorted(annotations.items())
                state = repr((pod.metadata.deletion_timestamp, disrupted, labels, marks))
            out[f"{ns}/{pod.metadata.name}"] = (pod.metadata.uid, pod.spec.node_name or "", state)
    return out


def _nodes(sandbox: Any) -> dict[str, tuple[bool, dict[str, str], dict[str, str]]]:
    return {
        n.metadata.name: (
            bool(n.spec.unschedulable),
            dict(n.metadata.labels or {}),
            {k: v for k, v in (n.metadata.annotations or {}).items() if "validator" in k},
        )
        for n in sandbox.core.list_node().items
    }


def _blocked_workload(sandbox: Any, namespace: str, node: str) -> None:
    """A one-replica Deployment pinned to `node` under a budget that allows no disruption."""
    labels = {"app.kubernetes.io/name": "blocked", "app.kubernetes.io/part-of": "rehearsal-test"}
    sandbox.apps.create_namespaced_deployment(
        namespace,
        client.V1Deployment(
            metadata=client.V1ObjectMeta(name="blocked", labels=labels),
            spec=client.V1DeploymentSpec(
                replicas=1,
                selector=client.V1LabelSelector(match_labels=labels),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels=labels),
                    spec=client.V1PodSpec(
                        node_name=node,
                        tolerations=TOLERATE_KWOK,
                        containers=[client.V1Container(name="main", image="busybox")],
                    ),
                ),
            ),
        ),
    )
    client.PolicyV1Api(sandbox.api).create_namespaced_pod_disruption_budget(
        namespace,
        client.V1PodDisruptionBudget(
            metadata=client.V1ObjectMeta(name="blocked-pdb"),
            spec=client.V1PodDisruptionBudgetSpec(
                max_unavailable=0, selector=client.V1LabelSelector(match_labels=labels)
            ),
        ),
    )
    import time

    deadline = time.time() + 60
    while time.time() < deadline:
        pods = sandbox.core.list_namespaced_pod(
            namespace, label_selector="app.kubernetes.io/name=blocked"
        ).items
        pdb = client.PolicyV1Api(sandbox.api).read_namespaced_pod_disruption_budget("blocked-pdb", namespace)
        ready = [
            p
            for p in pods
            if any(c.type == "Ready" and c.status == "True" for c in (p.status.conditions or []))
        ]
        if ready and pdb.status and pdb.status.current_healthy == 1:
            return
        time.sleep(1)
    raise AssertionError("the blocked workload did not become ready")


def _agent_node(sandbox: Any, only_platform: bool = False) -> str:
    """An implementation node hosting one of the platform's standing agent replicas (a StatefulSet's
    pod, under a budget; not a bare workflow-stage pod, which no budget covers: draining a node of
    those alone exercises no budget) and, with `only_platform`, no pod of any other namespace:
    other tests' pods, or a namespace still being deleted."""
    import time

    deadline = time.time() + 120
    while True:
        for pod in sandbox.core.list_namespaced_pod(
            "agents", label_selector="app.kubernetes.io/component=agent"
        ).items:
            node = pod.spec.node_name or ""
            if not node.startswith("implementation-"):
                continue
            others = [
                p
                for p in sandbox.core.list_pod_for_all_namespaces(
                    field_selector=f"spec.nodeName={node}"
                ).items
                if p.metadata.namespace not in ("agents", "workflow-system")
            ]
            if not only_platform or not others:
                return node
        if time.time() > deadline:
            raise AssertionError("no implementation node hosts only the platform's pods")
        time.sleep(2)


def test_dry_run_changes_nothing_and_lists_the_refusals(sandbox: Any, namespace: str, tmp_path: Path) -> None:
    info = deploy_platform(sandbox)
    node = _agent_node(sandbox)
    _blocked_workload(sandbox, namespace, node)
    # `namespace` is allowed (its budget refuses); a second namespace on the node is not allowed at all.
    outsider = f"{namespace}-out"
    sandbox.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=outsider)))
    try:
        sandbox.core.create_namespaced_pod(
            outsider,
            client.V1Pod(
                metadata=client.V1ObjectMeta(name="outsider"),
                spec=client.V1PodSpec(
                    node_name=node,
                    tolerations=TOLERATE_KWOK,
                    containers=[client.V1Container(name="main", image="busybox")],
                ),
            ),
        )
        allowlist = allow_platform(
            sandbox, tmp_path / "allowlist.yaml", ["agents", "workflow-system", namespace]
        )
        watched = ["agents", "workflow-system", namespace, outsider]
        pods_before, nodes_before = _pods(sandbox, watched, node), _nodes(sandbox)
        run_dir = tmp_path / "dry"

        proc, _ = validator_run(
            [
                "suites/maintenance-rehearsal.yaml",
                "--context",
                sandbox.context,
                "--node",
                node,
                "--dry-run",
                "--output",
                str(run_dir),
            ],
            run_env(info, allowlist),
            timeout=120,
        )
        out = proc.stdout + proc.stderr

        assert proc.returncode == 4, out  # the outsider pod: the guard would refuse the real drain
        assert _pods(sandbox, watched, node) == pods_before
        assert _nodes(sandbox) == nodes_before
        assert not no_validator_marks(sandbox)
        assert not run_dir.exists(), "a dry run writes no run directory (so no audit line)"
        rows = {line.split("│")[2].strip(): line for line in out.splitlines() if line.count("│") >= 6}
        blocked = next(row for pod, row in rows.items() if pod.startswith(f"{namespace}/blocked-"))
        assert "blocked-pdb" in blocked and "would be refused" in blocked, out
        outsider_row = rows[f"{outsider}/outsider"]
        assert "would be refused" in outsider_row and "allow-list" in outsider_row, out
        agent_rows = [row for pod, row in rows.items() if pod.startswith("agents/") and "-wf-" not in pod]
        assert agent_rows and all("allowed" in row for row in agent_rows), out
    finally:
        sandbox.core.delete_namespace(outsider)


def test_real_rehearsal_of_a_safe_node_passes_with_zero_failed_submissions(
    sandbox: Any, tmp_path: Path
) -> None:
    info = deploy_platform(sandbox)
    node = _agent_node(sandbox, only_platform=True)
    allowlist = allow_platform(sandbox, tmp_path / "allowlist.yaml", ["agents", "workflow-system"])
    run_dir = tmp_path / "rehearsal"

    proc, wall_s = validator_run(
        [
            "suites/maintenance-rehearsal.yaml",
            "--context",
            sandbox.context,
            "--node",
            node,
            "--output",
            str(run_dir),
        ],
        run_env(info, allowlist),
        timeout=600,
    )
    out = proc.stdout + proc.stderr
    assert (run_dir / "summary.json").is_file(), f"exit {proc.returncode}\n{out[-4000:]}"
    doc = summary(run_dir)
    dry = json.loads((run_dir / "rehearsal-dry-run.json").read_text())

    assert proc.returncode == 0 and doc["verdict"] == "pass", f"{verdicts(doc)}\n{out[-4000:]}"
    assert {e["eviction"] for e in dry["evictions"]} <= {"allowed", "skipped"}
    disruption = results(doc, "maintenance_disruption")
    assert disruption and all(r["value"] == 0 for r in disruption), disruption
    history = (run_dir / "load" / "locust_stats.csv").read_text().splitlines()
    aggregated = next(line for line in history if ",Aggregated," in line)
    header = history[0].split(",")
    row = aggregated.split(",")
    assert int(row[header.index("Failure Count")]) == 0, aggregated
    assert int(row[header.index("Request Count")]) > 0, aggregated
    assert not no_validator_marks(sandbox)
    print(f"rehearsal of {node}: {wall_s:.0f}s, verdicts {verdicts(doc)}")
