"""`validator sandbox up | status | env | down` on a cluster of its own (not the shared one)."""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from validator.cli import main
from validator.sandbox import lifecycle
from validator.sandbox.kwokctl_driver import KWOK_GOGC, kwok_component_pids, node_lease_duration_s
from validator.sandbox.local_processes import pid_alive
from validator.sandbox.node_pools import node_manifests, plan_pools

pytestmark = pytest.mark.sandbox


def _listener_commands(port: int) -> list[str]:
    """Command lines of the processes listening on 127.0.0.1/0.0.0.0:`port` (from /proc/net/tcp)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{inode}]")
    owners = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = [os.readlink(fd) for fd in (entry / "fd").iterdir()]
            if inodes & set(fds):
                owners.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return owners


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _live_processes_naming(path: Path) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(path).encode() in cmdline and state != "Z":  # zombies are dead, just unreaped
            found.append(f"{entry.name}: {cmdline[:120]!r}")
    return found


def _kwok_ports(info: lifecycle.SandboxInfo) -> list[int]:
    saved = Path(info.state_dir) / "kwok" / "clusters" / info.name / "kwok.yaml"
    doc = next(
        d for d in yaml.safe_load_all(saved.read_text()) if d and d.get("kind") == "KwokctlConfiguration"
    )
    return [int(v) for k, v in doc["options"].items() if k.endswith("Port") and isinstance(v, int) and v > 0]


def test_up_is_idempotent_and_down_leaves_no_process_port_or_file(capsys: pytest.CaptureFixture[str]) -> None:
    name = f"lifecycle-{uuid.uuid4().hex[:6]}"
    user_kubeconfig = Path.home() / ".kube" / "config"
    before = user_kubeconfig.read_bytes() if user_kubeconfig.exists() else None
    try:
        assert main(["sandbox", "up", "--name", name, "--nodes", "8"]) == 0
        info = lifecycle.load_info(name)
        assert info is not None
        state = Path(info.state_dir)
        ports = [*info.ports.values(), *_kwok_ports(info)]
        assert all(_listening(p) for p in info.ports.values())
        status = lifecycle.status(name)
        assert status is not None and status.healthy
        assert status.nodes_ready == {
            "implementation": (2, 2),
            "quality": (2, 2),
            "system": (2, 2),
            "testing": (2, 2),
        }
        # every component listens on loopback only
        assert info.apiserver_url.startswith("https://127.0.0.1:")
        assert info.prometheus_url.startswith("http://127.0.0.1:")

        # up again: nothing changes
        assert main(["sandbox", "up", "--name", name, "--nodes", "8"]) == 0
        again = lifecycle.load_info(name)
        assert again == info
        assert all(pid_alive(rec) for rec in info.processes.values())

        capsys.readouterr()
        assert main(["sandbox", "env", "--name", name]) == 0
        exports = capsys.readouterr().out
        assert f"export KUBECONFIG={info.kubeconfig}" in exports
        assert f"export VALIDATOR_PROMETHEUS_URL={info.prometheus_url}" in exports
        assert main(["sandbox", "status", "--name", name]) == 0

        # the user's kubeconfig was never touched
        after = user_kubeconfig.read_bytes() if user_kubeconfig.exists() else None
        assert after == before
    finally:
        assert main(["sandbox", "down", "--name", name]) == 0

    assert not state.exists()
    assert _live_processes_naming(state) == []
    # kwokctl hands out the highest free ports first, so another sandbox on this machine may take a
    # port the moment it is released: what matters is that nothing of *this* sandbox listens.
    ours = {p: cmds for p in ports if (cmds := [c for c in _listener_commands(p) if str(state) in c])}
    assert ours == {}
    assert main(["sandbox", "status", "--name", name]) == 3  # nothing there: inconclusive, not an error
    assert main(["sandbox", "down", "--name", name]) == 0  # down twice is harmless


def test_too_few_nodes_is_refused_before_anything_starts(capsys: pytest.CaptureFixture[str]) -> None:
    name = f"few-{uuid.uuid4().hex[:6]}"
    assert main(["sandbox", "up", "--name", name, "--nodes", "3"]) == 2
    err = capsys.readouterr().err
    assert "--nodes 3 is too few" in err and "--nodes 8" in err
    assert not lifecycle.state_dir(name).exists()


def test_two_sandboxes_started_at_once_both_run_every_component() -> None:
    """kwokctl picks its components' ports by looking for free ones: two starts at once (two test
    workers, two users) once picked the same port and a controller-manager died on it unnoticed."""
    names = [f"pair-{uuid.uuid4().hex[:6]}" for _ in range(2)]
    errors: list[BaseException] = []

    def start(name: str) -> None:
        try:
            lifecycle.up(lifecycle.SandboxOptions(name=name, nodes=8))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=start, args=(name,)) for name in names]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=600)
        assert errors == []
        statuses = [lifecycle.status(name) for name in names]
        for status in statuses:
            assert status is not None and status.healthy, status
            assert {"kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"} <= set(
                status.processes_alive
            )
        ports = [
            {p for p in (*s.info.ports.values(), *_kwok_ports(s.info)) if p > 1024}  # not flags like 1
            for s in statuses
            if s is not None
        ]
        assert ports[0].isdisjoint(ports[1])
    finally:
        for name in names:
            lifecycle.down(name)


def _node_lease_durations(info: lifecycle.SandboxInfo, nodes: int) -> set[int]:
    """The durations of the nodes' leases, once kwok holds one for each node (within 30 s)."""
    with lifecycle.api_client(info) as api:
        coordination = client.CoordinationV1Api(api)
        deadline = time.monotonic() + 30
        while True:
            leases = coordination.list_namespaced_lease("kube-node-lease").items
            if len(leases) >= nodes or time.monotonic() > deadline:
                assert len(leases) == nodes
                return {lease.spec.lease_duration_seconds for lease in leases}
            time.sleep(1)


def test_up_with_50_nodes_makes_every_pools_nodes_ready_with_their_labels_and_no_taint() -> None:
    """Nodes are created many at a time: every one of them still arrives, in its pool, labelled,
    annotated and sized as the pool declares, Ready and schedulable (no taint: the pools declare
    none, and the not-ready taint is lifted) by the time `up` returns."""
    name = f"nodes-{uuid.uuid4().hex[:6]}"
    try:
        assert main(["sandbox", "up", "--name", name, "--nodes", "50"]) == 0
        info = lifecycle.load_info(name)
        assert info is not None
        with lifecycle.api_client(info) as api:
            nodes = {n["metadata"]["name"]: n for n in lifecycle.list_nodes_raw(api)}
        declared = {m["metadata"]["name"]: m for m in node_manifests(plan_pools(50))}
        assert sorted(nodes) == sorted(declared)
        for node_name, manifest in declared.items():
            node = nodes[node_name]
            labels = node["metadata"].get("labels") or {}
            assert manifest["metadata"]["labels"].items() <= labels.items(), node_name
            annotations = node["metadata"].get("annotations") or {}
            assert manifest["metadata"]["annotations"].items() <= annotations.items(), node_name
            capacity = node["status"]["capacity"]
            assert {k: capacity[k] for k in ("cpu", "memory", "pods")} == {
                k: manifest["status"]["capacity"][k] for k in ("cpu", "memory", "pods")
            }, node_name
            ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
            assert [c["status"] for c in ready] == ["True"], node_name
            assert (node.get("spec") or {}).get("taints") in (None, []), node_name
        status = lifecycle.status(name)
        assert status is not None
        assert status.nodes_ready == {pool: (n, n) for pool, n in plan_pools(50).items()}
        # kwok renews every node's lease with the duration the sandbox chose for its size
        assert _node_lease_durations(info, len(declared)) == {node_lease_duration_s(50)}
        # and runs with the garbage collector's pace the sandbox set for it
        kwok_pid = kwok_component_pids(Path(info.state_dir), name)["kwok-controller"]
        environ = Path(f"/proc/{kwok_pid}/environ").read_bytes().split(b"\0")
        assert f"GOGC={KWOK_GOGC}".encode() in environ
    finally:
        assert main(["sandbox", "down", "--name", name]) == 0
