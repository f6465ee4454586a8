"""oom_kills: OOMKilled terminations outside memory-pressure faults; exact from the watch, else Prometheus."""

from __future__ import annotations

import pytest

from tests.support.evidence import (
    T0,
    chaos,
    error,
    evidence,
    fault,
    k8s,
    metrics,
    ok,
    only,
    record,
    series,
    spec,
    steady,
)
from validator.criteria import oom_kills as crit
from validator.model import ContainerTermination, PodState, Verdict


def oom_pod(t: float, finished: float | None, name: str = "rex-1", restarts: int = 1):
    term = ContainerTermination(
        container="agent",
        reason="OOMKilled",
        exit_code=137,
        finished_at=None if finished is None else T0 + finished,
        restart_count=restarts,
    )
    return record(t, "Pod", name, PodState(phase="Running", terminations=(term,)))


def quiet_pod(t: float = 0.5):
    return record(t, "Pod", "rex-1", PodState(phase="Running"), type="RELIST")


ON_REX_1 = ["pod/agents/rex-1"]
MEMORY = fault("memory-pressure", 100, 200, targets=ON_REX_1)
DRAIN = fault("node-drain", 300, 360)

WATCH_CASES = [
    ("none", [quiet_pod()], [], Verdict.PASS, 0),
    ("one-outside-faults", [quiet_pod(), oom_pod(50, 49)], [MEMORY], Verdict.FAIL, 1),
    ("inside-memory-fault-is-expected", [quiet_pod(), oom_pod(150, 149)], [MEMORY], Verdict.PASS, 0),
    # finishedAt is truncated to the second: a kill 0.25 s into the fault reads as 0.75 s before it
    ("truncated-clock-at-fault-start", [quiet_pod(), oom_pod(100.3, 99.0)], [MEMORY], Verdict.PASS, 0),
    ("two-seconds-before-the-fault-counts", [quiet_pod(), oom_pod(98.5, 98.0)], [MEMORY], Verdict.FAIL, 1),
    ("within-grace-after-memory-fault", [quiet_pod(), oom_pod(230, 230)], [MEMORY], Verdict.PASS, 0),
    ("inside-a-drain-still-counts", [quiet_pod(), oom_pod(320, 320)], [MEMORY, DRAIN], Verdict.FAIL, 1),
    (
        "same-kill-seen-on-many-lines-counted-once",
        [quiet_pod(), oom_pod(50, 49), oom_pod(55, 49), oom_pod(90, 49)],
        [],
        Verdict.FAIL,
        1,
    ),
    (
        "two-kills-of-one-container",
        [quiet_pod(), oom_pod(50, 49), oom_pod(400, 399, restarts=2)],
        [],
        Verdict.FAIL,
        2,
    ),
    ("kill-before-the-window-ignored", [oom_pod(0.5, -100)], [], Verdict.PASS, 0),
    (
        "overlapping-memory-faults",
        [quiet_pod(), oom_pod(260, 260)],
        [
            fault("memory-pressure", 100, 200, targets=ON_REX_1),
            fault("memory-hog", 180, 250, targets=ON_REX_1),
        ],
        Verdict.PASS,
        0,
    ),
    # a memory-pressure fault excuses its own targets' kills only: pressure on rex does not excuse
    # an OOM kill of cleo meanwhile (it did before), nor does a fault that names no target
    (
        "a-fault-on-rex-excuses-no-kill-of-cleo",
        [quiet_pod(), oom_pod(150, 149, name="cleo-0")],
        [MEMORY],
        Verdict.FAIL,
        1,
    ),
    (
        "a-fault-naming-no-target-excuses-nothing",
        [quiet_pod(), oom_pod(150, 149)],
        [fault("memory-pressure", 100, 200)],
        Verdict.FAIL,
        1,
    ),
    ("no-finished-at-uses-receipt-time", [quiet_pod(), oom_pod(500, None)], [MEMORY], Verdict.FAIL, 1),
]


@pytest.mark.parametrize(
    ("records", "faults", "verdict", "value"), [c[1:] for c in WATCH_CASES], ids=[c[0] for c in WATCH_CASES]
)
def test_from_the_watch(records, faults, verdict, value) -> None:
    result = only(crit.evaluate(spec(crit), evidence(k8s=k8s(*records), chaos=chaos(*faults))))
    assert result.verdict is verdict, result.detail
    assert result.value == value
    assert "Kubernetes watch" in result.detail


def test_expected_kills_are_listed_not_counted() -> None:
    result = only(
        crit.evaluate(spec(crit), evidence(k8s=k8s(quiet_pod(), oom_pod(150, 149)), chaos=chaos(MEMORY)))
    )
    assert "1 inside memory-pressure faults, expected and not counted" in result.detail


def test_watch_gap_makes_zero_inconclusive_but_not_a_kill() -> None:
    gapped = k8s(quiet_pod(), gaps=[("Pod", 200, 260)])
    assert only(crit.evaluate(spec(crit), evidence(k8s=gapped))).verdict is Verdict.INCONCLUSIVE
    gapped_kill = k8s(quiet_pod(), oom_pod(50, 49), gaps=[("Pod", 200, 260)])
    assert only(crit.evaluate(spec(crit), evidence(k8s=gapped_kill))).verdict is Verdict.FAIL


def test_truncated_watch_makes_zero_inconclusive() -> None:
    partial = k8s(quiet_pod(), partial="evidence/k8s.jsonl: last line 9 is truncated")
    result = only(crit.evaluate(spec(crit), evidence(k8s=partial)))
    assert result.verdict is Verdict.INCONCLUSIVE and "truncated" in result.detail


def test_unterminated_memory_fault_makes_zero_inconclusive() -> None:
    result = only(
        crit.evaluate(
            spec(crit), evidence(k8s=k8s(quiet_pod()), chaos=chaos(fault("memory-pressure", 100, None)))
        )
    )
    assert result.verdict is Verdict.INCONCLUSIVE


LABELS = {"namespace": "agents", "pod": "rex-1", "container": "agent"}


def prom(restarts, reason):
    return metrics(
        ok("container_restarts", series(LABELS, steady(restarts))),
        ok("container_last_terminated_oom", series(LABELS, steady(reason)))
        if reason is not None
        else ok("container_last_terminated_oom"),
    )


PROM_CASES = [
    ("no-restarts", prom(0, None), [], Verdict.PASS, 0),
    (
        "restart-with-oom-reason",
        prom(lambda t: 0 if t < 90 else 1, lambda t: 0 if t < 90 else 1),
        [],
        Verdict.FAIL,
        1,
    ),
    ("restart-for-another-reason", prom(lambda t: 0 if t < 90 else 1, None), [], Verdict.PASS, 0),
    (
        "restart-inside-memory-fault",
        prom(lambda t: 0 if t < 150 else 1, lambda t: 0 if t < 150 else 1),
        [MEMORY],
        Verdict.PASS,
        0,
    ),
    (
        "counter-reset-counts-new-restarts",  # pod recreated with the same name: 3 -> 0 -> 1
        prom(lambda t: 3 if t < 200 else (0 if t < 400 else 1), lambda t: 1 if t >= 400 else 0),
        [],
        Verdict.FAIL,
        1,
    ),
]


@pytest.mark.parametrize(
    ("found", "faults", "verdict", "value"), [c[1:] for c in PROM_CASES], ids=[c[0] for c in PROM_CASES]
)
def test_from_prometheus_without_watch(found, faults, verdict, value) -> None:
    result = only(crit.evaluate(spec(crit), evidence(metrics=found, chaos=chaos(*faults))))
    assert result.verdict is verdict, result.detail
    assert result.value == value


def test_no_watch_and_prometheus_error_is_inconclusive() -> None:
    found = metrics(error("container_restarts"), ok("container_last_terminated_oom"))
    result = only(crit.evaluate(spec(crit), evidence(metrics=found)))
    assert result.verdict is Verdict.INCONCLUSIVE and "no Kubernetes watch" in result.detail
