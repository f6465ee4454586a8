"""OpenMetrics fixtures of known values, for backfilling a real Prometheus with promtool.

Standard metric names only (kube-state-metrics v2, cAdvisor, kubelet volume stats), as a stock
kube-prometheus-stack exposes them. What they encode, over the 30-minute window that starts at
`window_start` (data begins 10 minutes earlier, so `rate(...[5m])` has samples at the window's
first step, and ends 5 minutes after the window):

- agents `rex` (pods rex-1, rex-2) and `tess` (tess-1) in namespace `agents`;
- CPU: each rex pod uses 0.35 cores of 0.5 requested -> utilisation 0.70;
  tess uses 0.20 of 0.5 -> 0.40 (below the 0.60-0.80 band: fails);
- memory: working set 400 MiB of a 500 MiB limit -> 0.80 for every pod (passes, < 0.90);
- PVC `agents/workspace-rex`: 6.5 GB used of 10 GB -> 0.65 (inside 0.50-0.80);
- controller Deployment `agents/workflow-controller`: one available replica throughout -> 1.0;
- container `agent` of tess-1 is OOM-killed once, 10 minutes into the window -> 1 OOM kill;
- HPA `agents/rex`: CPU 50 % against a 70 % target until 5 minutes into the window, then 90 %;
  desired replicas go 2 -> 4 two minutes later -> scaling latency 120 s;
- ResourceQuota `agents/agents` requests.cpu: 55 of 100 used at the window's end, growing one
  core a day -> 45 days to exhaustion;
- CFS: 10 periods a second per agent container, 1% of them throttled -> throttling 0.01 (passes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

STEP = 15
LEAD = 600  # data before the window
TAIL = 300  # data after the window
WINDOW = 1800

REX_CPU = 0.35
TESS_CPU = 0.20
CPU_REQUEST = 0.5
MEMORY_WORKING_SET = 400 * 2**20
MEMORY_LIMIT = 500 * 2**20
PVC_USED = 6.5e9
PVC_CAPACITY = 10e9
OOM_AT = 600  # seconds into the window
HPA_RISE_AT = 300
HPA_DECISION_AT = 420

QUOTA_HARD = 100.0  # requests.cpu of ResourceQuota agents/agents
QUOTA_USED_AT_END = 55.0  # growing by one core a day -> 45 days to exhaustion
QUOTA_HISTORY = 2 * 86400  # the quota's series goes back two days (the forecast needs one)
QUOTA_HISTORY_STEP = 60

CFS_PERIODS_PER_S = 10.0  # 100 ms CFS periods
THROTTLED_SHARE = 0.01

PODS = {"rex-1": "rex", "rex-2": "rex", "tess-1": "tess"}

Value = Callable[[int], float | None]  # seconds since window start -> value (None: no sample)


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


class _Family:
    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind
        self.series: list[tuple[str, Value]] = []

    def add(self, value: Value, **labels: str) -> None:
        self.series.append((_labels(**labels), value))


def _const(v: float) -> Value:
    return lambda _t: v


def _families() -> list[_Family]:
    ns = "agents"
    fams: dict[str, _Family] = {}

    def fam(name: str, kind: str = "gauge") -> _Family:
        return fams.setdefault(name, _Family(name, kind))

    for pod, agent in PODS.items():
        cores = REX_CPU if agent == "rex" else TESS_CPU
        fam("kube_pod_labels").add(_const(1), namespace=ns, pod=pod, label_app_kubernetes_io_name=agent)
        fam("kube_pod_status_phase").add(_const(1), namespace=ns, pod=pod, phase="Running")
        # a counter in cAdvisor's shape, with the pause container's series too (criteria skip it)
        fam("container_cpu_usage_seconds_total", "counter").add(
            lambda t, c=cores: 1000.0 + c * (t + LEAD), namespace=ns, pod=pod, container="agent"
        )
        fam("container_cpu_usage_seconds_total", "counter").add(
            lambda t: 5.0 + 0.001 * (t + LEAD), namespace=ns, pod=pod, container="POD"
        )
        fam("kube_pod_container_resource_requests").add(
            _const(CPU_REQUEST), namespace=ns, pod=pod, container="agent", resource="cpu", unit="core"
        )
        fam("kube_pod_container_resource_requests").add(
            _const(MEMORY_LIMIT), namespace=ns, pod=pod, container="agent", resource="memory", unit="byte"
        )
        fam("kube_pod_container_resource_limits").add(
            _const(MEMORY_LIMIT), namespace=ns, pod=pod, container="agent", resource="memory", unit="byte"
        )
        fam("container_memory_working_set_bytes").add(
            _const(MEMORY_WORKING_SET), namespace=ns, pod=pod, container="agent"
        )
        fam("container_cpu_cfs_periods_total", "counter").add(
            lambda t: CFS_PERIODS_PER_S * (t + LEAD), namespace=ns, pod=pod, container="agent"
        )
        fam("container_cpu_cfs_throttled_periods_total", "counter").add(
            lambda t: CFS_PERIODS_PER_S * THROTTLED_SHARE * (t + LEAD),
            namespace=ns,
            pod=pod,
            container="agent",
        )
        killed = pod == "tess-1"
        fam("kube_pod_container_status_restarts_total", "counter").add(
            (lambda t: 1.0 if t >= OOM_AT else 0.0) if killed else _const(0),
            namespace=ns,
            pod=pod,
            container="agent",
        )
        if killed:
            fam("kube_pod_container_status_last_terminated_reason").add(
                lambda t: 1.0 if t >= OOM_AT else None,
                namespace=ns,
                pod=pod,
                container="agent",
                reason="OOMKilled",
            )
        else:
            fam("kube_pod_container_status_last_terminated_reason").add(
                _const(1), namespace=ns, pod=pod, container="agent", reason="Completed"
            )
    fam("kubelet_volume_stats_used_bytes").add(
        _const(PVC_USED), namespace=ns, persistentvolumeclaim="workspace-rex"
    )
    fam("kubelet_volume_stats_capacity_bytes").add(
        _const(PVC_CAPACITY), namespace=ns, persistentvolumeclaim="workspace-rex"
    )
    fam("kube_deployment_status_replicas_available").add(
        _const(1), namespace=ns, deployment="workflow-controller"
    )
    fam("kube_deployment_labels").add(
        _const(1),
        namespace=ns,
        deployment="workflow-controller",
        label_app_kubernetes_io_component="controller",
        label_app_kubernetes_io_name="workflow-controller",
    )
    hpa = {"namespace": ns, "horizontalpodautoscaler": "rex"}
    metric = {**hpa, "metric_name": "cpu", "metric_target_type": "utilization"}
    fam("kube_horizontalpodautoscaler_spec_target_metric").add(_const(70), **metric)
    fam("kube_horizontalpodautoscaler_status_target_metric").add(
        lambda t: 90.0 if t >= HPA_RISE_AT else 50.0, **metric
    )
    fam("kube_horizontalpodautoscaler_status_desired_replicas").add(
        lambda t: 4.0 if t >= HPA_DECISION_AT else 2.0, **hpa
    )
    fam("kube_horizontalpodautoscaler_status_current_replicas").add(
        lambda t: 4.0 if t >= HPA_DECISION_AT + 30 else 2.0, **hpa
    )
    fam("kube_horizontalpodautoscaler_spec_max_replicas").add(_const(10), **hpa)
    fam("kube_horizontalpodautoscaler_spec_min_replicas").add(_const(2), **hpa)
    quota = {"namespace": ns, "resourcequota": "agents", "resource": "requests.cpu"}
    fam("kube_resourcequota").add(lambda t: QUOTA_USED_AT_END + (t - WINDOW) / 86400, type="used", **quota)
    fam("kube_resourcequota").add(_const(QUOTA_HARD), type="hard", **quota)
    return list(fams.values())


def _times(family: str) -> range:
    """Sample offsets: every series from LEAD before the window; the quota's from two days before."""
    if family == "kube_resourcequota":
        return range(-QUOTA_HISTORY, WINDOW + TAIL + 1, QUOTA_HISTORY_STEP)
    return range(-LEAD, WINDOW + TAIL + 1, STEP)


def _lines(window_start: int) -> Iterator[str]:
    for family in _families():
        yield f"# TYPE {family.name} {family.kind}"
        for labels, value in family.series:
            for t in _times(family.name):
                v = value(t)
                if v is not None:
                    yield f"{family.name}{labels} {v!r} {window_start + t}"
    yield "# EOF"


def write_openmetrics(path: Path, window_start: int) -> Path:
    """Write the fixtures for a window starting at `window_start` (epoch seconds, a multiple of STEP)."""
    assert window_start % STEP == 0
    path.write_text("\n".join(_lines(window_start)) + "\n", encoding="utf-8")
    return path
