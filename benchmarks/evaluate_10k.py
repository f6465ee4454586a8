"""How long do `evaluate` + `report` take on a big run, and how much memory? 10,000 pods over one hour.

Generates a synthetic run directory (docs/run-directory.md) of realistic size:

- evidence/k8s.jsonl: 10,000 agent pods (four agent types) that each live 5-20 minutes, written
  as the recorder would (RELIST / ADDED, MODIFIED when scheduled, running, finished; DELETED), with
  full pod objects; three Events per pod; four HPAs changing every 15 s; Deployments, PDBs, nodes,
  a node drain; 40 OOM kills;
- evidence/metrics.json: every query key the criteria declare, at a 15 s step, with per-pod
  series for each pod's lifetime (10,000 pods x 4 per-pod queries);
- load/locust_stats_history.csv: one row a second for the hour; chaos/faults.jsonl: two faults.

Then, in a fresh Python process (so the figures are of evaluation alone), it measures wall time
and peak RSS of: reading the run directory, evaluating every criterion, and writing summary.json,
junit.xml and report.html; and the size of report.html.

    .venv/bin/python benchmarks/evaluate_10k.py            # generate (cached) + measure
    .venv/bin/python benchmarks/evaluate_10k.py --profile  # also cProfile the evaluation

Prints a table and writes benchmarks/results/evaluate_10k.json.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import json
import pstats
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "evaluate_10k.json"
START = 1_795_766_400  # 2026-11-27T08:00:00Z
HOUR = 3600
STEP = 15
NS = "agents"
AGENTS = ("rex", "blaze", "cleo", "tess")
NODES = 100
OOM_PODS = 40


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


# -- k8s.jsonl -----------------------------------------------------------------------------------


def _pod_object(
    name: str,
    agent: str,
    uid: str,
    node: str,
    created: float,
    phase: str,
    *,
    ready: bool = False,
    started: float | None = None,
    finished: float | None = None,
    oom_at: float | None = None,
    rv: int = 1,
) -> dict[str, Any]:
    conditions = [
        {
            "type": "PodScheduled",
            "status": "True" if node else "False",
            "lastTransitionTime": _iso(created + 1),
        }
    ]
    statuses = []
    if started is not None:
        conditions += [
            {"type": "Initialized", "status": "True", "lastTransitionTime": _iso(started)},
            {"type": "ContainersReady", "status": str(ready), "lastTransitionTime": _iso(started + 1)},
            {"type": "Ready", "status": str(ready), "lastTransitionTime": _iso(started + 1)},
        ]
        state: dict[str, Any] = {"running": {"startedAt": _iso(started)}}
        if finished is not None:
            state = {
                "terminated": {
                    "exitCode": 0,
                    "reason": "Completed",
                    "startedAt": _iso(started),
                    "finishedAt": _iso(finished),
                    "containerID": f"containerd://{uid}",
                }
            }
        status: dict[str, Any] = {
            "name": "agent",
            "ready": ready,
            "restartCount": 1 if oom_at is not None else 0,
            "image": f"registry.example/agents/{agent}:1.4.2",
            "imageID": f"registry.example/agents/{agent}@sha256:{uid}",
            "containerID": f"containerd://{uid}",
            "started": ready,
            "state": state,
            "lastState": {},
        }
        if oom_at is not None:
            status["lastState"] = {
                "terminated": {
                    "exitCode": 137,
                    "reason": "OOMKilled",
                    "startedAt": _iso(started),
                    "finishedAt": _iso(oom_at),
                }
            }
        statuses.append(status)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": NS,
            "uid": uid,
            "resourceVersion": str(rv),
            "creationTimestamp": _iso(created),
            "generateName": name.rsplit("-", 1)[0] + "-",
            "labels": {
                "app.kubernetes.io/name": agent,
                "app.kubernetes.io/part-of": "agent-platform",
                "pod-template-hash": "7d9c5b",
            },
            "annotations": {"kwok.x-k8s.io/usage-cpu": "350m", "kwok.x-k8s.io/usage-memory": "400Mi"},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"{agent}-7d9c5b",
                    "uid": f"rs-{agent}",
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "nodeName": node,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "serviceAccountName": agent,
            "terminationGracePeriodSeconds": 30,
            "priority": 0,
            "containers": [
                {
                    "name": "agent",
                    "image": f"registry.example/agents/{agent}:1.4.2",
                    "resources": {
                        "requests": {"cpu": "500m", "memory": "512Mi"},
                        "limits": {"cpu": "1", "memory": "1Gi"},
                    },
                    "env": [{"name": "AGENT_TYPE", "value": agent}, {"name": "LOG_LEVEL", "value": "info"}],
                    "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8080}, "periodSeconds": 5},
                    "volumeMounts": [{"name": "workspace", "mountPath": "/workspace"}],
                }
            ],
            "tolerations": [
                {
                    "key": "node.kubernetes.io/not-ready",
                    "operator": "Exists",
                    "effect": "NoExecute",
                    "tolerationSeconds": 300,
                }
            ],
            "volumes": [{"name": "workspace", "emptyDir": {}}],
        },
        "status": {
            "phase": phase,
            "qosClass": "Burstable",
            "hostIP": "10.0.0.1",
            "podIP": "10.244.1.2",
            "startTime": _iso(created + 1),
            "conditions": conditions,
            "containerStatuses": statuses,
        },
    }


def _line(
    ms: int, kind: str, typ: str, name: str, uid: str, rv: int, obj: dict[str, Any], namespace: str = NS
) -> str:
    return json.dumps(
        {
            "received_ms": ms,
            "kind": kind,
            "type": typ,
            "namespace": namespace,
            "name": name,
            "uid": uid,
            "resource_version": str(rv),
            "object": obj,
        },
        separators=(",", ":"),
    )


def _event(ms: int, pod: str, reason: str, message: str, n: int) -> str:
    name = f"{pod}.{n:x}"
    obj = {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": NS, "uid": f"ev-{name}"},
        "involvedObject": {"kind": "Pod", "namespace": NS, "name": pod},
        "reason": reason,
        "message": message,
        "type": "Normal",
        "firstTimestamp": _iso(ms / 1000),
        "lastTimestamp": _iso(ms / 1000),
        "count": 1,
        "source": {"component": "kubelet"},
    }
    return _line(ms, "Event", "ADDED", name, f"ev-{name}", n, obj)


def _hpa_object(agent: str, current: int, desired: int, utilisation: int) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": agent, "namespace": NS},
        "spec": {
            "minReplicas": 2,
            "maxReplicas": 400,
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": agent},
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}},
                }
            ],
        },
        "status": {
            "currentReplicas": current,
            "desiredReplicas": desired,
            "currentMetrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "current": {"averageUtilization": utilisation}},
                }
            ],
        },
    }


def _deployment_object(name: str, labels: dict[str, str], replicas: int, available: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {"replicas": replicas},
        "status": {"replicas": replicas, "readyReplicas": available, "availableReplicas": available},
    }


class _Pods:
    """The synthetic pods: agent, node, lifetime and OOM time of each."""

    def __init__(self, count: int, rng: random.Random) -> None:
        self.items: list[tuple[str, str, str, str, float, float, float | None]] = []
        oom = set(rng.sample(range(count), OOM_PODS))
        for i in range(count):
            agent = AGENTS[i % len(AGENTS)]
            created = START - 600 + rng.random() * (HOUR + 300)
            life = 300 + rng.random() * 900
            oom_at = created + 5 + rng.random() * (life - 10) if i in oom else None
            self.items.append(
                (
                    f"{agent}-{i:05d}",
                    agent,
                    f"uid-{i:05d}",
                    f"agents-impl-{i % NODES}",
                    created,
                    created + life,
                    oom_at,
                )
            )


def write_k8s(path: Path, pods: _Pods) -> int:
    lines: list[tuple[int, str]] = []
    rv = 1000
    end = START + HOUR
    for name, agent, uid, node, created, gone, oom_at in pods.items:
        if created > end:
            continue
        steps: list[tuple[float, str, dict[str, Any]]] = [
            (created, "ADDED", _pod_object(name, agent, uid, "", created, "Pending")),
            (created + 1, "MODIFIED", _pod_object(name, agent, uid, node, created, "Pending")),
            (
                created + 3,
                "MODIFIED",
                _pod_object(name, agent, uid, node, created, "Running", ready=True, started=created + 2),
            ),
        ]
        if oom_at is not None:
            steps.append(
                (
                    oom_at + 0.4,
                    "MODIFIED",
                    _pod_object(
                        name,
                        agent,
                        uid,
                        node,
                        created,
                        "Running",
                        ready=True,
                        started=oom_at + 1,
                        oom_at=oom_at,
                    ),
                )
            )
        steps.append(
            (
                gone,
                "MODIFIED",
                _pod_object(
                    name,
                    agent,
                    uid,
                    node,
                    created,
                    "Succeeded",
                    started=created + 2,
                    finished=gone,
                    oom_at=oom_at,
                ),
            )
        )
        steps.append((gone + 2, "DELETED", steps[-1][2]))
        for n, (t, typ, obj) in enumerate(steps):
            if t > end:
                break
            rv += 1
            if t < START:  # existed when recording began: seen in the first list, as RELIST
                if n + 1 < len(steps) and steps[n + 1][0] < START:
                    continue
                t, typ = START, "RELIST"
            lines.append((int(t * 1000), _line(int(t * 1000), "Pod", typ, name, uid, rv, obj)))
        for n, (reason, dt, message) in enumerate(
            (
                ("Scheduled", 1, f"assigned {NS}/{name} to {node}"),
                ("Pulled", 2, "image already present on machine"),
                ("Started", 2.5, "Started container agent"),
            )
        ):
            t = created + dt
            if START <= t <= end:
                lines.append((int(t * 1000), _event(int(t * 1000), name, reason, message, n)))
    for i in range(NODES):
        obj = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": f"agents-impl-{i}"},
            "spec": {},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }
        lines.append(
            (START * 1000, _line(START * 1000, "Node", "RELIST", f"agents-impl-{i}", f"node-{i}", i, obj, ""))
        )
    for t, unschedulable in ((START + 1800, True), (START + 2040, False)):
        obj = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "agents-impl-7"},
            "spec": {"unschedulable": unschedulable},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]},
        }
        lines.append((t * 1000, _line(t * 1000, "Node", "MODIFIED", "agents-impl-7", "node-7", t, obj, "")))
    for k, agent in enumerate(AGENTS):
        for j, t in enumerate(range(START, START + HOUR + 1, STEP)):
            replicas = 40 + int(30 * min(1.0, (t - START) / 1200)) + k
            obj = _hpa_object(agent, replicas, replicas + (1 if j % 20 == 0 else 0), 65 + (j % 9))
            lines.append(
                (
                    t * 1000 + 200,
                    _line(
                        t * 1000 + 200,
                        "HorizontalPodAutoscaler",
                        "RELIST" if j == 0 else "MODIFIED",
                        agent,
                        f"hpa-{agent}",
                        j,
                        obj,
                    ),
                )
            )
    deployments = {a: {"app.kubernetes.io/name": a} for a in AGENTS}
    deployments["workflow-controller"] = {"app.kubernetes.io/component": "controller"}
    deployments["agent-operator"] = {"app.kubernetes.io/component": "controller"}
    for name, labels in deployments.items():
        for j, t in enumerate(range(START, START + HOUR + 1, 60)):
            obj = _deployment_object(name, labels, 2, 2)
            lines.append(
                (
                    t * 1000 + 300,
                    _line(
                        t * 1000 + 300,
                        "Deployment",
                        "RELIST" if j == 0 else "MODIFIED",
                        name,
                        f"dep-{name}",
                        j,
                        obj,
                    ),
                )
            )
    for name in ("controller-pdb", "agents-pdb"):
        obj = {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": NS},
            "spec": {
                "minAvailable": 1,
                "selector": {"matchLabels": {"app.kubernetes.io/component": "controller"}},
            },
            "status": {"currentHealthy": 2, "desiredHealthy": 1, "disruptionsAllowed": 1, "expectedPods": 2},
        }
        lines.append(
            (START * 1000, _line(START * 1000, "PodDisruptionBudget", "RELIST", name, f"pdb-{name}", 1, obj))
        )
    lines.sort(key=lambda x: x[0])
    with path.open("w", encoding="utf-8") as out:
        for _, text in lines:
            out.write(text)
            out.write("\n")
    return len(lines)


# -- metrics.json --------------------------------------------------------------------------------


def write_metrics(path: Path, pods: _Pods, queries: dict[str, str], rng: random.Random) -> int:
    grid = list(range(START, START + HOUR + 1, STEP))
    label = "label_app_kubernetes_io_name"

    def series(labels: dict[str, str], fn: Any, times: list[int] | None = None) -> dict[str, Any]:
        return {"labels": labels, "points": [[float(t), round(float(fn(t)), 6)] for t in (times or grid)]}

    def alive(created: float, gone: float) -> list[int]:
        return [t for t in grid if created <= t <= gone]

    per_agent = {
        "cpu_usage_by_agent": lambda a, k: lambda t: (60 + k) * 0.5 * (0.62 + 0.04 * k),
        "cpu_requests_by_agent": lambda a, k: lambda t: (60 + k) * 0.5,
        "memory_working_set_by_agent": lambda a, k: lambda t: (60 + k) * 400 * 2**20,
        "memory_requests_by_agent": lambda a, k: lambda t: (60 + k) * 512 * 2**20,
        "cpu_request_per_pod_by_agent": lambda a, k: lambda t: 0.5,
        "memory_request_per_pod_by_agent": lambda a, k: lambda t: 512 * 2**20,
        "cpu_throttled_periods_by_agent": lambda a, k: lambda t: 0.3 + 0.1 * k,
        "cpu_periods_by_agent": lambda a, k: lambda t: 10.0 * (60 + k),
    }
    out: dict[str, Any] = {}
    points = 0
    for key, promql in sorted(queries.items()):
        rows: list[dict[str, Any]] = []
        if key in per_agent:
            rows = [series({label: a}, per_agent[key](a, k)) for k, a in enumerate(AGENTS)]
        elif key in (
            "memory_working_set_by_pod",
            "memory_limits_by_pod",
            "container_restarts",
            "container_last_terminated_oom",
        ):
            for name, agent, _uid, _node, created, gone, oom_at in pods.items:
                times = alive(created, gone)
                if not times:
                    continue
                if key == "memory_working_set_by_pod":
                    ws = 300 + rng.random() * 500
                    rows.append(
                        series(
                            {"namespace": NS, "pod": name, label: agent}, lambda t, ws=ws: ws * 2**20, times
                        )
                    )
                elif key == "memory_limits_by_pod":
                    rows.append(series({"namespace": NS, "pod": name}, lambda t: 2**30, times))
                elif key == "container_restarts":
                    rows.append(
                        series(
                            {"namespace": NS, "pod": name, "container": "agent"},
                            lambda t, o=oom_at: 1.0 if o is not None and t >= o else 0.0,
                            times,
                        )
                    )
                elif oom_at is not None:
                    after = [t for t in times if t >= oom_at]
                    if after:
                        rows.append(
                            series({"namespace": NS, "pod": name, "container": "agent"}, lambda t: 1.0, after)
                        )
        elif key.startswith("pvc_"):
            for i in range(40):
                used = 0.5 + 0.3 * (i % 7) / 6
                rows.append(
                    series(
                        {"namespace": NS, "persistentvolumeclaim": f"workspace-{i}"},
                        (lambda t, u=used: u * 1e10) if key == "pvc_used_bytes" else (lambda t: 1e10),
                    )
                )
        elif key.startswith("hpa_"):
            for k, a in enumerate(AGENTS):
                hpa = {"namespace": NS, "horizontalpodautoscaler": a}
                metric = {**hpa, "metric_name": "cpu", "metric_target_type": "utilization"}
                fns = {
                    "hpa_current_metric": (metric, lambda t: 65.0 + ((t - START) // STEP) % 9),
                    "hpa_target_metric": (metric, lambda t: 70.0),
                    "hpa_desired_replicas": (
                        hpa,
                        lambda t, k=k: 40 + int(30 * min(1.0, (t - START) / 1200)) + k,
                    ),
                    "hpa_max_replicas": (hpa, lambda t: 400.0),
                }
                labels, fn = fns[key]
                rows.append(series(labels, fn))
        elif key.startswith("deployment_"):
            names = [*AGENTS, "workflow-controller", "agent-operator"]
            for name in names:
                if key == "deployment_labels":
                    component = "controller" if name in ("workflow-controller", "agent-operator") else "agent"
                    rows.append(
                        series(
                            {
                                "__name__": "kube_deployment_labels",
                                "namespace": NS,
                                "deployment": name,
                                "label_app_kubernetes_io_component": component,
                            },
                            lambda t: 1.0,
                        )
                    )
                else:
                    rows.append(series({"namespace": NS, "deployment": name}, lambda t: 2.0))
        elif key.startswith("pdb_"):
            for name in ("controller-pdb", "agents-pdb"):
                rows.append(
                    series(
                        {"namespace": NS, "poddisruptionbudget": name},
                        lambda t, k=key: 2.0 if k == "pdb_current_healthy" else 1.0,
                    )
                )
        elif key == "node_unschedulable":
            rows = [
                series(
                    {"node": f"agents-impl-{i}"},
                    (lambda t: 1.0 if START + 1800 <= t < START + 2040 else 0.0)
                    if i == 7
                    else (lambda t: 0.0),
                )
                for i in range(NODES)
            ]
        elif key == "workflow_queue_depth":
            rows = [series({}, lambda t: 20.0 + (300.0 if START + 1800 <= t < START + 1900 else 0.0))]
        elif key == "alerts_firing":
            rows = [
                series(
                    {
                        "alertname": "PDBNoDisruptionAllowed",
                        "alertstate": "firing",
                        "severity": "warning",
                        "namespace": NS,
                    },
                    lambda t: 1.0,
                    [t for t in grid if START + 1810 <= t < START + 2040],
                )
            ]
        elif key.startswith("quota_"):
            rows = [
                series(
                    {"namespace": NS, "resourcequota": "agents", "resource": "requests.cpu"},
                    (lambda t: 150 + (t - START) / 86400) if key == "quota_used" else (lambda t: 400.0),
                )
            ]
        points += sum(len(r["points"]) for r in rows)
        out[key] = {"promql": promql, "status": "ok", "series": rows}
    doc = {
        "schema": "validator.metrics/v1",
        "prometheus_url": "http://127.0.0.1:9090",
        "window": {"start": _iso(START), "end": _iso(START + HOUR)},
        "step_seconds": STEP,
        "queries": out,
    }
    path.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
    return points


# -- the rest of the run directory ---------------------------------------------------------------


def write_load(path: Path) -> int:
    header = [
        "Timestamp",
        "User Count",
        "Type",
        "Name",
        "Requests/s",
        "Failures/s",
        "50%",
        "66%",
        "75%",
        "80%",
        "90%",
        "95%",
        "98%",
        "99%",
        "99.9%",
        "99.99%",
        "100%",
        "Total Request Count",
        "Total Failure Count",
        "Total Median Response Time",
        "Total Average Response Time",
        "Total Min Response Time",
        "Total Max Response Time",
        "Total Average Content Size",
    ]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    total = fails = 0
    rows = 0
    for t in range(START, START + HOUR + 1):
        rps = 5 + 35 * min(1.0, (t - START) / 1200)
        fps = 0.5 if START + 1800 <= t < START + 1850 else 0.0
        total += int(rps)
        fails += int(fps)
        for name, kind in (("submit-workflow", "POST"), ("Aggregated", "")):
            writer.writerow(
                [
                    t,
                    50,
                    kind,
                    name,
                    f"{rps:.2f}",
                    f"{fps:.2f}",
                    120,
                    140,
                    160,
                    170,
                    220,
                    300,
                    380,
                    450,
                    700,
                    900,
                    1200,
                    total,
                    fails,
                    120,
                    135.2,
                    40,
                    1200,
                    512,
                ]
            )
            rows += 1
    path.write_text(buf.getvalue(), encoding="utf-8")
    return rows


def write_faults(path: Path) -> None:
    lines = []
    for fault, start, end in (("node-drain", 1800, 2040), ("memory-pressure", 2700, 2940)):
        base = {
            "run_id": "bench-10k",
            "experiment": fault,
            "fault": fault,
            "activity": fault,
            "targets": ["node/agents-impl-7"] if fault == "node-drain" else ["deployment/rex"],
        }
        lines.append({**base, "ts_ms": (START + start) * 1000, "phase": "inject_start"})
        lines.append({**base, "ts_ms": (START + end) * 1000, "phase": "inject_end", "status": "succeeded"})
        lines.append({**base, "ts_ms": (START + end + 5) * 1000, "phase": "rollback_start"})
        lines.append(
            {**base, "ts_ms": (START + end + 20) * 1000, "phase": "rollback_end", "status": "succeeded"}
        )
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")


def generate(run_dir: Path, pods: int) -> dict[str, Any]:
    from validator.criteria.registry import all_queries

    rng = random.Random(10_000)
    for sub in ("evidence", "load", "chaos"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    manifest = {
        "schema": "validator.manifest/v1",
        "run_id": "bench-10k",
        "suite": "benchmark",
        "window": {"start": _iso(START), "end": _iso(START + HOUR)},
        "context": "synthetic",
        "namespaces": [NS],
        "sandbox": True,
        "agent_label": "app.kubernetes.io/name",
        "controller_selector": "app.kubernetes.io/component=controller",
        "expected_alerts": {"node-drain": ["PDBNoDisruptionAllowed"], "memory-pressure": ["AgentOOMKilled"]},
        "criteria": {},
    }
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    population = _Pods(pods, rng)
    k8s_lines = write_k8s(run_dir / "evidence" / "k8s.jsonl", population)
    points = write_metrics(run_dir / "evidence" / "metrics.json", population, all_queries(), rng)
    load_rows = write_load(run_dir / "load" / "locust_stats_history.csv")
    write_faults(run_dir / "chaos" / "faults.jsonl")
    info = {
        "pods": pods,
        "k8s_lines": k8s_lines,
        "metric_points": points,
        "load_rows": load_rows,
        "k8s_jsonl_bytes": (run_dir / "evidence" / "k8s.jsonl").stat().st_size,
        "metrics_json_bytes": (run_dir / "evidence" / "metrics.json").stat().st_size,
    }
    (run_dir / "generated.json").write_text(json.dumps(info), encoding="utf-8")
    return info


# -- measuring ------------------------------------------------------------------------------------


def measure(run_dir: Path, out_dir: Path, profile: bool) -> dict[str, Any]:
    """evaluate + report in this (fresh) process; returns the timings and peak RSS."""
    from validator.criteria.registry import build_specs, evaluate_all
    from validator.report.html import write_report_html
    from validator.report.junit import write_junit_xml
    from validator.report.summary import write_summary_json
    from validator.run_directory import load_run_directory

    def peak() -> float:
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    rss_before = peak()
    profiler = cProfile.Profile() if profile else None
    c0, t0 = time.process_time(), time.perf_counter()
    evidence = load_run_directory(run_dir)
    c1, t1 = time.process_time(), time.perf_counter()
    peak_read = peak()
    if profiler:
        profiler.enable()
    summary = evaluate_all(build_specs(evidence.manifest.criteria), evidence)
    if profiler:
        profiler.disable()
    c2, t2 = time.process_time(), time.perf_counter()
    peak_evaluate = peak()
    out_dir.mkdir(parents=True, exist_ok=True)
    write_summary_json(out_dir, summary)
    write_junit_xml(out_dir, summary)
    html = write_report_html(out_dir, summary, evidence)
    c3, t3 = time.process_time(), time.perf_counter()
    k8s = evidence.k8s
    figures = {
        "read_s": round(t1 - t0, 2),
        "evaluate_s": round(t2 - t1, 2),
        "report_s": round(t3 - t2, 2),
        "total_s": round(t3 - t0, 2),
        # CPU seconds of this process: the same work measured apart from other load on the machine
        "read_cpu_s": round(c1 - c0, 2),
        "evaluate_cpu_s": round(c2 - c1, 2),
        "report_cpu_s": round(c3 - c2, 2),
        "total_cpu_s": round(c3 - c0, 2),
        "peak_rss_mib": peak(),
        "peak_rss_after_read_mib": peak_read,
        "peak_rss_after_evaluate_mib": peak_evaluate,
        "rss_at_start_mib": rss_before,
        "k8s_records_kept": sum(
            len(line) for kind in (k8s.objects if k8s else {}).values() for line in kind.values()
        ),
        "k8s_objects": sum(len(kind) for kind in (k8s.objects if k8s else {}).values()),
        "report_html_bytes": html.stat().st_size,
        "verdict": summary.verdict.value,
        "criteria": {c.id: c.verdict.value for c in summary.criteria},
    }
    if profiler:
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(30)
        figures["profile_top"] = stream.getvalue()
    return figures


def table(generated: dict[str, Any], figures: dict[str, Any]) -> str:
    """The figures as the table this benchmark prints."""
    rows = [
        ("pods", f"{generated['pods']:,}"),
        ("k8s.jsonl", f"{generated['k8s_lines']:,} lines, {generated['k8s_jsonl_bytes'] / 2**20:.0f} MiB"),
        (
            "metrics.json",
            f"{generated['metric_points']:,} points, {generated['metrics_json_bytes'] / 2**20:.0f} MiB",
        ),
        (
            "k8s evidence kept",
            f"{figures['k8s_records_kept']:,} changes of {figures['k8s_objects']:,} objects",
        ),
        ("read run dir", f"{figures['read_s']:.2f} s (CPU {figures['read_cpu_s']:.2f} s)"),
        ("evaluate", f"{figures['evaluate_s']:.2f} s (CPU {figures['evaluate_cpu_s']:.2f} s)"),
        ("report (json, xml, html)", f"{figures['report_s']:.2f} s (CPU {figures['report_cpu_s']:.2f} s)"),
        ("total", f"{figures['total_s']:.2f} s (CPU {figures['total_cpu_s']:.2f} s)"),
        (
            "peak RSS",
            f"{figures['peak_rss_mib']:.0f} MiB (after reading {figures['peak_rss_after_read_mib']:.0f}, "
            f"after evaluating {figures['peak_rss_after_evaluate_mib']:.0f})",
        ),
        ("report.html", f"{figures['report_html_bytes'] / 2**20:.1f} MiB"),
        ("verdict", figures["verdict"]),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{key:<{width}}  {value}" for key, value in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/validator-bench-10k"))
    parser.add_argument("--regenerate", action="store_true", help="generate the run directory even if cached")
    parser.add_argument("--profile", action="store_true", help="cProfile the evaluation and print the top 30")
    parser.add_argument("--measure-only", type=Path, help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--generate-only", type=Path, help=argparse.SUPPRESS)  # another child
    args = parser.parse_args(argv)

    if args.generate_only is not None:
        generate(args.generate_only, args.pods)
        return 0
    if args.measure_only is not None:
        figures = measure(args.measure_only, args.measure_only / "out", args.profile)
        print(json.dumps(figures))
        return 0

    run_dir = args.workdir / f"run-{args.pods}"
    if args.regenerate or not (run_dir / "generated.json").is_file():
        # in a process of its own: Linux hands a process's peak RSS on to the children it starts,
        # so generating here (~500 MiB) would show as the measuring child's peak
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--generate-only", str(run_dir), "--pods", str(args.pods)], check=True
        )
        print(f"generated {run_dir} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    generated = json.loads((run_dir / "generated.json").read_text())
    child = subprocess.run(
        [sys.executable, __file__, "--measure-only", str(run_dir), *(["--profile"] if args.profile else [])],
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode != 0:
        print(child.stderr, file=sys.stderr)
        return child.returncode
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    profile = figures.pop("profile_top", "")
    result = {"input": generated, **figures, "python": sys.version.split()[0]}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(table(generated, figures))
    if profile:
        print(profile)
    print(f"written: {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
