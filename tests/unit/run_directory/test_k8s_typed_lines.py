"""Pod and event lines are decoded typed (msgspec structs) when they have the usual shape and read as
dicts otherwise: either way a line's state is the one `parse_object` reads from its object."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.run_directory import T0, line, pod
from validator.model import PodState
from validator.run_directory.k8s_watch import load_k8s, parse_object

OOM = {"exitCode": 137, "reason": "OOMKilled", "finishedAt": "2025-11-20T02:01:00Z"}


def _pod(**changes: Any) -> dict[str, Any]:
    obj = pod("Running", terminated=OOM)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = obj
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        node[leaf] = value
    return obj


EVICTED = {
    "type": "DisruptionTarget",
    "status": "True",
    "reason": "EvictionByEvictionAPI",
    "lastTransitionTime": "2025-11-20T02:02:00Z",
}
PODS = {
    "usual": _pod(),
    "owned-deleting": _pod(
        metadata__ownerReferences=[{"kind": "ReplicaSet", "name": "rex-1a"}, {"kind": "Node", "name": "x"}],
        metadata__deletionTimestamp="2025-11-20T02:03:00Z",
    ),
    "evicted-not-ready": _pod(status__conditions=[{"type": "Ready", "status": "False"}, EVICTED]),
    "terminated-now-and-init": _pod(
        status__containerStatuses__0__state={"terminated": {"exitCode": 0, "reason": "Completed"}},
        status__initContainerStatuses=[{"name": "init", "state": {"terminated": {"exitCode": 1}}}],
    ),
    "empty-terminated": _pod(status__containerStatuses__0__state={"terminated": {}}),
    "no-status": {"metadata": {"labels": {}}, "spec": {}},
    # shapes the typed decoding does not take: read as dicts, to the same state
    "label-not-a-string": _pod(metadata__labels={"app.kubernetes.io/name": "rex", "tier": 2}),
    "null-phase": _pod(status__phase=None),
    "null-restart-count": _pod(status__containerStatuses__0__restartCount=None),
    "float-restart-count": _pod(status__containerStatuses__0__restartCount=2.0),
    "exit-code-as-string": _pod(status__containerStatuses__0__lastState={"terminated": {"exitCode": "137"}}),
    "container-name-null": _pod(status__containerStatuses__0__name=None),
    "conditions-null": _pod(status__conditions=None),
    "owner-not-an-object": _pod(metadata__ownerReferences=["rex-1a"]),
}
EVENTS = {
    "usual": {
        "involvedObject": {"kind": "Pod", "name": "rex-1", "namespace": "agents"},
        "reason": "Killing",
        "message": "Stopping container agent",
        "type": "Normal",
        "lastTimestamp": "2025-11-20T02:01:00Z",
        "firstTimestamp": "2025-11-20T02:00:00Z",
    },
    "event-time-first": {
        "eventTime": "2025-11-20T02:01:30.123456Z",
        "lastTimestamp": "2025-11-20T02:01:00Z",
    },
    "namespace-from-metadata": {
        "involvedObject": {"kind": "Node", "name": "n1"},
        "metadata": {"namespace": "x"},
    },
    "no-time": {"reason": "Evicted"},
    "null-reason": {"reason": None, "message": None, "lastTimestamp": None},
    "numeric-time": {"eventTime": 5, "firstTimestamp": "2025-11-20T02:00:00Z"},
}


@pytest.mark.parametrize(("kind", "objects"), [("Pod", PODS), ("Event", EVENTS)])
def test_each_line_reads_as_its_object(tmp_path: Path, kind: str, objects: dict[str, dict[str, Any]]) -> None:
    path = tmp_path / "k8s.jsonl"
    written = {name: copy.deepcopy(obj) for name, obj in objects.items()}
    lines = [json.dumps(line(i, kind, n, obj, "ADDED")) + "\n" for i, (n, obj) in enumerate(written.items())]
    path.write_text("".join(lines), encoding="utf-8")
    evidence = load_k8s(path)
    assert evidence.partial == ""
    for name, obj in written.items():
        (record,) = evidence.changes(kind)[f"agents/{name}"]
        assert record.state == parse_object(kind, obj), name
        assert record.received_ms == int((T0 + list(written).index(name)) * 1000)


def test_a_pod_line_the_typed_decoding_refuses_is_still_judged_by_its_object(tmp_path: Path) -> None:
    """An exit code that is not a number: the line is reported as not understood, as before."""
    path = tmp_path / "k8s.jsonl"
    bad = _pod(status__containerStatuses__0__lastState={"terminated": {"exitCode": "oom"}})
    path.write_text(json.dumps(line(1, "Pod", "rex-9", bad, "ADDED")) + "\n", encoding="utf-8")
    evidence = load_k8s(path)
    assert "Pod object not understood" in evidence.partial
    (record,) = evidence.changes("Pod")["agents/rex-9"]
    assert record.state is None


def test_the_typed_reading_keeps_what_the_criteria_use(tmp_path: Path) -> None:
    path = tmp_path / "k8s.jsonl"
    obj = copy.deepcopy(PODS["evicted-not-ready"])
    path.write_text(json.dumps(line(1, "Pod", "rex-1", obj, "ADDED")) + "\n", encoding="utf-8")
    (record,) = load_k8s(path).changes("Pod")["agents/rex-1"]
    state = record.state
    assert isinstance(state, PodState)
    assert not state.ready and state.evicted_at is not None and state.node_name == "n1"
    assert [(t.reason, t.exit_code, t.restart_count) for t in state.terminations] == [("OOMKilled", 137, 1)]
