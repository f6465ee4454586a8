"""A realistic synthetic run (verdicts + evidence) for the report tests and the README screenshot,
built with the one Evidence builder (tests/support/evidence.py).

One hour, four agent types, a node drain and a memory-pressure fault, two HPAs scaling with
a load ramp, an OOM kill outside the fault window, three PVCs, and a mix of verdicts.
"""

from __future__ import annotations

import math

from tests.support import evidence as evidence_builders
from validator.model import (
    ChaosEvidence,
    ContainerTermination,
    CriterionOutcome,
    Evidence,
    HpaState,
    K8sEvidence,
    LoadEvidence,
    LoadSample,
    MetricsEvidence,
    NotEvaluated,
    PodState,
    Result,
    RunManifest,
    Series,
    SourceName,
    Summary,
    TimeWindow,
    Verdict,
    WatchRecord,
    worst,
)

START = 1_795_766_400.0  # 2026-11-27T08:00:00Z
END = START + 3600.0
STEP = 15.0
AGENTS = {"rex": 0.72, "blaze": 0.66, "cleo": 0.78, "tess": 0.41}
SECRET_URL = "http://admin:s3cr3t-pw@prometheus.monitoring:9090"


def _ts() -> list[float]:
    return [START + i * STEP for i in range(int((END - START) / STEP) + 1)]


def _load(t: float) -> float:
    """Submissions per second: ramp 5 -> 40 over 20 min, hold, with a dip in the drain."""
    x = (t - START) / 60
    base = 5 + min(x, 20) * 1.75
    if 30 <= x < 34:
        base *= 0.85
    return base + 1.5 * math.sin(x)


def metrics() -> MetricsEvidence:
    ts = _ts()
    usage = tuple(
        Series(
            labels={"label_app_kubernetes_io_name": agent},
            points=tuple((t, 4.0 * ratio * (1 + 0.08 * math.sin((t - START) / 300 + i))) for t in ts),
        )
        for i, (agent, ratio) in enumerate(AGENTS.items())
    )
    requests = tuple(
        Series(labels={"label_app_kubernetes_io_name": agent}, points=tuple((t, 4.0) for t in ts))
        for agent in AGENTS
    )
    pvc_used = tuple(
        Series(
            labels={"namespace": "agents", "persistentvolumeclaim": name},
            points=tuple((t, cap * (start + 0.05 * (t - START) / 3600)) for t in ts),
        )
        for name, cap, start in (
            ("workspace-rex", 10e9, 0.63),
            ("workspace-cleo", 10e9, 0.83),
            ("artifacts", 50e9, 0.55),
        )
    )
    pvc_cap = tuple(
        Series(
            labels=dict(s.labels),
            points=tuple((t, 50e9 if "artifacts" in s.labels["persistentvolumeclaim"] else 10e9) for t in ts),
        )
        for s in pvc_used
    )
    return evidence_builders.metrics(
        evidence_builders.ok("cpu_usage_by_agent", *usage, promql="sum by (...) (rate(...))"),
        evidence_builders.ok("cpu_requests_by_agent", *requests, promql="sum(...)"),
        evidence_builders.ok("pvc_used_bytes", *pvc_used, promql="max(kubelet_volume_stats_used_bytes)"),
        evidence_builders.ok(
            "pvc_capacity_bytes", *pvc_cap, promql="max(kubelet_volume_stats_capacity_bytes)"
        ),
        evidence_builders.error(
            "alerts_firing",
            "HTTP 503 from Prometheus: unavailable (after 4 attempts)",
            promql='ALERTS{alertstate="firing"}',
        ),
        step=STEP,
        prometheus_url="http://[redacted]@prometheus.monitoring:9090",
    )


def k8s() -> K8sEvidence:
    records: list[WatchRecord] = []
    for hpa, lag in (("rex", 0), ("cleo", 240)):
        replicas = 2
        for i, t in enumerate(_ts()):
            if i % 8:
                continue
            want = min(10, 2 + int(max(0.0, _load(t - lag) - 8) / 4))
            if want != replicas or i == 0:
                replicas = want
                state = HpaState(
                    min_replicas=2, max_replicas=10, current_replicas=replicas, desired_replicas=replicas
                )
                records.append(evidence_builders.record(t, "HorizontalPodAutoscaler", hpa, state, origin=0.0))
    oom_at = START + 44 * 60
    records.append(
        evidence_builders.record(
            oom_at + 1,
            "Pod",
            "tess-5f7c-x2k9q",
            origin=0.0,
            state=PodState(
                labels={"app.kubernetes.io/name": "tess"},
                phase="Running",
                ready=False,
                terminations=(
                    ContainerTermination(
                        container="agent",
                        reason="OOMKilled",
                        exit_code=137,
                        finished_at=oom_at,
                        restart_count=1,
                    ),
                ),
            ),
        )
    )
    return evidence_builders.k8s(*records)


def load() -> LoadEvidence:
    samples = []
    total = 0
    fails = 0
    for t in _ts()[::2]:
        rps = _load(t)
        fps = 0.8 if START + 30 * 60 <= t < START + 33 * 60 else 0.0
        total += int(rps * 30)
        fails += int(fps * 30)
        samples.append(
            LoadSample(
                timestamp=t,
                name="Aggregated",
                requests_per_s=rps,
                failures_per_s=fps,
                p95=0.35,
                total_requests=total,
                total_failures=fails,
                user_count=50,
            )
        )
    return LoadEvidence(samples=tuple(samples))


def chaos() -> ChaosEvidence:
    return evidence_builders.chaos(
        evidence_builders.fault(
            "node-drain",
            30 * 60,
            33 * 60,
            origin=START,
            activity="drain-one-agent-node",
            rollback_end=34 * 60,
            targets=("node/agents-impl-1",),
        ),
        evidence_builders.fault(
            "memory-pressure",
            48 * 60,
            52 * 60,
            origin=START,
            activity="stress-rex",
            targets=("deployment/rex",),
        ),
    )


def _r(
    criterion: str,
    verdict: Verdict,
    value: float | None,
    unit: str,
    threshold: dict[str, float],
    detail: str,
    scope: dict[str, str] | None = None,
    advice: tuple[str, ...] = (),
) -> Result:
    return Result(
        criterion=criterion,
        scope=scope or {},
        verdict=verdict,
        value=value,
        unit=unit,
        threshold=threshold,
        detail=detail,
        advice=advice,
    )


def results() -> dict[str, list[Result]]:
    band = {"min": 0.6, "max": 0.8}
    cpu = []
    for agent, ratio in AGENTS.items():
        ok = 0.6 <= ratio <= 0.8
        cpu.append(
            _r(
                "cpu_utilization",
                Verdict.PASS if ok else Verdict.FAIL,
                ratio,
                "ratio",
                band,
                "mean over 240 samples" if ok else "below target: over-provisioned (mean over 240 samples)",
                {"agent": agent},
                ()
                if ok
                else (
                    f"agent `{agent}` uses {ratio:.0%} of its CPU requests: lower "
                    "resources.requests.cpu to about 0.59x the current value",
                ),
            )
        )
    return {
        "cpu_utilization": cpu,
        "memory_utilization": [
            _r(
                "memory_utilization",
                Verdict.PASS,
                v,
                "ratio",
                {"max": 0.9},
                "max over pods and window",
                {"agent": a},
            )
            for a, v in (("rex", 0.71), ("blaze", 0.64), ("cleo", 0.82), ("tess", 0.88))
        ],
        "oom_kills": [
            _r(
                "oom_kills",
                Verdict.FAIL,
                1,
                "count",
                {"max": 0},
                "1 OOM kill outside fault windows: agents/tess-5f7c-x2k9q container agent at 08:44:00Z",
                advice=(
                    "container `agent` of pod `agents/tess-5f7c-x2k9q` was OOM-killed: raise "
                    "resources.limits.memory of Deployment `tess` (working set peaked at 98%)",
                ),
            )
        ],
        "pvc_utilization": [
            _r(
                "pvc_utilization",
                Verdict.PASS,
                0.655,
                "ratio",
                {"min": 0.5, "max": 0.8},
                "mean over 241 samples",
                {"pvc": "agents/workspace-rex"},
            ),
            _r(
                "pvc_utilization",
                Verdict.FAIL,
                0.855,
                "ratio",
                {"min": 0.5, "max": 0.8},
                "above target: 85.5% used (mean over 241 samples)",
                {"pvc": "agents/workspace-cleo"},
                (
                    "PVC `agents/workspace-cleo` is 85.5% full: "
                    "expand it (allowVolumeExpansion) or clean up old data",
                ),
            ),
            _r(
                "pvc_utilization",
                Verdict.PASS,
                0.575,
                "ratio",
                {"min": 0.5, "max": 0.8},
                "mean over 241 samples",
                {"pvc": "agents/artifacts"},
            ),
        ],
        "scaling_latency": [
            _r(
                "scaling_latency",
                Verdict.PASS,
                45,
                "seconds",
                {"max": 300},
                "load rise at 08:04:00Z",
                {"hpa": "agents/rex"},
            ),
            _r(
                "scaling_latency",
                Verdict.PASS,
                240,
                "seconds",
                {"max": 300},
                "load rise at 08:04:00Z",
                {"hpa": "agents/cleo"},
            ),
        ],
        "controller_availability": [
            _r(
                "controller_availability",
                Verdict.PASS,
                1.0,
                "ratio",
                {"min": 0.999},
                "available for the whole window",
                {"deployment": "agents/workflow-controller"},
            )
        ],
        "recovery_time": [
            _r(
                "recovery_time",
                Verdict.PASS,
                95,
                "seconds",
                {"max": 300},
                "steady state again at 08:35:35Z",
                {"fault": "node-drain"},
            ),
            _r(
                "recovery_time",
                Verdict.PASS,
                130,
                "seconds",
                {"max": 300},
                "steady state again at 08:54:10Z",
                {"fault": "memory-pressure"},
            ),
        ],
        "alert_accuracy": [
            _r(
                "alert_accuracy",
                Verdict.INCONCLUSIVE,
                None,
                "ratio",
                {"below": 0.05},
                "query `alerts_firing` failed: HTTP 503 from Prometheus: unavailable (after 4 attempts)",
            )
        ],
        "capacity_forecast": [
            _r(
                "capacity_forecast",
                Verdict.PASS,
                41.5,
                "days",
                {"min": 30},
                "requests.cpu of quota agents/agents",
                {"quota": "agents/agents"},
            )
        ],
    }


def summary_and_evidence(*, sandbox: bool = True) -> tuple[Summary, Evidence]:
    window = TimeWindow(start=START, end=END)
    outcomes = []
    for criterion, found in results().items():
        verdict = worst(r.verdict for r in found) or Verdict.INCONCLUSIVE
        outcomes.append(
            CriterionOutcome(
                id=criterion, verdict=verdict, info=criterion == "capacity_forecast", results=tuple(found)
            )
        )
    overall = worst(o.verdict for o in outcomes if not o.info) or Verdict.INCONCLUSIVE
    summary = Summary(
        run_id="2026-11-27T080000Z-nightly",
        window=window,
        verdict=overall,
        criteria=tuple(outcomes),
        not_evaluated=(NotEvaluated(id="pdb_respected", reason="not evaluated: needs the Kubernetes watch"),),
    )
    manifest = RunManifest(
        run_id=summary.run_id,
        window=window,
        suite="nightly",
        context="kwok-validator-sandbox",
        namespaces=("agents",),
        sandbox=sandbox,
    )
    evidence = evidence_builders.evidence(
        manifest_=manifest,
        k8s=k8s(),
        metrics=metrics(),
        load=load(),
        chaos=chaos(),
        missing={SourceName.METRICS: f"partial: alerts query failed against {SECRET_URL}"},
    )
    return summary, evidence
