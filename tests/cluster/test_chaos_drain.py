"""PDB-aware drain against the real apiserver, and the gate's refusals (exit 4, no write)."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from tests.support.cluster import (
    EXPERIMENTS,
    POOL,
    assert_nodes_clean,
    audit,
    chaos_run,
    decoy_state,
    deployment,
    empty_namespace,
    experiment_env,
    faults,
    node_states,
    pdb,
    pdb_ready,
    pods,
    quiet_node,
    ready_count,
    validator_cli,
    wait_until,
    write_allowlist,
)

pytestmark = pytest.mark.sandbox


@dataclass
class Rig:
    sandbox: Any
    namespace: str
    decoy_ns: str
    allowlist: Path
    run_dir: Path
    tmp: Path

    def env(self, **extra: str) -> dict[str, str]:
        values = {
            "VALIDATOR_TARGET_NAMESPACE": self.namespace,
            "VALIDATOR_WORKLOAD_SELECTOR": "app.kubernetes.io/name=cleo",
            **extra,
        }
        return experiment_env(self.sandbox, self.allowlist, self.run_dir, **values)


@pytest.fixture
def rig(sandbox: Any, namespace: str, tmp_path: Path) -> Iterator[Rig]:
    core = client.CoreV1Api(sandbox.api)
    decoy_ns = f"decoy-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=decoy_ns)))
    allowlist = write_allowlist(sandbox, tmp_path / "allow.yaml", [namespace])
    rig = Rig(sandbox, namespace, decoy_ns, allowlist, tmp_path / "run", tmp_path)
    try:
        yield rig
    finally:
        # the gate's own recover is the cleanup of last resort; it must find nothing after a good test
        validator_cli(
            [
                "recover",
                "--run-id",
                "run",
                "--context",
                sandbox.context,
                "--kubeconfig",
                str(sandbox.kubeconfig),
                "--allowlist",
                str(allowlist),
            ],
            rig.env(),
        )
        empty_namespace(sandbox, namespace)
        empty_namespace(sandbox, decoy_ns)
        core.delete_namespace(decoy_ns, grace_period_seconds=0)


def cleo_on_one_node(rig: Rig, *, budget: int) -> str:
    """Two cleo replicas in the quality pool and a budget; returns the node of the first pod."""
    target = quiet_node(rig.sandbox, [rig.namespace])
    deployment(rig.sandbox, rig.namespace, "cleo", replicas=2, prefer_node=target)
    pdb(rig.sandbox, rig.namespace, "cleo-pdb", "cleo", max_unavailable=budget)
    cleo = "app.kubernetes.io/name=cleo"
    wait_until("cleo ready", lambda: ready_count(rig.sandbox, rig.namespace, cleo) == 2)
    wait_until("budget observed", lambda: pdb_ready(rig.sandbox, rig.namespace, "cleo-pdb", budget))
    return str(pods(rig.sandbox, rig.namespace, "app.kubernetes.io/name=cleo")[0].spec.node_name)


def test_budget_allowing_no_disruption_retries_records_refusals_times_out_and_uncordons(rig: Rig) -> None:
    node = cleo_on_one_node(rig, budget=0)
    before = {p.metadata.uid for p in pods(rig.sandbox, rig.namespace)}
    journal, out = chaos_run(
        EXPERIMENTS / "node-drain.json",
        rig.env(
            VALIDATOR_DRAIN_NODE_SELECTOR=f"kubernetes.io/hostname={node}", VALIDATOR_DRAIN_TIMEOUT_S="4"
        ),
        rig.tmp / "journal.json",
    )
    drain = journal["run"][0]
    assert drain["status"] == "failed", out
    assert "timed out" in drain["exception"][-1] and "cleo-pdb" in drain["exception"][-1]
    refusals = [r for r in audit(rig.run_dir) if r["result"] == "refused"]
    assert len(refusals) >= 2 and {r["budget"] for r in refusals} == {"cleo-pdb"}  # retried, budget named
    changes = [r["change"] for r in audit(rig.run_dir) if r["result"] == "ok"]
    assert changes[0] == "cordon" and changes[-1] == "uncordon"
    phases = [(f["phase"], f.get("status")) for f in faults(rig.run_dir)]
    assert ("inject_end", "failed") in phases and phases[-1] == ("rollback_end", "succeeded")
    assert {p.metadata.uid for p in pods(rig.sandbox, rig.namespace)} == before  # nothing evicted
    assert_nodes_clean(rig.sandbox)


def test_budget_allowing_one_completes(rig: Rig) -> None:
    node = cleo_on_one_node(rig, budget=1)
    client.AppsV1Api(rig.sandbox.api).create_namespaced_daemon_set(
        rig.namespace,
        {
            "metadata": {"name": "node-agent"},
            "spec": {
                "selector": {"matchLabels": {"app": "node-agent"}},
                "template": {
                    "metadata": {"labels": {"app": "node-agent"}},
                    "spec": {
                        "nodeSelector": {"kubernetes.io/hostname": node},
                        "containers": [{"name": "a", "image": "registry.invalid/agent:1"}],
                    },
                },
            },
        },
    )
    wait_until(
        "the DaemonSet pod",
        lambda: [
            p for p in pods(rig.sandbox, rig.namespace, "app=node-agent") if p.status.phase == "Running"
        ],
    )
    ds_uid = pods(rig.sandbox, rig.namespace, "app=node-agent")[0].metadata.uid
    on_node = {
        p.metadata.uid
        for p in pods(rig.sandbox, rig.namespace, "app.kubernetes.io/name=cleo")
        if p.spec.node_name == node
    }
    journal, out = chaos_run(
        EXPERIMENTS / "node-drain.json",
        rig.env(
            VALIDATOR_DRAIN_NODE_SELECTOR=f"kubernetes.io/hostname={node}", VALIDATOR_DRAIN_TIMEOUT_S="60"
        ),
        rig.tmp / "journal.json",
    )
    assert journal["steady_states"]["before"]["steady_state_met"], out
    assert [r["status"] for r in journal["run"]] == ["succeeded", "succeeded"], out
    assert journal["run"][0]["output"]["evicted"] and not journal["run"][0]["output"]["pending"]
    assert journal["run"][1]["output"] is True
    # what the steady-state probe saw after the drain (it failed once in CI: if it does again, this
    # says which Deployment or pod was short)
    assert journal["steady_states"]["after"]["steady_state_met"], (
        journal["steady_states"]["after"],
        [(p.metadata.name, p.spec.node_name, p.status.phase, p.metadata.deletion_timestamp)
         for p in pods(rig.sandbox, rig.namespace)],
        out,
    )
    assert any("(DaemonSet pod)" in s for s in journal["run"][0]["output"]["skipped"])
    assert [p.metadata.uid for p in pods(rig.sandbox, rig.namespace, "app=node-agent")] == [ds_uid]
    now = pods(rig.sandbox, rig.namespace)
    assert not on_node & {p.metadata.uid for p in now}
    wait_until(
        "cleo back to 2", lambda: ready_count(rig.sandbox, rig.namespace, "app.kubernetes.io/name=cleo") == 2
    )
    assert_nodes_clean(rig.sandbox)


def test_node_hosting_pods_outside_the_allow_list_is_refused(rig: Rig) -> None:
    node = cleo_on_one_node(rig, budget=1)
    deployment(rig.sandbox, rig.decoy_ns, "decoy", replicas=1, node_selector={"kubernetes.io/hostname": node})
    wait_until("decoy ready", lambda: ready_count(rig.sandbox, rig.decoy_ns) == 1)
    decoys = decoy_state(rig.sandbox, rig.decoy_ns)
    journal, _out = chaos_run(
        EXPERIMENTS / "node-drain.json",
        rig.env(VALIDATOR_DRAIN_NODE_SELECTOR=f"kubernetes.io/hostname={node}"),
        rig.tmp / "journal.json",
    )
    assert journal["run"][0]["status"] == "failed"
    assert "outside the allow-list" in journal["run"][0]["exception"][-1]
    assert not [r for r in audit(rig.run_dir) if r["change"] == "cordon"]
    assert decoy_state(rig.sandbox, rig.decoy_ns) == decoys
    assert_nodes_clean(rig.sandbox)


def test_draining_the_last_node_of_a_pool_is_refused_with_exit_4(rig: Rig) -> None:
    write_allowlist(rig.sandbox, rig.allowlist, [rig.namespace], max_cordoned_nodes=10)
    before = node_states(rig.sandbox)
    proc = validator_cli(
        ["plan", str(EXPERIMENTS / "node-drain.json")],
        rig.env(VALIDATOR_DRAIN_NODE_SELECTOR=f"node-pool={POOL}", VALIDATOR_DRAIN_COUNT="2"),
    )
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "last schedulable node of pool 'quality'" in proc.stdout
    assert node_states(rig.sandbox) == before


def test_selector_reaching_kube_system_is_refused_with_exit_4(rig: Rig) -> None:
    write_allowlist(rig.sandbox, rig.allowlist, ["*"])
    proc = validator_cli(
        ["plan", str(EXPERIMENTS / "pod-eviction.json")],
        rig.env(VALIDATOR_TARGET_NAMESPACE="kube-system", VALIDATOR_EVICT_SELECTOR="tier=x"),
    )
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "namespace 'kube-system' is a system namespace and is always refused" in proc.stdout


def test_selector_matching_nothing_is_an_error(rig: Rig) -> None:
    proc = validator_cli(
        ["plan", str(EXPERIMENTS / "pod-eviction.json")],
        rig.env(VALIDATOR_EVICT_SELECTOR="app.kubernetes.io/name=nobody"),
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "matched no running pods" in proc.stdout


def test_unlisted_context_makes_no_api_call(rig: Rig) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    hits: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            hits.append(1)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    kc = yaml.safe_load(rig.sandbox.kubeconfig.read_text())
    for cluster in kc["clusters"]:
        cluster["cluster"]["server"] = f"https://127.0.0.1:{listener.getsockname()[1]}"
    copy = rig.tmp / "kubeconfig.yaml"
    copy.write_text(yaml.safe_dump(kc))
    empty = rig.tmp / "empty-allow.yaml"
    empty.write_text("contexts: {}\n")
    try:
        for args in (["plan", str(EXPERIMENTS / "node-drain.json")], ["recover"]):
            env = rig.env(VALIDATOR_ALLOWLIST=str(empty), VALIDATOR_KUBECONFIG=str(copy))
            proc = validator_cli(args, env)
            assert proc.returncode == 4 and "not in the allow-list" in proc.stderr, proc.stderr
        journal, _ = chaos_run(
            EXPERIMENTS / "node-drain.json",
            rig.env(VALIDATOR_ALLOWLIST=str(empty), VALIDATOR_KUBECONFIG=str(copy)),
            rig.tmp / "journal.json",
        )
        assert "not in the allow-list" in journal["steady_states"]["before"]["probes"][0]["exception"][-1]
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()
    assert hits == []
    assert not audit(rig.run_dir)


def test_plan_writes_nothing_and_asks_budgets(rig: Rig) -> None:
    node = cleo_on_one_node(rig, budget=0)
    api = rig.sandbox.api

    def versions() -> dict[str, str]:
        core, policy, apps = client.CoreV1Api(api), client.PolicyV1Api(api), client.AppsV1Api(api)
        out = {f"node/{n.metadata.name}": n.metadata.resource_version for n in core.list_node().items}
        out |= {
            f"pod/{p.metadata.uid}": p.metadata.resource_version
            for p in core.list_namespaced_pod(rig.namespace).items
        }
        out |= {
            f"pdb/{p.metadata.name}": p.metadata.resource_version
            for p in policy.list_namespaced_pod_disruption_budget(rig.namespace).items
        }
        out |= {
            f"deploy/{d.metadata.name}": d.metadata.resource_version
            for d in apps.list_namespaced_deployment(rig.namespace).items
        }
        return out

    before = versions()
    proc = validator_cli(
        ["plan", str(EXPERIMENTS / "node-drain.json"), "--json"],
        rig.env(VALIDATOR_DRAIN_NODE_SELECTOR=f"kubernetes.io/hostname={node}"),
    )
    assert proc.returncode == 0, proc.stderr
    import json

    plan = json.loads(proc.stdout)["plans"][0]
    writes = [w for s in plan["steps"] for w in s["writes"]]
    assert {"verb": "patch", "object": f"node/{node}", "change": "cordon", "note": ""} in writes
    evictions = [w for w in writes if w["change"] == "evict"]
    assert evictions and all("would be refused by budget cleo-pdb" in w["note"] for w in evictions)
    # kwok heartbeats touch nodes' status: compare nodes on spec and marks, everything else exactly
    after = versions()
    assert {k: v for k, v in after.items() if not k.startswith("node/")} == {
        k: v for k, v in before.items() if not k.startswith("node/")
    }
    assert_nodes_clean(rig.sandbox)
    assert not (rig.run_dir / "audit.jsonl").exists()
