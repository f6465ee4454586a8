"""Advice names the object to change: a per-agent-type failure names the workloads whose pod
template carries that type (where its requests and limits are configured), as the watch saw them;
a failed submission ratio names the load's own error messages of the fault's window."""

from __future__ import annotations

from tests.support.evidence import (
    AGENT,
    T0,
    chaos,
    evidence,
    fault,
    k8s,
    load,
    metrics,
    ok,
    only,
    record,
    series,
    spec,
    steady,
)
from validator.criteria import (
    cpu_utilization,
    graceful_degradation,
    memory_utilization,
    oom_kills,
    resource_isolation,
)
from validator.model import (
    ContainerTermination,
    LoadEvidence,
    LoadFailure,
    PodState,
    StatefulSetState,
    Verdict,
)

CLEO = {"app.kubernetes.io/name": "cleo", "app.kubernetes.io/component": "agent"}


def watch_with_cleo_statefulset(*more):
    return k8s(
        record(0.1, "StatefulSet", "cleo", StatefulSetState(replicas=1, ready_replicas=1, pod_labels=CLEO),
               type="RELIST"),
        *more,
    )


def test_cpu_utilization_names_the_statefulset_of_the_type() -> None:
    found = metrics(
        ok("cpu_usage_by_agent", series({AGENT: "cleo"}, steady(0.7))),
        ok("cpu_requests_by_agent", series({AGENT: "cleo"}, steady(0.5))),
    )
    result = only(cpu_utilization.evaluate(spec(cpu_utilization),
                                          evidence(metrics=found, k8s=watch_with_cleo_statefulset())))
    assert result.verdict is Verdict.FAIL
    assert result.advice[0].startswith("StatefulSet `agents/cleo`: agent `cleo` uses 140.0%")
    # without the watch the advice still stands, naming the type only
    alone = only(cpu_utilization.evaluate(spec(cpu_utilization), evidence(metrics=found)))
    assert alone.advice[0].startswith("agent `cleo` uses 140.0%")


def test_memory_utilization_names_the_statefulset_of_the_pods_type() -> None:
    found = metrics(
        ok("memory_working_set_by_pod", series({"namespace": "agents", "pod": "cleo-0", AGENT: "cleo"},
                                                steady(95))),
        ok("memory_limits_by_pod", series({"namespace": "agents", "pod": "cleo-0"}, steady(100))),
    )
    result = only(memory_utilization.evaluate(spec(memory_utilization),
                                              evidence(metrics=found, k8s=watch_with_cleo_statefulset())))
    assert result.verdict is Verdict.FAIL
    assert result.advice[0].startswith("StatefulSet `agents/cleo`: pod `agents/cleo-0` (agent `cleo`)")


def test_oom_kills_names_the_statefulset_a_stage_pod_was_built_from() -> None:
    """A workflow-stage pod has no owner; its agent label leads to the StatefulSet whose template
    (and so whose memory limit) the platform's controller built it from."""
    stage_labels = {"app.kubernetes.io/name": "cleo", "app.kubernetes.io/component": "workflow-stage"}
    kill = ContainerTermination(container="agent", reason="OOMKilled", exit_code=137,
                                finished_at=T0 + 100, restart_count=1)
    watch = watch_with_cleo_statefulset(
        record(0.5, "Pod", "cleo-wf1-s1-a1", PodState(phase="Running", labels=stage_labels), type="RELIST"),
        record(100.5, "Pod", "cleo-wf1-s1-a1",
               PodState(phase="Running", labels=stage_labels, terminations=(kill,))),
    )
    result = only(oom_kills.evaluate(spec(oom_kills), evidence(k8s=watch, metrics=metrics(
        ok("container_restarts"), ok("container_last_terminated_oom")))))
    assert result.verdict is Verdict.FAIL
    assert result.advice[0].startswith(
        "StatefulSet `agents/cleo`: container `agent` of pod `agents/cleo-wf1-s1-a1` was OOM-killed")


def test_throttling_names_the_statefulset_of_the_type() -> None:
    found = metrics(
        ok("cpu_throttled_periods_by_agent", series({AGENT: "cleo"}, steady(2.0))),
        ok("cpu_periods_by_agent", series({AGENT: "cleo"}, steady(10.0))),
    )
    results = resource_isolation.evaluate(spec(resource_isolation),
                                          evidence(metrics=found, k8s=watch_with_cleo_statefulset()))
    [throttled] = [r for r in results if r.scope.get("measure") == "throttling"]
    assert throttled.verdict is Verdict.FAIL
    assert throttled.advice[0].startswith("StatefulSet `agents/cleo`: agent `cleo` is CPU-throttled 20.0%")


def test_failed_submissions_name_the_errors_seen_in_the_fault() -> None:
    rows = []
    requests = failures = 0
    for t in range(0, 601, 10):
        requests += 100
        if 200 < t <= 300:
            failures += 30
        rows.append((t, requests, failures, 0.1))
    base = load(rows)
    refused = LoadFailure(method="POST", name="submit workflow", error="queue full or unavailable: HTTP 429",
                          occurrences=300, first_seen=T0 + 201, last_seen=T0 + 299)
    earlier = LoadFailure(method="GET", name="workflow result", error="workflow failed: oom",
                          occurrences=2, first_seen=T0 + 20, last_seen=T0 + 40)
    ev = evidence(load=LoadEvidence(samples=base.samples, failures=(earlier, refused)),
                  chaos=chaos(fault("pod-eviction", 200, 300)))
    results = graceful_degradation.evaluate(spec(graceful_degradation), ev)
    [ratio] = [r for r in results if r.scope.get("measure") == "success_ratio"]
    assert ratio.verdict is Verdict.FAIL
    advice = ratio.advice[0]
    assert (
        "errors then: POST submit workflow: queue full or unavailable: HTTP 429 (300x in the run)" in advice
    )
    assert "workflow failed: oom" not in advice  # seen only before the fault
