"""The Kubernetes recorder against the real sandbox apiserver: what it writes, in what order, and
how it recovers from a real `410 Gone` (Events after an etcd compaction)."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from kubernetes import client

from tests.support.watch_recording import TEST_TUNING, Follow, pod_manifest, pod_ready, recording
from validator.collect.recorder import KINDS, WatchedResource, watched_resources
from validator.kube import api_client
from validator.sandbox.kwokctl_driver import kwok_components

pytestmark = pytest.mark.sandbox

REQUIRED = {"received_ms", "kind", "type", "namespace", "name", "uid", "resource_version", "object"}


def test_pod_created_modified_deleted_appear_in_order(sandbox: Any, namespace: str, tmp_path: Path) -> None:
    core = client.CoreV1Api(sandbox.api)
    out = tmp_path / "k8s.jsonl"
    with recording(sandbox, namespace, out) as (recorder, follow):
        before = int(time.time() * 1000)
        core.create_namespaced_pod(namespace, pod_manifest("lifecycle"))
        follow.wait("pod lifecycle Ready", lambda f: pod_ready(f.get("Pod", "lifecycle")))
        core.patch_namespaced_pod(
            "lifecycle", namespace, {"metadata": {"annotations": {"sim.validator.io/cpu": "300m"}}}
        )
        follow.wait(
            "the usage annotation on pod lifecycle",
            lambda f: (
                (f.get("Pod", "lifecycle").get("metadata") or {})
                .get("annotations", {})
                .get("sim.validator.io/cpu")
                == "300m"
            ),
        )
        core.delete_namespaced_pod("lifecycle", namespace, grace_period_seconds=0)
        follow.wait(
            "pod lifecycle DELETED", lambda f: any(r["type"] == "DELETED" for r in f.of("Pod", "lifecycle"))
        )
        # the scheduler writes its Events asynchronously (client-go's broadcaster): on a loaded
        # machine the Scheduled Event can reach the apiserver after the pod is gone (a full run,
        # 2026-12-06), so wait for its line rather than stop the recorder before it came
        follow.wait(
            "the scheduler's Scheduled Event about pod lifecycle",
            lambda f: any(
                r["object"].get("involvedObject", {}).get("name") == "lifecycle"
                and r["object"].get("reason") == "Scheduled"
                for r in f.of("Event")
            ),
        )
        stats = recorder.stop()

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    pod_lines = [r for r in lines if r["kind"] == "Pod" and r["name"] == "lifecycle"]
    types = [r["type"] for r in pod_lines]
    assert types[0] == "ADDED", types
    assert types[-1] == "DELETED", types
    assert set(types[1:-1]) == {"MODIFIED"}, types
    versions = [int(r["resource_version"]) for r in pod_lines]
    assert versions == sorted(versions) and len(set(versions)) == len(versions), versions
    received = [r["received_ms"] for r in pod_lines]
    assert received == sorted(received)
    assert received[0] >= before - 1
    # the pod's phases through the watch: Pending -> Running, the usage patch, then deletion
    assert any(pod_ready(r["object"]) for r in pod_lines)
    annotated = [
        i
        for i, r in enumerate(pod_lines)
        if r["object"]["metadata"].get("annotations", {}).get("sim.validator.io/cpu")
    ]
    assert annotated and annotated[0] > next(i for i, r in enumerate(pod_lines) if pod_ready(r["object"]))

    for record in lines:
        if record["type"] == "GAP":
            continue
        assert record.keys() >= REQUIRED, record.keys()
        assert record["kind"] in KINDS
        assert "managedFields" not in record["object"]["metadata"]
        if record["kind"] != "Node":
            assert record["namespace"] == namespace
    # the scheduler's event about the pod arrives as an Event line
    scheduled = [
        r
        for r in lines
        if r["kind"] == "Event" and r["object"].get("involvedObject", {}).get("name") == "lifecycle"
    ]
    assert any(r["object"].get("reason") == "Scheduled" for r in scheduled), [
        r["object"].get("reason") for r in scheduled
    ]
    assert stats.gaps == 0
    # the initial list of every kind that has objects is written as RELIST, before any watch event
    assert {r["kind"] for r in lines if r["type"] == "RELIST"} >= {"Node"}


def test_node_patch_appears(sandbox: Any, namespace: str, tmp_path: Path) -> None:
    core = client.CoreV1Api(sandbox.api)
    node = core.list_node(label_selector="type=kwok").items[0].metadata.name
    token = f"t{time.time_ns()}"
    key = "recorder-test.validator.io/token"
    with recording(sandbox, namespace, tmp_path / "k8s.jsonl", kinds=("Node",)) as (_, follow):
        try:
            core.patch_node(node, {"metadata": {"labels": {key: token}}})
            follow.wait(
                f"label {key}={token} on node {node}",
                lambda f: any(
                    r["type"] == "MODIFIED" and r["object"]["metadata"].get("labels", {}).get(key) == token
                    for r in f.of("Node", node)
                ),
            )
        finally:
            core.patch_node(node, {"metadata": {"labels": {key: None}}})
    relisted = {r["name"] for r in follow.lines if r["type"] == "RELIST"}
    assert node in relisted  # the cluster-wide initial list
    assert all(r["namespace"] == "" for r in follow.of("Node") if r["type"] != "GAP")


class ExpireFirstWatch:
    """Wraps a real list/watch call; the first watch asks for resourceVersion 1, compacted away, so
    the real apiserver answers `410 Gone`. Everything after is untouched."""

    def __init__(self, call: Any) -> None:
        self._call = call
        self._lock = threading.Lock()
        self.forced = False

    def __call__(self, **kwargs: Any) -> Any:
        with self._lock:
            if kwargs.get("watch") and not self.forced:
                self.forced = True
                kwargs["resource_version"] = "1"
        return self._call(**kwargs)


def etcd_url(sandbox: Any) -> str:
    """The sandbox's etcd client URL (loopback), from the component list kwokctl saved."""
    (etcd,) = [
        c for c in kwok_components(Path(sandbox.info.state_dir), sandbox.info.name) if c["name"] == "etcd"
    ]
    (arg,) = [a for a in etcd["args"] if a.startswith("--advertise-client-urls=")]
    return str(arg.split("=", 1)[1].split(",")[0])


def etcd_call(url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{url}{path}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.load(response))


def compact_etcd(sandbox: Any) -> None:
    """What the apiserver does every 5 minutes (`--etcd-compaction-interval`), now: compact etcd's
    history up to its current revision (etcd's own JSON gateway, /v3/kv/compaction)."""
    url = etcd_url(sandbox)
    revision = etcd_call(url, "/v3/maintenance/status", {})["header"]["revision"]
    etcd_call(url, "/v3/kv/compaction", {"revision": revision, "physical": True})


def version_one_expired(core: client.CoreV1Api, namespace: str) -> bool:
    """Does the apiserver answer an Event watch from resourceVersion 1 with `410 Gone`?"""
    response = core.list_namespaced_event(
        namespace, watch=True, resource_version="1", timeout_seconds=1, _preload_content=False
    )
    try:
        return b'"code":410' in response.read()
    finally:
        response.release_conn()


def event_manifest(name: str, namespace: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "involvedObject": {"kind": "Pod", "name": "recorder-test", "namespace": namespace},
        "reason": "RecorderTest",
        "message": f"event {name} of the recorder's 410 test",
        "type": "Normal",
    }


def test_a_real_410_is_survived_with_a_gap_and_a_relist(sandbox: Any, namespace: str, tmp_path: Path) -> None:
    """Events are the kind whose watches really expire: the apiserver keeps no watch cache for them,
    so a watch from a resourceVersion older than etcd's last compaction gets `410 Gone`. The test
    compacts etcd itself instead of waiting up to 5 minutes for the apiserver to."""
    core = client.CoreV1Api(sandbox.api)
    core.create_namespaced_event(namespace, event_manifest("before-gap", namespace))
    compact_etcd(sandbox)
    assert version_one_expired(core, namespace), "an Event watch from resourceVersion 1 was not refused"
    api = api_client(sandbox.kubeconfig, sandbox.context)
    (events,) = watched_resources(api, [namespace], kinds=("Event",))
    expiring = ExpireFirstWatch(events.list_call)
    resources = [WatchedResource(kind="Event", namespace=namespace, list_call=expiring)]
    out = tmp_path / "k8s.jsonl"
    try:
        with recording(sandbox, namespace, out, resources=resources) as (recorder, follow):
            follow.wait("the GAP after the forced 410", lambda f: any(r["type"] == "GAP" for r in f.lines))
            core.create_namespaced_event(namespace, event_manifest("after-gap", namespace))
            follow.wait(
                "Event after-gap ADDED",
                lambda f: any(r["type"] == "ADDED" for r in f.of("Event", "after-gap")),
            )
            stats = recorder.stop()
    finally:
        api.close()

    assert expiring.forced
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    summary = [(r["type"], r.get("name", "")) for r in lines]
    gap_at = summary.index(("GAP", ""))
    gap = lines[gap_at]
    assert "410" in gap["reason"], gap["reason"]
    assert gap["kind"] == "Event" and gap["namespace"] == namespace
    assert gap["from_ms"] <= gap["to_ms"]
    assert gap["relist"] is True
    # before the gap: the first list; after it: the relist of the same Event, then live events
    assert summary[:gap_at] == [("RELIST", "before-gap")]
    assert summary[gap_at + 1] == ("RELIST", "before-gap")
    assert ("ADDED", "after-gap") in summary[gap_at + 2 :]
    assert stats.relists == 1 and stats.gaps == 1


def test_stop_is_prompt_and_leaves_a_complete_file(sandbox: Any, namespace: str, tmp_path: Path) -> None:
    core = client.CoreV1Api(sandbox.api)
    out = tmp_path / "k8s.jsonl"
    with recording(sandbox, namespace, out) as (recorder, follow):
        for i in range(5):
            core.create_namespaced_pod(namespace, pod_manifest(f"burst-{i}"))
        follow.wait(
            "5 pods Ready", lambda f: sum(pod_ready(f.get("Pod", f"burst-{i}")) for i in range(5)) == 5
        )
        began = time.monotonic()
        stats = recorder.stop()
        took = time.monotonic() - began
    # stop() closes the open watches instead of waiting for the apiserver to end them (which takes up
    # to server_timeout_seconds): a stop that waited would take a large part of that
    waited_for_the_server = TEST_TUNING.server_timeout_seconds / 4
    assert took < waited_for_the_server, f"stop() took {took:.2f} s with {len(KINDS)} kinds of open watches"
    assert not [t.name for t in threading.enumerate() if t.name.startswith("recorder-")]
    text = out.read_text()
    assert text.endswith("\n")
    lines = [json.loads(line) for line in text.splitlines()]  # every line whole
    assert len(lines) == stats.lines
    assert stats.dropped_after_stop == 0
    # nothing written after stop()
    size = out.stat().st_size
    core.delete_namespaced_pod("burst-0", namespace, grace_period_seconds=0)
    time.sleep(0.5)
    assert out.stat().st_size == size
    assert Follow(out).poll() == lines


class DroppingProxy:
    """A TCP forwarder to the apiserver (TLS passes through untouched) that can cut every open
    connection and refuse new ones for a while: a real network drop under a real watch."""

    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._refusing = threading.Event()
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client_side, _ = self._listener.accept()
            except OSError:
                return
            if self._refusing.is_set():
                client_side.close()
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client_side.close()
                continue
            with self._lock:
                self._open.update({client_side, upstream})
            for a, b in ((client_side, upstream), (upstream, client_side)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def drop(self, refuse_for: float) -> None:
        """Cut every connection now and refuse new ones for `refuse_for` seconds."""
        self._refusing.set()
        with self._lock:
            for s in self._open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
            self._open.clear()
        threading.Timer(refuse_for, self._refusing.clear).start()

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        self.drop(0)


def test_a_real_connection_drop_is_a_gap_and_the_watch_resumes_without_loss(
    sandbox: Any, namespace: str, tmp_path: Path
) -> None:
    core = client.CoreV1Api(sandbox.api)
    core.create_namespaced_pod(namespace, pod_manifest("steady"))
    server = urlsplit(sandbox.info.apiserver_url)
    proxy = DroppingProxy((server.hostname or "127.0.0.1", server.port or 443))
    api = api_client(sandbox.kubeconfig, sandbox.context)
    api.configuration.host = f"https://127.0.0.1:{proxy.port}"  # same IP: the server certificate still fits
    resources = watched_resources(api, [namespace], kinds=("Pod",))
    out = tmp_path / "k8s.jsonl"
    try:
        with recording(sandbox, namespace, out, resources=resources) as (recorder, follow):
            follow.wait("pod steady listed", lambda f: bool(f.of("Pod", "steady")))
            dropped_ms = int(time.time() * 1000)
            proxy.drop(refuse_for=2.0)
            # changes while the recorder is cut off
            core.patch_namespaced_pod("steady", namespace, {"metadata": {"annotations": {"during": "drop"}}})
            core.create_namespaced_pod(namespace, pod_manifest("born-in-gap"))
            follow.wait(
                "the changes made during the drop, replayed",
                lambda f: (
                    bool(f.of("Pod", "born-in-gap"))
                    and (f.get("Pod", "steady").get("metadata") or {}).get("annotations", {}).get("during")
                    == "drop"
                ),
                30,
            )
            stats = recorder.stop()
    finally:
        proxy.close()
        api.close()

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    gaps = [r for r in lines if r["type"] == "GAP"]
    assert len(gaps) == 1, gaps
    gap = gaps[0]
    assert gap["relist"] is False and "connection" in gap["reason"].lower(), gap
    assert gap["from_ms"] <= dropped_ms + 50
    assert gap["to_ms"] >= dropped_ms + 1500  # refused for 2 s: the span covers the outage
    after = lines[lines.index(gap) + 1 :]
    assert not [r for r in after if r["type"] == "RELIST"], "resumed from the last version: no relist"
    assert ("ADDED", "born-in-gap") in [(r["type"], r["name"]) for r in after]
    versions = [r["resource_version"] for r in lines if r["type"] != "GAP"]
    assert len(versions) == len(set(versions)), "a change was written twice"
    assert stats.reconnects >= 1
