"""Signals in every phase of a real drain leave the cluster clean and the evidence on disk; after a
SIGKILL, `validator recover` (twice) does."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cluster import (
    assert_nodes_clean,
    audit,
    chaos_popen,
    deployment,
    empty_namespace,
    experiment_copy,
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


class Output:
    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self.thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line)

    def seen(self, text: str) -> bool:
        return any(text in line for line in self.lines)

    @property
    def text(self) -> str:
        return "".join(self.lines)


@pytest.fixture
def drain_rig(sandbox: Any, namespace: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    allowlist = write_allowlist(sandbox, tmp_path / "allow.yaml", [namespace])
    target = quiet_node(sandbox, [namespace])
    deployment(sandbox, namespace, "cleo", replicas=2, prefer_node=target)
    pdb(sandbox, namespace, "cleo-pdb", "cleo", max_unavailable=0)
    wait_until("cleo ready", lambda: ready_count(sandbox, namespace, "app.kubernetes.io/name=cleo") == 2)
    wait_until("budget observed", lambda: pdb_ready(sandbox, namespace, "cleo-pdb", 0))
    node = str(pods(sandbox, namespace, "app.kubernetes.io/name=cleo")[0].spec.node_name)
    run_dir = tmp_path / "run"
    env = experiment_env(
        sandbox,
        allowlist,
        run_dir,
        VALIDATOR_TARGET_NAMESPACE=namespace,
        VALIDATOR_WORKLOAD_SELECTOR="app.kubernetes.io/name=cleo",
        VALIDATOR_DRAIN_NODE_SELECTOR=f"kubernetes.io/hostname={node}",
    )
    try:
        yield {
            "env": env,
            "run_dir": run_dir,
            "node": node,
            "tmp": tmp_path,
            "sandbox": sandbox,
            "allowlist": allowlist,
        }
    finally:
        validator_cli(["recover", "--run-id", "run"], env)
        empty_namespace(sandbox, namespace)


PHASES = {
    # phase: (pauses added, drain timeout, what to wait for before signalling)
    "before-injection": ({"drain-one-agent-node": {"before": 6}}, "30", "Pausing before next activity"),
    "during-injection": ({}, "30", "refused"),
    "during-rollback": ({"uncordon-drained-nodes": {"before": 3}}, "2", "Let's rollback"),
}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
@pytest.mark.parametrize("phase", list(PHASES))
def test_signal_leaves_cluster_clean(drain_rig: dict[str, Any], phase: str, signum: signal.Signals) -> None:
    pauses, timeout, marker = PHASES[phase]
    exp = experiment_copy("node-drain", drain_rig["tmp"], **pauses)
    env = {**drain_rig["env"], "VALIDATOR_DRAIN_TIMEOUT_S": timeout}
    proc = chaos_popen(exp, env, drain_rig["tmp"] / "journal.json")
    out = Output(proc)
    run_dir: Path = drain_rig["run_dir"]
    if marker == "refused":
        wait_until("a refused eviction", lambda: any(r["result"] == "refused" for r in audit(run_dir)), 60)
    else:
        wait_until(marker, lambda: out.seen(marker), 60)
    proc.send_signal(signum)
    if phase == "during-rollback":
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)  # a second Ctrl-C only warns
    proc.wait(timeout=90)
    out.thread.join(timeout=5)
    assert_nodes_clean(drain_rig["sandbox"])
    lines = faults(run_dir)
    assert lines and lines[0]["phase"] == "inject_start", out.text
    assert any(f["phase"] == "rollback_end" for f in lines), out.text
    records = audit(run_dir)
    if any(r["change"] == "cordon" and r["result"] == "ok" for r in records):
        assert records[-1]["change"] == "uncordon" and records[-1]["result"] == "ok", records
    if phase == "during-rollback":
        assert "received again" in out.text


def test_sigkill_then_recover_twice(drain_rig: dict[str, Any]) -> None:
    env = {**drain_rig["env"], "VALIDATOR_DRAIN_TIMEOUT_S": "60"}
    proc = chaos_popen(
        Path(__file__).resolve().parents[2] / "experiments" / "node-drain.json",
        env,
        drain_rig["tmp"] / "journal.json",
    )
    Output(proc)
    run_dir: Path = drain_rig["run_dir"]
    wait_until("a refused eviction", lambda: any(r["result"] == "refused" for r in audit(run_dir)), 60)
    proc.kill()
    proc.wait(timeout=30)
    sandbox = drain_rig["sandbox"]
    unschedulable, mark, _ = node_states(sandbox)[drain_rig["node"]]
    assert unschedulable and mark == "uncordon"  # left behind, but marked
    first = validator_cli(["recover"], env)
    assert first.returncode == 0, first.stderr
    assert f"reverted node/{drain_rig['node']}: uncordon" in first.stdout
    assert_nodes_clean(sandbox)
    second = validator_cli(["recover"], env)
    assert second.returncode == 0 and "nothing to recover" in second.stdout
    assert_nodes_clean(sandbox)
    assert [r["change"] for r in audit(run_dir) if r["result"] == "ok"][-1] == "uncordon"


@pytest.fixture
def memory_rig(sandbox: Any, namespace: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    allowlist = write_allowlist(sandbox, tmp_path / "allow.yaml", [namespace])
    deployment(sandbox, namespace, "rex", replicas=2, memory_limit="4Gi")
    wait_until("rex ready", lambda: ready_count(sandbox, namespace) == 2)
    env = experiment_env(
        sandbox,
        allowlist,
        tmp_path / "run",
        VALIDATOR_TARGET_NAMESPACE=namespace,
        VALIDATOR_WORKLOAD_SELECTOR="app.kubernetes.io/name=rex",
        VALIDATOR_MEMORY_SELECTOR="app.kubernetes.io/name=rex",
        VALIDATOR_MEMORY="3Gi",
        VALIDATOR_MEMORY_MECHANISM="sandbox",  # the experiment's default is Chaos Mesh
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


def pressured(rig: dict[str, Any]) -> list[str]:
    return [
        p.metadata.name
        for p in pods(rig["sandbox"], rig["namespace"])
        if "sim.validator.io/memory" in (p.metadata.annotations or {})
        or "validator.io/revert" in (p.metadata.annotations or {})
    ]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_signal_during_memory_pressure_restores_pods(
    memory_rig: dict[str, Any], signum: signal.Signals
) -> None:
    exp = experiment_copy("memory-pressure", memory_rig["tmp"], **{"raise-agent-memory": {"after": 30}})
    proc = chaos_popen(exp, memory_rig["env"], memory_rig["tmp"] / "journal.json")
    out = Output(proc)
    wait_until("a pressured pod", lambda: pressured(memory_rig), 60)
    proc.send_signal(signum)
    proc.wait(timeout=60)
    out.thread.join(timeout=5)
    assert pressured(memory_rig) == [], out.text
    phases = [f["phase"] for f in faults(memory_rig["run_dir"])]
    assert phases[0] == "inject_start" and phases[-1] == "rollback_end", out.text
    assert [r["change"] for r in audit(memory_rig["run_dir"]) if r["result"] == "ok"] == [
        "memory-pressure",
        "restore-annotations",
    ]


def test_sigkill_during_memory_pressure_then_recover(memory_rig: dict[str, Any]) -> None:
    exp = experiment_copy("memory-pressure", memory_rig["tmp"], **{"raise-agent-memory": {"after": 60}})
    proc = chaos_popen(exp, memory_rig["env"], memory_rig["tmp"] / "journal.json")
    Output(proc)
    try:
        wait_until("a pressured pod", lambda: pressured(memory_rig), 60)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert pressured(memory_rig)
    first = validator_cli(["recover"], memory_rig["env"])
    assert first.returncode == 0 and "restore-annotations" in first.stdout, first.stdout + first.stderr
    assert pressured(memory_rig) == []
    second = validator_cli(["recover"], memory_rig["env"])
    assert second.returncode == 0 and "nothing to recover" in second.stdout
