"""The Chaos Mesh mechanism against the real apiserver (its StressChaos CRD installed, no controller:
what we check is our side, a unique object labelled with the run, deleted by the rollback and by
recover), the node-failure hook mechanism, and planning a suite."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.support.cluster import (
    EXPERIMENTS,
    assert_nodes_clean,
    audit,
    chaos_popen,
    chaos_run,
    deployment,
    empty_namespace,
    experiment_copy,
    experiment_env,
    quiet_node,
    ready_count,
    validator_cli,
    wait_until,
    write_allowlist,
)
from validator.safety import marks

pytestmark = pytest.mark.sandbox

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "stresschaos.chaos-mesh.org"},
    "spec": {
        "group": "chaos-mesh.org",
        "scope": "Namespaced",
        "names": {
            "plural": "stresschaos",
            "singular": "stresschaos",
            "kind": "StressChaos",
            "listKind": "StressChaosList",
        },
        "versions": [
            {
                "name": "v1alpha1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                },
            }
        ],
    },
}


@pytest.fixture(scope="module")
def stresschaos_crd(sandbox: Any) -> Iterator[None]:
    ext = client.ApiextensionsV1Api(sandbox.api)
    installed = False
    try:
        ext.create_custom_resource_definition(CRD)
        installed = True
    except ApiException as exc:
        if exc.status != 409:
            raise
    wait_until(
        "the StressChaos CRD established",
        lambda: any(
            c.type == "Established" and c.status == "True"
            for c in ext.read_custom_resource_definition("stresschaos.chaos-mesh.org").status.conditions or []
        ),
    )
    time.sleep(1)
    yield
    if installed:
        ext.delete_custom_resource_definition("stresschaos.chaos-mesh.org")


def stressors(sandbox: Any, namespace: str) -> list[dict[str, Any]]:
    found = client.CustomObjectsApi(sandbox.api).list_namespaced_custom_object(
        "chaos-mesh.org", "v1alpha1", namespace, "stresschaos"
    )
    return list(found.get("items", []))


@pytest.fixture
def rig(sandbox: Any, namespace: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    allowlist = write_allowlist(sandbox, tmp_path / "allow.yaml", [namespace])
    deployment(sandbox, namespace, "rex", replicas=2)
    wait_until("rex ready", lambda: ready_count(sandbox, namespace) == 2)
    env = experiment_env(
        sandbox,
        allowlist,
        tmp_path / "run",
        VALIDATOR_TARGET_NAMESPACE=namespace,
        VALIDATOR_WORKLOAD_SELECTOR="app.kubernetes.io/name=rex",
        VALIDATOR_MEMORY_SELECTOR="app.kubernetes.io/name=rex",
        VALIDATOR_MEMORY_MECHANISM="chaos-mesh",
        VALIDATOR_MEMORY="256MB",
    )
    try:
        yield {
            "env": env,
            "tmp": tmp_path,
            "run_dir": tmp_path / "run",
            "namespace": namespace,
            "sandbox": sandbox,
        }
    finally:
        validator_cli(["recover", "--run-id", "run"], env)
        empty_namespace(sandbox, namespace)


def test_chaos_mesh_stressor_is_unique_marked_and_removed(stresschaos_crd: None, rig: dict[str, Any]) -> None:
    seen: dict[str, dict[str, Any]] = {}
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            for item in stressors(rig["sandbox"], rig["namespace"]):
                seen[item["metadata"]["name"]] = item
            stop.wait(0.2)

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    exp = experiment_copy("memory-pressure", rig["tmp"], **{"raise-agent-memory": {"after": 2}})
    try:
        journal, out = chaos_run(exp, rig["env"], rig["tmp"] / "journal.json")
    finally:
        stop.set()
        poller.join(timeout=5)
    assert journal["run"][0]["status"] == "succeeded", out
    assert len(seen) == 1, seen
    name, item = next(iter(seen.items()))
    assert name.startswith("validator-memory-") and name == journal["run"][0]["output"]["stresschaos"]
    assert item["metadata"]["labels"][marks.RUN_ID] == "run"
    assert item["spec"]["stressors"]["memory"]["size"] == "256MB"
    assert stressors(rig["sandbox"], rig["namespace"]) == []  # the rollback deleted it
    changes = [(r["verb"], r["change"]) for r in audit(rig["run_dir"]) if r["result"] == "ok"]
    assert changes == [("create", "stress-memory"), ("delete", "delete-stressor")]
    # a second run gets another name: never a silent reuse of an existing object
    journal2, _ = chaos_run(exp, rig["env"], rig["tmp"] / "journal2.json")
    assert journal2["run"][0]["output"]["stresschaos"] != name


def test_chaos_mesh_stressor_after_sigkill_is_recovered(stresschaos_crd: None, rig: dict[str, Any]) -> None:
    exp = experiment_copy("memory-pressure", rig["tmp"], **{"raise-agent-memory": {"after": 60}})
    proc = chaos_popen(exp, rig["env"], rig["tmp"] / "journal.json")
    try:
        wait_until("the stressor", lambda: stressors(rig["sandbox"], rig["namespace"]), 60)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    first = validator_cli(["recover"], rig["env"])
    assert first.returncode == 0 and "reverted stresschaos/" in first.stdout, first.stdout + first.stderr
    assert stressors(rig["sandbox"], rig["namespace"]) == []
    second = validator_cli(["recover"], rig["env"])
    assert second.returncode == 0 and "nothing to recover" in second.stdout


def test_plan_of_a_suite_lists_every_experiment(stresschaos_crd: None, rig: dict[str, Any]) -> None:
    suite = rig["tmp"] / "suite.yaml"
    # a whole suite, read as `run` reads it (plan used to accept any YAML with an experiments list)
    suite.write_text(
        "schema: validator.suite/v1\nname: plan-test\n"
        f"namespaces: [{rig['namespace']}]\n"
        "load: {profile: steady, caps: {max_users: 1, max_spawn_rate: 1}}\n"
        "experiments:\n"
        + "".join(
            f"  - {{name: {name}, path: {EXPERIMENTS / (name + '.json')}, at: {{sandbox: 5s, real: 5s}}}}\n"
            for name in ("memory-pressure", "pod-eviction")
        )
        + "timings:\n"
        "  sandbox: {load_duration: 60s, time_factor: 30, cooldown: 30s}\n"
        "  real: {load_duration: 30m, time_factor: 1, cooldown: 10m}\n"
    )
    env = {**rig["env"], "VALIDATOR_EVICT_SELECTOR": "app.kubernetes.io/name=rex"}
    proc = validator_cli(["plan", str(suite), "--json"], env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    plans = json.loads(proc.stdout)["plans"]
    writes = [w for p in plans for s in p["steps"] for w in s["writes"]]
    assert any(
        w["verb"] == "create" and w["object"].startswith(f"stresschaos/{rig['namespace']}/") for w in writes
    )
    assert any(w["change"] == "evict" and "allowed by every budget" in w["note"] for w in writes)
    assert stressors(rig["sandbox"], rig["namespace"]) == [] and not audit(rig["run_dir"])


def test_node_failure_hook_mechanism(sandbox: Any, namespace: str, tmp_path: Path) -> None:
    allowlist = write_allowlist(sandbox, tmp_path / "allow.yaml", [namespace])
    node = quiet_node(sandbox, [namespace])
    log = tmp_path / "hook.log"
    env = experiment_env(
        sandbox,
        allowlist,
        tmp_path / "run",
        VALIDATOR_TARGET_NAMESPACE=namespace,
        VALIDATOR_WORKLOAD_SELECTOR="app.kubernetes.io/name=tess",
        VALIDATOR_FAIL_NODE_SELECTOR=f"kubernetes.io/hostname={node}",
        VALIDATOR_NODE_FAILURE_MECHANISM="hook",
        VALIDATOR_NODE_FAILURE_HOOK=f"sh -c 'echo stop {{node}} >> {log}'",
        VALIDATOR_NODE_RESTORE_HOOK=f"sh -c 'echo start {{node}} >> {log}'",
    )
    deployment(sandbox, namespace, "tess", replicas=1)
    try:
        wait_until("tess ready", lambda: ready_count(sandbox, namespace) == 1)
        journal, out = chaos_run(EXPERIMENTS / "node-failure.json", env, tmp_path / "journal.json")
        assert journal["run"][0]["status"] == "succeeded", out
        assert log.read_text().split("\n")[:2] == [f"stop {node}", f"start {node}"]
        assert [(r["verb"], r["change"]) for r in audit(tmp_path / "run") if r["result"] == "ok"] == [
            ("exec", "node-failure-hook"),
            ("exec", "node-restore-hook"),
        ]
        assert_nodes_clean(sandbox)
    finally:
        empty_namespace(sandbox, namespace)
