"""A real quota rejection of a StatefulSet's pod, recorded and judged by `resource_isolation`.

The platform's agents are StatefulSets. When a namespace's ResourceQuota refuses a replica, the
StatefulSet controller writes a `FailedCreate` Event naming the StatefulSet (not a ReplicaSet); the
criterion must attribute it to the agent type (through the pods that StatefulSet owns, or, when the
quota refused its very first pod, through the StatefulSet's pod template), and count it because a
pod of another type (rex) held the capacity.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.support.cluster import wait_until
from tests.support.watch_recording import (
    container,
    node_selector,
    pod_manifest,
    pod_ready,
    private_node,
    recording,
    write_manifest,
)
from validator.cli import main as validator_main

pytestmark = pytest.mark.sandbox


def statefulset(name: str, replicas: int, pool: str) -> dict[str, Any]:
    labels = {"app.kubernetes.io/name": name}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"nodeSelector": node_selector(pool), "containers": [container()]},
            },
        },
    }


def rejections_of(follow: Any, statefulset: str) -> list[dict[str, Any]]:
    return [
        r["object"]
        for r in follow.of("Event")
        if r["type"] != "GAP"
        and r["object"].get("reason") == "FailedCreate"
        and (r["object"].get("involvedObject") or {}).get("kind") == "StatefulSet"
        and (r["object"].get("involvedObject") or {}).get("name") == statefulset
    ]


# (pods the quota allows, tess replicas, the tess pod admitted or None, the tess pod refused)
CASES = [
    pytest.param(2, 2, "tess-0", "tess-1", id="second-replica-refused"),
    pytest.param(1, 1, None, "tess-0", id="no-replica-ever-admitted"),
]


@pytest.mark.parametrize(("quota_pods", "replicas", "admitted", "refused"), CASES)
def test_quota_rejection_of_a_statefulset_replica_is_counted(
    sandbox: Any,
    namespace: str,
    tmp_path: Path,
    quota_pods: int,
    replicas: int,
    admitted: str | None,
    refused: str,
) -> None:
    core = client.CoreV1Api(sandbox.api)
    apps = client.AppsV1Api(sandbox.api)
    run_id = f"quota-rejection-{namespace}"
    run_dir = tmp_path / run_id
    out = run_dir / "evidence" / "k8s.jsonl"
    out.parent.mkdir(parents=True)

    with private_node(core) as pool, recording(sandbox, namespace, out) as (recorder, follow):
        # rex holds one of the pods the quota allows; tess gets the rest, and one replica more
        core.create_namespaced_resource_quota(
            namespace, {"metadata": {"name": "agents"}, "spec": {"hard": {"pods": str(quota_pods)}}}
        )
        # admission enforces a quota once the quota controller has written its status; pods created
        # before that were all admitted in one CI run
        wait_until(
            "the quota controller to write ResourceQuota agents' status",
            lambda: (core.read_namespaced_resource_quota("agents", namespace).status.hard or {}).get("pods"),
            60,
        )
        window_start = math.floor(time.time())
        core.create_namespaced_pod(namespace, pod_manifest("rex-1", pool=pool))
        follow.wait("pod rex-1 Ready", lambda f: pod_ready(f.get("Pod", "rex-1")), 60)
        wait_until(
            "ResourceQuota agents to count rex-1 (status.used.pods 1)",
            lambda: (
                (core.read_namespaced_resource_quota("agents", namespace).status.used or {}).get("pods")
                == "1"
            ),
            60,
        )
        apps.create_namespaced_stateful_set(namespace, statefulset("tess", replicas, pool))
        if admitted is not None:
            follow.wait(f"pod {admitted} Ready", lambda f: pod_ready(f.get("Pod", admitted)), 60)
        follow.wait(
            "a FailedCreate Event of StatefulSet tess (quota)", lambda f: bool(rejections_of(f, "tess")), 60
        )
        time.sleep(1.0)
        window_end = math.ceil(time.time())
        recorder.stop()

    (event,) = rejections_of(follow, "tess")[:1]
    assert "exceeded quota" in event["message"], event["message"]
    assert follow.of("StatefulSet", "tess"), "the recorder did not record StatefulSet tess"
    if admitted is None:  # only the StatefulSet's pod template can name the agent
        assert not [r for r in follow.of("Pod") if r.get("name", "").startswith("tess-")]

    write_manifest(
        run_dir,
        run_id=run_id,
        suite="quota-rejection",
        context=sandbox.context,
        namespace=namespace,
        start=window_start,
        end=window_end,
    )
    validator_main(["evaluate", str(run_dir)])
    summary = json.loads((run_dir / "summary.json").read_text())
    (isolation,) = [c for c in summary["criteria"] if c["id"] == "resource_isolation"]
    by_scope = {(r["scope"].get("agent"), r["scope"].get("measure")): r for r in isolation["results"]}
    tess = by_scope[("tess", "rejections")]
    assert tess["verdict"] == "fail" and tess["value"] >= 1, tess
    assert f"{namespace}/tess: Create Pod {refused} in StatefulSet tess failed" in tess["detail"], tess[
        "detail"
    ]
    assert ("rex", "rejections") not in by_scope or by_scope[("rex", "rejections")]["value"] == 0
