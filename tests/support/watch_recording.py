"""Test support for the recorder against the sandbox: start it, and wait on what it has written.

Waiting on the recorder's own file (not on the API) makes each wait also an assertion that the
recorder saw the change. Every wait has an explicit deadline and says what it waited for.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client

from validator.collect.recorder import KINDS, KubernetesRecorder, RecorderTuning, WatchedResource
from validator.model import format_rfc3339
from validator.sandbox.node_pools import POOL_LABEL, node_manifests

# Short server timeouts so the re-watch path runs during a test too.
TEST_TUNING = RecorderTuning(server_timeout_seconds=20, read_margin_seconds=5, backoff_base_seconds=0.2)


class Follow:
    """The recorder's lines so far, read incrementally, with the latest object per (kind, name)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self.lines: list[dict[str, Any]] = []
        self.latest: dict[tuple[str, str], dict[str, Any]] = {}

    def poll(self) -> list[dict[str, Any]]:
        if self.path.exists():
            with self.path.open("rb") as handle:
                handle.seek(self._offset)
                data = handle.read()
            end = data.rfind(b"\n") + 1
            self._offset += end
            for raw in data[:end].splitlines():
                record = json.loads(raw)
                self.lines.append(record)
                if record["type"] == "DELETED":
                    self.latest.pop((record["kind"], record["name"]), None)
                elif record["type"] != "GAP":
                    self.latest[(record["kind"], record["name"])] = record["object"]
        return self.lines

    def get(self, kind: str, name: str) -> dict[str, Any]:
        return self.latest.get((kind, name)) or {}

    def wait(self, what: str, done: Callable[[Follow], bool], timeout: float = 30.0) -> float:
        """Poll the file until `done`; return the seconds it took. Fails with `what` and the last lines."""
        began = time.monotonic()
        while True:
            self.poll()
            if done(self):
                return time.monotonic() - began
            if time.monotonic() - began > timeout:
                tail = "\n".join(
                    f"  {r['type']} {r['kind']} {r.get('name', '')} rv={r.get('resource_version', '')}"
                    for r in self.lines[-8:]
                )
                raise AssertionError(
                    f"the recorder did not see {what} within {timeout:.0f} s ({self.path}); "
                    f"last lines:\n{tail}"
                )
            time.sleep(0.05)

    def of(self, kind: str, name: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.lines if r["kind"] == kind and (name is None or r.get("name") == name)]


@contextmanager
def recording(
    sandbox: Any,
    namespace: str,
    out: Path,
    *,
    kinds: tuple[str, ...] = KINDS,
    resources: list[WatchedResource] | None = None,
) -> Iterator[tuple[KubernetesRecorder, Follow]]:
    """A started, synced recorder on `namespace` (and nodes), stopped on exit."""
    if resources is None:
        recorder = KubernetesRecorder.from_kubeconfig(
            out,
            kubeconfig=sandbox.kubeconfig,
            context=sandbox.context,
            namespaces=[namespace],
            kinds=kinds,
            tuning=TEST_TUNING,
        )
    else:
        recorder = KubernetesRecorder(out, resources, tuning=TEST_TUNING)
    with recorder:
        yield recorder, Follow(out)


# --- object helpers ----------------------------------------------------------------------------------


def pod_manifest(
    name: str, *, labels: dict[str, str] | None = None, cpu: str = "100m", pool: str | None = None
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels or {"app.kubernetes.io/name": "rex"}},
        "spec": {"nodeSelector": node_selector(pool), "containers": [container(cpu)]},
    }


def node_selector(pool: str | None) -> dict[str, str]:
    return {"type": "kwok", POOL_LABEL: pool} if pool else {"type": "kwok"}


@contextmanager
def private_node(core: Any) -> Iterator[str]:
    """One fake node in a pool of its own, so other tests' node faults cannot touch our pods."""
    pool = f"rec{uuid.uuid4().hex[:6]}"
    (manifest,) = node_manifests({"implementation": 1})
    name = f"{pool}-1"
    manifest["metadata"]["name"] = name
    manifest["metadata"]["labels"].update({POOL_LABEL: pool, "kubernetes.io/hostname": name})
    manifest["metadata"]["annotations"]["metrics.k8s.io/resource-metrics-path"] = (
        f"/metrics/nodes/{name}/metrics/resource"
    )
    core.create_node(manifest)
    keeper = LeaseKeeper(client.CoordinationV1Api(core.api_client), name)
    keeper.start()
    try:
        deadline = time.monotonic() + 60
        while not any(
            c.type == "Ready" and c.status == "True" for c in (core.read_node(name).status.conditions or [])
        ):
            if time.monotonic() > deadline:
                raise AssertionError(f"private node {name} did not become Ready within 60 s")
            time.sleep(0.2)
        yield pool
    finally:
        keeper.stop()
        core.delete_node(name)


class LeaseKeeper:
    """Renews a node's Lease every 2 s, as a kubelet would.

    The sandbox's kwok renews node leases about every 10 s, at the edge of the controller-manager's
    10 s --node-monitor-grace-period; a late renewal marks the node Unknown and leaves its pods
    NotReady. Tests that time availability keep their private node's lease fresh themselves.
    """

    def __init__(self, coordination: Any, node: str) -> None:
        self._api = coordination
        self._node = node
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{node}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.wait(2.0):
            now = datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            with contextlib.suppress(Exception):  # absent until kwok creates it; conflicts are harmless
                self._api.patch_namespaced_lease(self._node, "kube-node-lease", {"spec": {"renewTime": now}})


def container(cpu: str = "100m") -> dict[str, Any]:
    return {
        "name": "main",
        "image": "registry.invalid/agent:1",
        "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
    }


def pod_ready(obj: dict[str, Any]) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def restart_count(obj: dict[str, Any]) -> int:
    statuses = (obj.get("status") or {}).get("containerStatuses") or []
    return sum(int(c.get("restartCount") or 0) for c in statuses)


def available(obj: dict[str, Any]) -> int:
    return int((obj.get("status") or {}).get("availableReplicas") or 0)


def write_manifest(
    run_dir: Path, *, run_id: str, suite: str, context: str, namespace: str, start: float, end: float
) -> None:
    """The manifest `validator evaluate` needs for a recording made by a test in one namespace."""
    manifest = {
        "schema": "validator.manifest/v1",
        "run_id": run_id,
        "suite": suite,
        "window": {"start": format_rfc3339(start), "end": format_rfc3339(end)},
        "context": context,
        "namespaces": [namespace],
        "sandbox": True,
        "agent_label": "app.kubernetes.io/name",
        "controller_selector": "app.kubernetes.io/component=controller",
        "expected_alerts": {},
        "criteria": {},
    }
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
