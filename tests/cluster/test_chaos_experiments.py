"""Each experiment against the sandbox: it injects, the steady state is checked, the rollback leaves
the cluster as it was, and decoys outside the allow-list keep their UIDs and restart counts."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.support.cluster import (
    EXPERIMENTS,
    assert_nodes_clean,
    audit,
    chaos_run,
    decoy_state,
    deployment,
    empty_namespace,
    experiment_copy,
    experiment_env,
    faults,
    pdb,
    pdb_ready,
    pods,
    quiet_node,
    ready_count,
    validator_cli,
    wait_until,
    write_allowlist,
)
from validator.safety import marks

pytestmark = pytest.mark.sandbox


@dataclass
class Rig:
    sandbox: Any
    namespace: str
    decoy_ns: str
    allowlist: Path
    run_dir: Path
    tmp: Path
    decoys_before: dict[str, tuple[str, int]] = field(default_factory=dict)

    def env(self, **extra: str) -> dict[str, str]:
        values = {"VALIDATOR_TARGET_NAMESPACE": self.namespace, **extra}
        return experiment_env(self.sandbox, self.allowlist, self.run_dir, **values)


@pytest.fixture
def rig(sandbox: Any, namespace: str, tmp_path: Path) -> Iterator[Rig]:
    core = client.CoreV1Api(sandbox.api)
    decoy_ns = f"decoy-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=decoy_ns)))
    # decoys look exactly like the targets (same labels), in a namespace outside the allow-list
    deployment(
        sandbox,
        decoy_ns,
        "rex",
        replicas=1,
        labels={"app.kubernetes.io/component": "controller"},
        node_selector={"node-pool": "system"},
    )
    wait_until("decoys ready", lambda: ready_count(sandbox, decoy_ns) == 1)
    allowlist = write_allowlist(sandbox, tmp_path / "allow.yaml", [namespace])
    rig = Rig(
        sandbox, namespace, decoy_ns, allowlist, tmp_path / "run", tmp_path, decoy_state(sandbox, decoy_ns)
    )
    try:
        yield rig
        assert decoy_state(sandbox, decoy_ns) == rig.decoys_before, (
            "a decoy outside the allow-list was touched"
        )
        assert not any(r["object"].startswith(f"pod/{decoy_ns}/") for r in audit(rig.run_dir))
    finally:
        validator_cli(["recover", "--run-id", "run"], rig.env())
        empty_namespace(sandbox, namespace)
        empty_namespace(sandbox, decoy_ns)
        core.delete_namespace(decoy_ns, grace_period_seconds=0)


def fault_phases(run_dir: Path) -> list[tuple[str, str | None]]:
    return [(f["phase"], f.get("status")) for f in faults(run_dir)]


def assert_ran_clean(journal: dict[str, Any], out: str) -> None:
    assert journal["steady_states"]["before"]["steady_state_met"], out
    assert all(r["status"] == "succeeded" for r in journal["run"]), out
    assert journal["steady_states"]["after"]["steady_state_met"], out
    assert all(r["status"] == "succeeded" for r in journal["rollbacks"]), out


def test_memory_pressure_sandbox_mechanism(rig: Rig) -> None:
    deployment(rig.sandbox, rig.namespace, "rex", replicas=2, memory_limit="1Gi")
    wait_until("rex ready", lambda: ready_count(rig.sandbox, rig.namespace) == 2)
    journal, out = chaos_run(
        EXPERIMENTS / "memory-pressure.json",
        rig.env(
            VALIDATOR_WORKLOAD_SELECTOR="app.kubernetes.io/name=rex",
            VALIDATOR_MEMORY_SELECTOR="app.kubernetes.io/name=rex",
            VALIDATOR_MEMORY="110%",
            VALIDATOR_MEMORY_MECHANISM="sandbox",  # the experiment's default is Chaos Mesh
        ),
        rig.tmp / "journal.json",
    )
    assert_ran_clean(journal, out)
    target = journal["run"][0]["output"]["targets"][0]
    patched = [r for r in audit(rig.run_dir) if r["change"] == "memory-pressure" and r["result"] == "ok"]
    assert [r["object"] for r in patched] == [target]
    name = target.split("/")[-1]
    core = client.CoreV1Api(rig.sandbox.api)

    def restarted_oom() -> bool:
        pod = core.read_namespaced_pod(name, rig.namespace)
        return any(
            cs.restart_count >= 1
            and cs.last_state
            and cs.last_state.terminated
            and cs.last_state.terminated.reason == "OOMKilled"
            for cs in pod.status.container_statuses or []
        )

    wait_until("the OOM stage to kill the pressured pod", restarted_oom, 60)
    annotations = core.read_namespaced_pod(name, rig.namespace).metadata.annotations or {}
    leftovers = {k for k in annotations if k.startswith(("sim.validator.io/", "validator.io/"))}
    assert not leftovers, annotations  # rollback restored the original (absent) values
    assert [p for p, _ in fault_phases(rig.run_dir)] == [
        "inject_start",
        "inject_end",
        "rollback_start",
        "rollback_end",
    ]


def test_pod_eviction_honours_budget_and_pods_come_back(rig: Rig) -> None:
    deployment(rig.sandbox, rig.namespace, "cleo", replicas=2)
    pdb(rig.sandbox, rig.namespace, "cleo-pdb", "cleo", max_unavailable=1)
    wait_until("cleo ready", lambda: ready_count(rig.sandbox, rig.namespace) == 2)
    wait_until("budget observed", lambda: pdb_ready(rig.sandbox, rig.namespace, "cleo-pdb", 1))
    before = {p.metadata.uid for p in pods(rig.sandbox, rig.namespace)}
    journal, out = chaos_run(
        EXPERIMENTS / "pod-eviction.json",
        rig.env(
            VALIDATOR_WORKLOAD_SELECTOR="app.kubernetes.io/name=cleo",
            VALIDATOR_EVICT_SELECTOR="app.kubernetes.io/name=cleo",
        ),
        rig.tmp / "journal.json",
    )
    assert_ran_clean(journal, out)
    assert len(journal["run"][0]["output"]["evicted"]) == 1
    after = {p.metadata.uid for p in pods(rig.sandbox, rig.namespace)}
    assert len(before - after) == 1 and ready_count(rig.sandbox, rig.namespace) == 2


def test_controller_failure_controllers_come_back(rig: Rig) -> None:
    deployment(
        rig.sandbox,
        rig.namespace,
        "workflow-controller",
        replicas=1,
        labels={"app.kubernetes.io/component": "controller"},
        node_selector={"node-pool": "system"},
    )
    wait_until("controller ready", lambda: ready_count(rig.sandbox, rig.namespace) == 1)
    before = {p.metadata.uid for p in pods(rig.sandbox, rig.namespace)}
    journal, out = chaos_run(
        EXPERIMENTS / "controller-failure.json",
        rig.env(VALIDATOR_CONTROLLER_NAMESPACE=rig.namespace),
        rig.tmp / "journal.json",
    )
    assert_ran_clean(journal, out)
    assert [r["change"] for r in audit(rig.run_dir) if r["result"] == "ok"] == ["delete"]
    wait_until(
        "a new controller pod",
        lambda: (
            ready_count(rig.sandbox, rig.namespace) == 1
            and not before & {p.metadata.uid for p in pods(rig.sandbox, rig.namespace)}
        ),
    )


def test_node_failure_sandbox_mechanism(rig: Rig) -> None:
    node = quiet_node(rig.sandbox, [rig.namespace])
    deployment(rig.sandbox, rig.namespace, "tess", replicas=1)
    wait_until("tess ready", lambda: ready_count(rig.sandbox, rig.namespace) == 1)
    core = client.CoreV1Api(rig.sandbox.api)
    seen_not_ready: list[bool] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            n = core.read_node(node)
            if any(c.type == "Ready" and c.status != "True" for c in n.status.conditions or []):
                seen_not_ready.append(True)
            stop.wait(0.3)

    poller = threading.Thread(target=watch, daemon=True)
    poller.start()
    exp = experiment_copy("node-failure", rig.tmp, **{"fail-one-agent-node": {"after": 2}})
    try:
        journal, out = chaos_run(
            exp,
            rig.env(
                VALIDATOR_WORKLOAD_SELECTOR="app.kubernetes.io/name=tess",
                VALIDATOR_FAIL_NODE_SELECTOR=f"kubernetes.io/hostname={node}",
                VALIDATOR_FAIL_CONDITION="MemoryPressure",
                VALIDATOR_NODE_FAILURE_MECHANISM="sandbox",  # the experiment's default is a hook
            ),
            rig.tmp / "journal.json",
        )
    finally:
        stop.set()
        poller.join(timeout=5)
    assert journal["run"][0]["status"] == "succeeded", out
    assert all(r["status"] == "succeeded" for r in journal["rollbacks"]), out
    assert seen_not_ready, "the node never went NotReady"
    wait_until(
        "node Ready again",
        lambda: any(
            c.type == "Ready" and c.status == "True" for c in core.read_node(node).status.conditions or []
        ),
        60,
    )
    meta = core.read_node(node).metadata
    assert "sim.validator.io/not-ready" not in (meta.labels or {})
    assert not {
        k
        for k in (meta.annotations or {})
        if k.startswith("validator.io/") or k == "sim.validator.io/not-ready-condition"
    }
    assert marks.CLEAR_NOT_READY in [r["change"] for r in audit(rig.run_dir)]
    assert_nodes_clean(rig.sandbox)
