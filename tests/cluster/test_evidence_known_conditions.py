"""Known conditions in, exact counts and durations out: the recorder plus `validator evaluate`.

In one namespace of the sandbox, while the Kubernetes recorder writes a run directory:

- a container is OOM-killed twice through the sandbox's kwok stage, outside any fault, and once
  more inside a declared `memory-pressure` fault window (chaos/faults.jsonl): expected, not counted;
- an HPA (CPU 50%) is pushed above its target by raising the pod's simulated CPU;
- a controller Deployment (`app.kubernetes.io/component=controller`, strategy Recreate) loses its
  only available replica for ~20 s: its pod template gets an unschedulable nodeSelector, then the
  selector is put back.

Then `validator evaluate RUN_DIR` must report oom_kills == 2, the HPA's scale-up latency as the
recorder saw it, and the controller's availability matching the outage measured by the objects'
own clock (the Deployment's `Available` condition, 1 s resolution) within that resolution plus the
recorder's receipt error (benchmarks/recorder_timing.py: max 22-113 ms over runs; 250 ms allowed).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.support.watch_recording import (
    Follow,
    available,
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

# Recorder receipt delay (benchmarks/recorder_timing.py, 2 loaded CPUs): p95 12-55 ms, max 22-113 ms.
RECEIPT_ERROR_S = 0.25
OBJECT_CLOCK_RESOLUTION_S = 1.0  # metav1.Time is serialised in whole seconds
OUTAGE_S = 20.0
OOM = "sim.validator.io/oom-kill"
CPU = "sim.validator.io/cpu"
CONTROLLER_LABELS = {
    "app.kubernetes.io/component": "controller",
    "app.kubernetes.io/name": "workflow-controller",
}


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def deployment(
    name: str, labels: dict[str, str], pool: str, *, recreate: bool = False, cpu: str = "100m"
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "replicas": 1,
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name, **labels}, "annotations": {CPU: "20m"}},
            "spec": {"nodeSelector": node_selector(pool), "containers": [container(cpu)]},
        },
    }
    if recreate:
        spec["strategy"] = {"type": "Recreate"}
    return {"metadata": {"name": name, "labels": labels}, "spec": spec}


def hpa(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 1,
            "maxReplicas": 3,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
                }
            ],
        },
    }


def hpa_utilization(obj: dict[str, Any]) -> int | None:
    for metric in (obj.get("status") or {}).get("currentMetrics") or []:
        current = ((metric.get("resource") or {}).get("current") or {}).get("averageUtilization")
        if current is not None:
            return int(current)
    return None


def desired(obj: dict[str, Any]) -> int:
    return int((obj.get("status") or {}).get("desiredReplicas") or 0)


def oom_finished_at(obj: dict[str, Any]) -> str:
    statuses = (obj.get("status") or {}).get("containerStatuses") or [{}]
    return str(((statuses[0].get("lastState") or {}).get("terminated") or {}).get("finishedAt") or "")


def restarts(obj: dict[str, Any]) -> int:
    statuses = (obj.get("status") or {}).get("containerStatuses") or [{}]
    return int(statuses[0].get("restartCount") or 0)


def wait_next_second() -> None:
    """Sleep into the next whole second: the object's 1 s clock then tells two events apart."""
    now = time.time()
    time.sleep(math.floor(now) + 1.05 - now)


def kill_once(core: client.CoreV1Api, follow: Follow, namespace: str, pod: str) -> tuple[float, str]:
    before = restarts(follow.get("Pod", pod))
    sent = time.time()
    core.patch_namespaced_pod(pod, namespace, {"metadata": {"annotations": {OOM: "known-condition"}}})
    follow.wait(
        f"OOM kill #{before + 1} of pod {pod}", lambda f: restarts(f.get("Pod", pod)) == before + 1, 20
    )
    return sent, oom_finished_at(follow.get("Pod", pod))


def fault_line(ts: float, phase: str, run_id: str, namespace: str) -> str:
    line: dict[str, Any] = {
        "ts_ms": int(ts * 1000),
        "run_id": run_id,
        "experiment": "memory-pressure",
        "fault": "memory-pressure",
        "activity": "oom-kill-victim",
        "phase": phase,
        "action": "apply_memory_pressure",
        # what the control writes: the pods the action reported (`pod/<namespace>/<name>`); a fault
        # excuses the kills of its own targets only
        "targets": [f"pod/{namespace}/oom-victim"],
    }
    if phase.endswith("_end"):
        line["status"] = "succeeded"
    return json.dumps(line) + "\n"


def receipt_outage(lines: list[dict[str, Any]], name: str, after_ms: int) -> tuple[float, float]:
    """(down, up) receipt times (s) of the controller's first loss of availability after `after_ms`."""
    down = up = None
    for r in lines:
        if r["kind"] != "Deployment" or r.get("name") != name or r["received_ms"] < after_ms:
            continue
        if down is None and available(r["object"]) == 0:
            down = r["received_ms"] / 1000.0
        elif down is not None and available(r["object"]) >= 1:
            up = r["received_ms"] / 1000.0
            break
    assert down is not None and up is not None, f"no outage of {name} in the recorder's lines"
    return down, up


def object_outage(lines: list[dict[str, Any]], name: str, down_after: float) -> tuple[float, float]:
    """(down, up) by the Deployment's own `Available` condition (controller-manager's clock, 1 s)."""
    times: dict[str, float] = {}
    for r in lines:
        if r["kind"] != "Deployment" or r.get("name") != name:
            continue
        for c in (r["object"].get("status") or {}).get("conditions") or []:
            if c.get("type") == "Available" and c.get("lastTransitionTime"):
                t = parse_time(c["lastTransitionTime"])
                if t >= math.floor(down_after):
                    times.setdefault(c["status"], t)
    assert "False" in times and "True" in times, f"Available condition transitions of {name}: {times}"
    return times["False"], times["True"]


def ready_pods(follow: Follow, prefix: str) -> list[str]:
    return sorted(
        name
        for (kind, name), obj in follow.latest.items()
        if kind == "Pod" and name.startswith(prefix) and pod_ready(obj)
    )


def node_flaps(lines: list[dict[str, Any]], pool: str) -> list[str]:
    """Moments our private node was seen not Ready (the sandbox's kwok lease renewal fell behind)."""
    out = []
    for r in lines:
        if r["kind"] != "Node" or not str(r.get("name", "")).startswith(pool) or r["type"] == "GAP":
            continue
        for c in (r["object"].get("status") or {}).get("conditions") or []:
            if c.get("type") == "Ready" and c.get("status") != "True":
                out.append(f"{r['name']} Ready={c.get('status')} at received_ms {r['received_ms']}")
    return out


@contextmanager
def blame_node_flaps(follow: Follow, pool: str) -> Iterator[None]:
    """A failure while our node flapped is the sandbox's, not the recorder's: say so."""
    try:
        yield
    except AssertionError as exc:
        follow.poll()
        flaps = node_flaps(follow.lines, pool)
        if flaps:
            raise AssertionError(
                f"{exc}\n\nthe private node went NotReady during the test ({'; '.join(flaps[:3])}); "
                "kwok's node lease renewal (every ~10 s) races the controller-manager's "
                "--node-monitor-grace-period=10s, and pods on a node that flapped stay NotReady: "
                "fix the sandbox's node timing, then rerun"
            ) from exc
        raise


def criterion(summary: dict[str, Any], cid: str) -> dict[str, Any]:
    found = [c for c in summary["criteria"] if c["id"] == cid]
    assert found, f"criterion {cid} missing from summary.json: {[c['id'] for c in summary['criteria']]}"
    return found[0]


def test_known_conditions_are_reported_exactly(sandbox: Any, namespace: str, tmp_path: Path) -> None:
    core = client.CoreV1Api(sandbox.api)
    apps = client.AppsV1Api(sandbox.api)
    autoscaling = client.AutoscalingV2Api(sandbox.api)
    run_id = f"known-conditions-{namespace}"
    run_dir = tmp_path / run_id
    (run_dir / "chaos").mkdir(parents=True)
    out = run_dir / "evidence" / "k8s.jsonl"

    with (
        private_node(core) as pool,
        recording(sandbox, namespace, out) as (recorder, follow),
        blame_node_flaps(follow, pool),
    ):
        # --- the cast, all healthy before the window opens
        core.create_namespaced_pod(namespace, pod_manifest("oom-victim", pool=pool))
        apps.create_namespaced_deployment(
            namespace, deployment("rex-worker", {"app.kubernetes.io/name": "rex"}, pool)
        )
        autoscaling.create_namespaced_horizontal_pod_autoscaler(namespace, hpa("rex-worker"))
        apps.create_namespaced_deployment(
            namespace, deployment("workflow-controller", CONTROLLER_LABELS, pool, recreate=True)
        )
        follow.wait("pod oom-victim Ready", lambda f: pod_ready(f.get("Pod", "oom-victim")), 60)
        follow.wait(
            "both Deployments available",
            lambda f: (
                available(f.get("Deployment", "rex-worker")) >= 1
                and available(f.get("Deployment", "workflow-controller")) >= 1
            ),
            60,
        )
        follow.wait(
            "HPA rex-worker reporting a CPU utilisation below its target (metrics-server)",
            lambda f: (hpa_utilization(f.get("HorizontalPodAutoscaler", "rex-worker")) or 100) < 50,
            90,
        )
        window_start = math.floor(time.time())  # whole second: object times are truncated to seconds
        wait_next_second()

        # --- two OOM kills outside any fault
        kill_once(core, follow, namespace, "oom-victim")
        wait_next_second()
        kill_once(core, follow, namespace, "oom-victim")

        # --- the controller loses its only replica; the HPA's pod is pushed to 5x its target
        outage_after_ms = int(time.time() * 1000)
        apps.patch_namespaced_deployment(
            "workflow-controller",
            namespace,
            {"spec": {"template": {"spec": {"nodeSelector": node_selector("no-such-pool")}}}},
        )
        follow.wait("a Ready pod of rex-worker", lambda f: bool(ready_pods(f, "rex-worker-")), 30)
        worker = ready_pods(follow, "rex-worker-")[0]
        core.patch_namespaced_pod(worker, namespace, {"metadata": {"annotations": {CPU: "250m"}}})
        follow.wait(
            "controller workflow-controller without available replicas",
            lambda f: available(f.get("Deployment", "workflow-controller")) == 0,
            30,
        )
        broke = time.monotonic()
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - broke)))
        apps.patch_namespaced_deployment(
            "workflow-controller",
            namespace,
            {"spec": {"template": {"spec": {"nodeSelector": node_selector(pool)}}}},
        )
        follow.wait(
            "controller workflow-controller available again",
            lambda f: available(f.get("Deployment", "workflow-controller")) >= 1,
            30,
        )
        follow.wait(
            "HPA rex-worker scaling up (desired replicas > 1)",
            lambda f: desired(f.get("HorizontalPodAutoscaler", "rex-worker")) > 1,
            90,
        )

        # --- a third OOM kill, inside a declared memory-pressure fault: expected, not counted
        fault_start = time.time()
        wait_next_second()  # the kill's finishedAt (whole seconds) must not precede the fault's start
        third_sent, _ = kill_once(core, follow, namespace, "oom-victim")
        fault_end = time.time()
        (run_dir / "chaos" / "faults.jsonl").write_text(
            fault_line(fault_start, "inject_start", run_id, namespace)
            + fault_line(fault_end, "inject_end", run_id, namespace)
        )
        time.sleep(1.0)  # trailing status updates
        window_end = math.ceil(time.time())
        stats = recorder.stop()

    lines = [json.loads(line) for line in out.read_text().splitlines()]
    flaps = node_flaps(lines, pool)
    assert not flaps, f"the private node flapped; durations are not exact: {flaps[:3]}"
    gaps = [r for r in lines if r["type"] == "GAP"]
    assert not gaps, f"the recorder had gaps (did the sandbox restart?): {gaps}"
    assert stats.dropped_after_stop == 0

    # --- what the recorder itself shows
    kills = {
        (r["uid"], oom_finished_at(r["object"]))
        for r in lines
        if r["kind"] == "Pod" and r.get("name") == "oom-victim" and oom_finished_at(r["object"])
    }
    assert len(kills) == 3, kills
    down, up = receipt_outage(lines, "workflow-controller", outage_after_ms)
    obj_down, obj_up = object_outage(lines, "workflow-controller", outage_after_ms / 1000.0)
    tolerance = OBJECT_CLOCK_RESOLUTION_S + RECEIPT_ERROR_S
    assert abs((up - down) - (obj_up - obj_down)) <= tolerance, (up - down, obj_up - obj_down)
    assert up - down >= OUTAGE_S - tolerance

    # --- the manifest, then `validator evaluate`
    write_manifest(
        run_dir,
        run_id=run_id,
        suite="known-conditions",
        context=sandbox.context,
        namespace=namespace,
        start=window_start,
        end=window_end,
    )
    code = validator_main(["evaluate", str(run_dir)])
    summary = json.loads((run_dir / "summary.json").read_text())
    assert code == 1, f"exit {code}: expected 1 (criteria failed); verdict {summary.get('verdict')}"
    assert summary["verdict"] == "fail"

    # OOM kills: exactly the two outside the fault; the third listed as expected
    oom = criterion(summary, "oom_kills")
    (oom_result,) = oom["results"]
    assert oom_result["value"] == 2, oom_result
    assert oom_result["verdict"] == "fail"
    assert "1 inside memory-pressure faults" in oom_result["detail"], oom_result["detail"]

    # Controller availability: the outage as the object's clock measured it, within its resolution
    window = window_end - window_start
    availability = criterion(summary, "controller_availability")
    scoped = [
        r
        for r in availability["results"]
        if r["scope"].get("deployment") == f"{namespace}/workflow-controller"
    ]
    assert len(scoped) == 1, availability["results"]
    value = scoped[0]["value"]
    assert scoped[0]["verdict"] == "fail"
    assert abs(value - (1 - (up - down) / window)) <= RECEIPT_ERROR_S / window, (value, up - down, window)
    assert abs((1 - value) * window - (obj_up - obj_down)) <= tolerance, (value, obj_up - obj_down)
    others = [r for r in availability["results"] if "rex-worker" in str(r["scope"])]
    assert not others, "rex-worker is no controller and must not be judged as one"

    # Scaling latency: one rise for the HPA, decided, and the decision at the HPA's own lastScaleTime
    hpa_lines = [r for r in lines if r["kind"] == "HorizontalPodAutoscaler" and r["name"] == "rex-worker"]
    first_above = next(r for r in hpa_lines if (hpa_utilization(r["object"]) or 0) > 55)
    first_up = next(r for r in hpa_lines if desired(r["object"]) > 1)
    expected_latency = (first_up["received_ms"] - first_above["received_ms"]) / 1000.0
    last_scale = parse_time(first_up["object"]["status"]["lastScaleTime"])
    assert abs(first_up["received_ms"] / 1000.0 - last_scale) <= tolerance
    latency = criterion(summary, "scaling_latency")
    rises = [r for r in latency["results"] if r["scope"].get("hpa") == f"{namespace}/rex-worker"]
    assert len(rises) == 1, latency["results"]
    assert rises[0]["verdict"] == "pass", rises[0]
    assert abs(rises[0]["value"] - expected_latency) <= RECEIPT_ERROR_S, (rises[0], expected_latency)
    assert third_sent >= fault_start
