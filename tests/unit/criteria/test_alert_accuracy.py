"""alert_accuracy: false firings / all firings, expected = inside a fault (+grace) and listed for it."""

from __future__ import annotations

import pytest

from tests.support.evidence import (
    T0,
    chaos,
    error,
    evidence,
    fault,
    k8s,
    manifest,
    metrics,
    ok,
    only,
    record,
    series,
    spec,
    steady,
)
from validator.criteria import alert_accuracy as crit
from validator.model import ContainerTermination, PodState, Verdict


def firing(name: str, start: float, end: float):
    return series({"alertname": name, "alertstate": "firing"}, steady(1, start=start, end=end))


EXPECTED = {"memory-pressure": ("AgentOOMKilled",), "node-drain": ("PDBNoDisruptionAllowed",)}
MEMORY = fault("memory-pressure", 100, 200)

CASES = [
    ("expected-only", [firing("AgentOOMKilled", 120, 180)], [MEMORY], Verdict.PASS, 0.0),
    ("within-grace", [firing("AgentOOMKilled", 450, 480)], [MEMORY], Verdict.PASS, 0.0),
    ("after-grace-is-false", [firing("AgentOOMKilled", 540, 570)], [MEMORY], Verdict.FAIL, 1.0),
    ("not-listed-for-this-fault", [firing("PDBNoDisruptionAllowed", 120, 180)], [MEMORY], Verdict.FAIL, 1.0),
    ("no-fault-at-all", [firing("HighLatency", 120, 180)], [], Verdict.FAIL, 1.0),
    (
        "flapping-alert-is-two-firings",
        [
            series(
                {"alertname": "AgentOOMKilled"}, steady(1, start=120, end=150) + steady(1, start=300, end=330)
            )
        ],
        [MEMORY],
        Verdict.PASS,
        0.0,
    ),
    (
        "watchdog-ignored",
        [firing("Watchdog", 0, 600), firing("AgentOOMKilled", 120, 150)],
        [MEMORY],
        Verdict.PASS,
        0.0,
    ),
    (
        "overlapping-faults-either-may-expect-it",
        [firing("PDBNoDisruptionAllowed", 160, 200)],
        [MEMORY, fault("node-drain", 150, 250)],
        Verdict.PASS,
        0.0,
    ),
]


@pytest.mark.parametrize(
    ("alerts", "faults", "verdict", "value"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_false_positive_rate(alerts, faults, verdict, value) -> None:
    ev = evidence(
        metrics=metrics(ok("alerts_firing", *alerts)),
        chaos=chaos(*faults),
        manifest_=manifest(expected_alerts=EXPECTED),
    )
    result = only(crit.evaluate(spec(crit), ev))
    assert (result.verdict, result.value) == (verdict, value), result.detail


def test_rate_is_false_over_all() -> None:
    alerts = [
        series({"alertname": "AgentOOMKilled", "pod": f"p{i}"}, steady(1, start=120, end=130))
        for i in range(19)
    ]
    alerts.append(firing("Noise", 400, 420))
    ev = evidence(
        metrics=metrics(ok("alerts_firing", *alerts)),
        chaos=chaos(MEMORY),
        manifest_=manifest(expected_alerts=EXPECTED),
    )
    result = only(crit.evaluate(spec(crit), ev))
    assert result.value == pytest.approx(0.05)
    assert result.verdict is Verdict.FAIL  # strictly below 5% passes
    assert "Noise" in result.advice[0]


def test_no_firing_is_inconclusive_and_reports_missing_expected() -> None:
    ev = evidence(
        metrics=metrics(ok("alerts_firing")),
        chaos=chaos(MEMORY),
        manifest_=manifest(expected_alerts=EXPECTED),
    )
    result = only(crit.evaluate(spec(crit), ev))
    assert result.verdict is Verdict.INCONCLUSIVE
    assert "expected but never fired: AgentOOMKilled (for memory-pressure)" in result.detail


def test_prometheus_error_is_inconclusive() -> None:
    result = only(crit.evaluate(spec(crit), evidence(metrics=metrics(error("alerts_firing")))))
    assert result.verdict is Verdict.INCONCLUSIVE and "HTTP 500" in result.detail


def test_firing_before_window_is_not_counted() -> None:
    alerts = [series({"alertname": "Old"}, ((T0 - 100, 1.0),))]
    result = only(crit.evaluate(spec(crit), evidence(metrics=metrics(ok("alerts_firing", *alerts)))))
    assert result.verdict is Verdict.INCONCLUSIVE


def _oom_killed(pod: str, at_s: float):
    ended = ContainerTermination(container="agent", reason="OOMKilled", exit_code=137, finished_at=T0 + at_s,
                                 restart_count=1)
    return record(at_s + 1, "Pod", pod, PodState(terminations=(ended,)))


def test_an_alert_about_a_pod_the_run_saw_killed_is_justified_not_false() -> None:
    """A broken platform OOM-kills cleo outside any fault: ContainerOOMKilled for cleo-0 is a true
    alert. The same alert for a pod the watch saw no termination of stays false."""
    about = {"alertname": "ContainerOOMKilled", "alertstate": "firing", "namespace": "agents"}
    alerts = [
        series({**about, "pod": "cleo-0"}, steady(1, start=420, end=450)),
        series({**about, "pod": "rex-0"}, steady(1, start=420, end=450)),
    ]
    ev = evidence(
        metrics=metrics(ok("alerts_firing", *alerts)),
        k8s=k8s(_oom_killed("cleo-0", 400), _oom_killed("rex-0", 10)),  # rex-0's kill: long before
        chaos=chaos(MEMORY),
        manifest_=manifest(expected_alerts=EXPECTED),
    )
    result = only(crit.evaluate(spec(crit), ev))
    assert (result.verdict, result.value) == (Verdict.FAIL, 0.5), result.detail
    assert "1 justified by a termination of their pod" in result.detail
    alerts.pop()
    ev = evidence(metrics=metrics(ok("alerts_firing", *alerts)), k8s=k8s(_oom_killed("cleo-0", 400)))
    assert only(crit.evaluate(spec(crit), ev)).verdict is Verdict.PASS


def test_a_firing_in_progress_when_the_window_opens_is_listed_not_counted() -> None:
    """It began before the run (e.g. left by an earlier run's fault): not this run's to judge. A new
    firing of the same series later in the window still counts."""
    leftover = series({"alertname": "ContainerOOMKilled", "pod": "rex-0"},
                      steady(1, start=0, end=60) + steady(1, start=400, end=420))
    ev = evidence(metrics=metrics(ok("alerts_firing", leftover, firing("AgentOOMKilled", 120, 150))),
                  chaos=chaos(MEMORY), manifest_=manifest(expected_alerts=EXPECTED))
    result = only(crit.evaluate(spec(crit), ev))
    assert (result.verdict, result.value) == (Verdict.FAIL, 0.5), result.detail  # the one at 400 s
    assert "already firing when the window opened, not counted: ContainerOOMKilled" in result.detail
    old = series({"alertname": "X"}, steady(1, start=0, end=60))
    alone = evidence(metrics=metrics(ok("alerts_firing", old)))
    assert only(crit.evaluate(spec(crit), alone)).verdict is Verdict.INCONCLUSIVE  # nothing of the run's


def test_a_container_that_completed_justifies_no_alert() -> None:
    """A workflow-stage pod that finished its work (Completed, exit 0) is not an incident: an alert
    about it stays false (any termination used to justify one)."""
    done = ContainerTermination(container="agent", reason="Completed", exit_code=0, finished_at=T0 + 400,
                                restart_count=0)
    about = {"alertname": "AgentPodFailed", "alertstate": "firing", "namespace": "agents", "pod": "tess-wf1"}
    ev = evidence(
        metrics=metrics(ok("alerts_firing", series(about, steady(1, start=420, end=450)))),
        k8s=k8s(record(401, "Pod", "tess-wf1", PodState(phase="Succeeded", terminations=(done,)))),
    )
    result = only(crit.evaluate(spec(crit), ev))
    assert (result.verdict, result.value) == (Verdict.FAIL, 1.0), result.detail


def test_an_expected_alert_about_a_bystander_pod_is_false() -> None:
    """Memory pressure on rex-0 expects ContainerOOMKilled, for rex-0: the same alert for cleo-0
    meanwhile is not the fault's (any pod's used to count as expected)."""
    about = {"alertname": "ContainerOOMKilled", "alertstate": "firing", "namespace": "agents"}
    alerts = [
        series({**about, "pod": "rex-0"}, steady(1, start=120, end=150)),
        series({**about, "pod": "cleo-0"}, steady(1, start=120, end=150)),
    ]
    ev = evidence(
        metrics=metrics(ok("alerts_firing", *alerts)),
        chaos=chaos(fault("memory-pressure", 100, 200, targets=["pod/agents/rex-0"])),
        manifest_=manifest(expected_alerts={"memory-pressure": ("ContainerOOMKilled",)}),
    )
    result = only(crit.evaluate(spec(crit), ev))
    assert (result.verdict, result.value) == (Verdict.FAIL, 0.5), result.detail
    assert "ContainerOOMKilled at 2025-11-20T02:02:00Z" in result.detail
