"""Writes a complete, healthy run directory on disk (every source present, every criterion passing),
which tests then damage one piece at a time. Times are offsets in seconds from T0."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

T0 = 1763604000  # 2025-11-20T02:00:00Z
END = 600
STEP = 15
AGENT = "label_app_kubernetes_io_name"


def _points(value: float, start: int = 0, end: int = END) -> list[list[float]]:
    return [[float(T0 + t), value] for t in range(start, end + 1, STEP)]


def _series(labels: dict[str, str], value: float) -> dict[str, Any]:
    return {"labels": labels, "points": _points(value)}


def healthy_metrics(cpu_ratio: float = 0.7) -> dict[str, Any]:
    rex = {AGENT: "rex"}
    pod = {"namespace": "agents", "pod": "rex-1"}
    queries: dict[str, Any] = {
        "cpu_usage_by_agent": [_series(rex, cpu_ratio)],
        "cpu_requests_by_agent": [_series(rex, 1.0)],
        "cpu_request_per_pod_by_agent": [_series(rex, 1.0)],
        "memory_working_set_by_pod": [_series({**pod, AGENT: "rex"}, 50.0)],
        "memory_limits_by_pod": [_series(pod, 100.0)],
        "container_restarts": [_series({**pod, "container": "agent"}, 0.0)],
        "container_last_terminated_oom": [],
        "pvc_used_bytes": [_series({"namespace": "agents", "persistentvolumeclaim": "data-rex"}, 60.0)],
        "pvc_capacity_bytes": [_series({"namespace": "agents", "persistentvolumeclaim": "data-rex"}, 100.0)],
        "alerts_firing": [
            {
                "labels": {"alertname": "AgentOOMKilled", "alertstate": "firing"},
                "points": [[float(T0 + t), 1.0] for t in range(135, 181, STEP)],
            },
            {"labels": {"alertname": "Watchdog", "alertstate": "firing"}, "points": _points(1.0)},
        ],
        "cpu_throttled_periods_by_agent": [_series(rex, 0.1)],
        "cpu_periods_by_agent": [_series(rex, 10.0)],
        "quota_used": [
            {
                "labels": {"namespace": "agents", "resourcequota": "agents", "resource": "requests.cpu"},
                "points": [[float(T0 + t), 4.0 + t / 600] for t in range(0, END + 1, STEP)],
            }
        ],
        "quota_hard": [
            {
                "labels": {"namespace": "agents", "resourcequota": "agents", "resource": "requests.cpu"},
                "points": _points(100.0),
            }
        ],
        # the same growth (one core per 10 minutes) over three days of Prometheus history: the
        # quota runs out within the day, which fails the (info) forecast
        "quota_trend": [
            _series({"namespace": "agents", "resourcequota": "agents", "resource": "requests.cpu"}, 1 / 600)
        ],
        "quota_history": [
            _series(
                {"namespace": "agents", "resourcequota": "agents", "resource": "requests.cpu"}, 3 * 86400.0
            )
        ],
        "memory_working_set_by_agent": [_series(rex, 50.0)],
        "memory_requests_by_agent": [_series(rex, 100.0)],
        "memory_request_per_pod_by_agent": [_series(rex, 100.0)],
        "workflow_queue_depth": [_series({}, 5.0)],
    }
    return {
        "schema": "validator.metrics/v1",
        "prometheus_url": "http://127.0.0.1:9090",
        "window": {"start": "2025-11-20T02:00:00Z", "end": "2025-11-20T02:10:00Z"},
        "step_seconds": STEP,
        "queries": {k: {"promql": "…", "status": "ok", "series": v} for k, v in queries.items()},
    }


def manifest(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "schema": "validator.manifest/v1",
        "run_id": "2025-11-20T020000Z-test",
        "suite": "test",
        "window": {"start": "2025-11-20T02:00:00Z", "end": "2025-11-20T02:10:00Z"},
        "context": "kwok-validator-sandbox",
        "namespaces": ["agents"],
        "sandbox": True,
        "agent_label": "app.kubernetes.io/name",
        "controller_selector": "app.kubernetes.io/component=controller",
        "expected_alerts": {"memory-pressure": ["AgentOOMKilled"]},
        "criteria": {"recovery_time": {"max": 300}},
    }
    doc.update(overrides)
    return doc


def line(
    t: float, kind: str, name: str, obj: dict[str, Any], event: str = "MODIFIED", ns: str = "agents"
) -> dict[str, Any]:
    meta = obj.setdefault("metadata", {})
    meta.setdefault("name", name)
    if kind != "Node":
        meta.setdefault("namespace", ns)
    meta.setdefault("uid", f"uid-{kind}-{name}")
    return {
        "received_ms": int((T0 + t) * 1000),
        "kind": kind,
        "type": event,
        "namespace": ns if kind != "Node" else "",
        "name": name,
        "uid": meta["uid"],
        "resource_version": "1",
        "object": obj,
    }


def deployment(labels: dict[str, str], replicas: int, ready: int) -> dict[str, Any]:
    return {
        "metadata": {"labels": labels},
        "spec": {"replicas": replicas},
        "status": {"readyReplicas": ready, "availableReplicas": ready},
    }


def hpa(desired: int, current_util: int, max_replicas: int = 5) -> dict[str, Any]:
    return {
        "spec": {
            "minReplicas": 1,
            "maxReplicas": max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}},
                }
            ],
        },
        "status": {
            "currentReplicas": desired,
            "desiredReplicas": desired,
            "currentMetrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "current": {"averageUtilization": current_util}},
                }
            ],
        },
    }


def pod(phase: str = "Running", terminated: dict[str, Any] | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {
        "phase": phase,
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": "agent", "restartCount": 0, "state": {"running": {}}}],
    }
    if terminated is not None:
        status["containerStatuses"][0]["lastState"] = {"terminated": terminated}
        status["containerStatuses"][0]["restartCount"] = 1
    return {
        "metadata": {"labels": {"app.kubernetes.io/name": "rex"}},
        "spec": {"nodeName": "n1"},
        "status": status,
    }


def healthy_k8s() -> list[dict[str, Any]]:
    controller = {"app.kubernetes.io/component": "controller", "app.kubernetes.io/name": "controller"}
    return [
        line(
            0.1,
            "Node",
            "n1",
            {"spec": {}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}},
            "RELIST",
        ),
        line(0.1, "Deployment", "controller", deployment(controller, 2, 2), "RELIST"),
        line(0.1, "Deployment", "rex", deployment({"app.kubernetes.io/name": "rex"}, 1, 1), "RELIST"),
        line(0.1, "Pod", "rex-1", pod(), "RELIST"),
        line(0.1, "Pod", "controller-1", controller_pod(), "RELIST"),
        line(0.1, "HorizontalPodAutoscaler", "rex", hpa(1, 30), "RELIST"),
        line(
            0.1,
            "PodDisruptionBudget",
            "controller-pdb",
            {
                "spec": {
                    "selector": {"matchLabels": {"app.kubernetes.io/component": "controller"}},
                    "minAvailable": 1,
                },
                "status": {
                    "currentHealthy": 2,
                    "desiredHealthy": 1,
                    "disruptionsAllowed": 1,
                    "expectedPods": 2,
                },
            },
            "RELIST",
        ),
        line(
            1,
            "Event",
            "rex-1.1",
            {
                "reason": "Scheduled",
                "message": "assigned",
                "type": "Normal",
                "involvedObject": {"kind": "Pod", "name": "rex-1"},
            },
            "ADDED",
        ),
        # the memory-pressure fault (120-180 s) OOM-kills its target, rex-1: expected, not counted
        line(151, "Pod", "rex-1", pod(terminated={"reason": "OOMKilled", "exitCode": 137,
                                                   "finishedAt": "2025-11-20T02:02:30Z"})),
        line(200, "HorizontalPodAutoscaler", "rex", hpa(1, 90)),
        line(230, "HorizontalPodAutoscaler", "rex", hpa(2, 80)),
        line(290, "HorizontalPodAutoscaler", "rex", hpa(2, 40)),
        # the drain (300-360 s, rolled back at 370 s) cordons n1, where controller-1 runs
        line(301, "Node", "n1", {"spec": {"unschedulable": True},
                                 "status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
        line(368, "Node", "n1", {"spec": {},
                                 "status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
    ]


def controller_pod() -> dict[str, Any]:
    doc = pod()
    doc["metadata"] = {"labels": {"app.kubernetes.io/component": "controller",
                                  "app.kubernetes.io/name": "controller"}}
    return doc


def faults_lines() -> list[dict[str, Any]]:
    def f(t: int, experiment: str, activity: str, phase: str, **kw: Any) -> dict[str, Any]:
        return {
            "ts_ms": (T0 + t) * 1000,
            "run_id": "x",
            "experiment": experiment,
            "fault": experiment,
            "activity": activity,
            "phase": phase,
            **kw,
        }

    memory = {"action": "apply_memory_pressure"}
    drain = {"action": "drain_nodes"}
    return [
        f(120, "memory-pressure", "stress-rex", "inject_start", targets=["namespace/agents"], **memory),
        f(180, "memory-pressure", "stress-rex", "inject_end", status="succeeded",
          targets=["pod/agents/rex-1"], **memory),
        f(300, "node-drain", "drain-one-agent-node", "inject_start", targets=["node/n1"], **drain),
        f(360, "node-drain", "drain-one-agent-node", "inject_end", status="succeeded", targets=["node/n1"],
          **drain),
        f(362, "node-drain", "uncordon", "rollback_start"),
        f(370, "node-drain", "uncordon", "rollback_end", status="succeeded"),
    ]


def journal() -> dict[str, Any]:
    return {
        "chaoslib-version": "1.44.0",
        "experiment": {"title": "node-drain"},
        "status": "completed",
        "deviated": False,
        "steady_states": {"before": {"steady_state_met": True}, "after": {"steady_state_met": True}},
        "run": [
            {
                "activity": {"name": "drain-one-agent-node", "type": "action"},
                "status": "succeeded",
                "start": "2025-11-20T02:05:00.000000",
                "end": "2025-11-20T02:06:00.000000",
            }
        ],
        "rollbacks": [
            {
                "activity": {"name": "uncordon", "type": "action"},
                "status": "succeeded",
                "start": "2025-11-20T02:06:02.000000",
                "end": "2025-11-20T02:06:10.000000",
            }
        ],
    }


HISTORY_COLUMNS = [
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


def history_rows(failures_between: tuple[int, int] | None = None) -> list[list[str]]:
    rows = []
    failures = 0
    for t in range(0, END + 1, 10):
        if failures_between and failures_between[0] < t <= failures_between[1]:
            failures += 3
        p95 = "N/A" if t == 0 else "200"
        rows.append(
            [
                str(T0 + t),
                "10",
                "",
                "Aggregated",
                "10.0",
                "0.0",
                "100",
                "120",
                "130",
                "140",
                "180",
                p95,
                "250",
                "300",
                "400",
                "400",
                "400",
                str(t * 10),
                str(failures),
                "100",
                "110.5",
                "50",
                "400",
                "12",
            ]
        )
    return rows


def write_run_directory(
    root: Path,
    *,
    metrics: dict[str, Any] | None = None,
    k8s: list[dict[str, Any]] | None = None,
    history: list[list[str]] | None = None,
    manifest_doc: dict[str, Any] | None = None,
) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "manifest.json").write_text(json.dumps(manifest_doc or manifest()), encoding="utf-8")
    (root / "evidence").mkdir(exist_ok=True)
    (root / "evidence" / "metrics.json").write_text(
        json.dumps(metrics or healthy_metrics()), encoding="utf-8"
    )
    with (root / "evidence" / "k8s.jsonl").open("w", encoding="utf-8") as handle:
        for item in k8s if k8s is not None else healthy_k8s():
            handle.write(json.dumps(item) + "\n")
    (root / "load").mkdir(exist_ok=True)
    with (root / "load" / "locust_stats_history.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HISTORY_COLUMNS)
        writer.writerows(history if history is not None else history_rows())
    (root / "chaos").mkdir(exist_ok=True)
    with (root / "chaos" / "faults.jsonl").open("w", encoding="utf-8") as handle:
        for item in faults_lines():
            handle.write(json.dumps(item) + "\n")
    (root / "chaos" / "journal.json").write_text(json.dumps(journal()), encoding="utf-8")
    return root
