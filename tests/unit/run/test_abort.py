"""A run that stops itself: each abort_on rule, what it reads and the reason it gives; the suite
file's rules validated; an aborted summary is a fail in summary.json, JUnit and the console."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.evidence import T0
from validator.config.suite_file import AbortRules, load_suite_file
from validator.errors import ConfigError
from validator.load.locust_process import LoadProgress
from validator.model import CriterionOutcome, Result, Summary, TimeWindow, Verdict
from validator.report.console_table import overall_verdict_line
from validator.report.junit import junit_text
from validator.report.summary import summary_document, summary_from_document
from validator.run.abort import abort_reason

ROOT = Path(__file__).resolve().parents[3]
WINDOW = TimeWindow(start=T0, end=T0 + 600)


def _live(verdict: Verdict, criterion: str = "controller_availability") -> Summary:
    result = Result(
        criterion=criterion,
        scope={"selector": "controller"},
        verdict=verdict,
        detail="0 of 1 controller replicas available for 95 s",
    )
    return Summary(
        run_id="r",
        window=WINDOW,
        verdict=verdict,
        criteria=(CriterionOutcome(id=criterion, verdict=verdict, results=(result,)),),
    )


def _load(sent: int, failed: int) -> LoadProgress:
    return LoadProgress(
        timestamp=T0,
        user_count=10,
        requests_per_s=1.0,
        failures_per_s=0.0,
        total_requests=sent,
        total_failures=failed,
    )


def test_a_named_live_criterion_that_failed_stops_the_run() -> None:
    rules = AbortRules(criteria=("controller_availability",))
    assert abort_reason(rules, _live(Verdict.PASS), [], None) == ""
    assert abort_reason(rules, _live(Verdict.INCONCLUSIVE), [], None) == ""  # not a failure
    reason = abort_reason(rules, _live(Verdict.FAIL), [], None)
    assert reason.startswith("controller_availability failed") and "0 of 1 controller" in reason
    assert abort_reason(rules, _live(Verdict.FAIL, "pdb_respected"), [], None) == ""  # not named


def test_a_firing_alert_by_name_or_severity_stops_the_run() -> None:
    firing = [
        {"alertname": "AgentPodNotReady", "severity": "warning"},
        {"alertname": "Watchdog", "severity": "none"},
    ]
    assert abort_reason(AbortRules(alerts=("AgentOOMKilled",)), None, firing, None) == ""
    assert abort_reason(AbortRules(alerts=("AgentPodNotReady",)), None, firing, None) == (
        "alert AgentPodNotReady is firing"
    )
    assert abort_reason(AbortRules(alert_severity="critical"), None, firing, None) == ""
    assert abort_reason(AbortRules(alert_severity="warning"), None, firing, None) == (
        "alert AgentPodNotReady (warning) is firing"
    )


def test_the_loads_error_ratio_stops_the_run_at_or_above_its_threshold() -> None:
    rules = AbortRules(load_error_ratio=0.25)
    assert abort_reason(rules, None, [], None) == ""
    assert abort_reason(rules, None, [], _load(0, 0)) == ""
    assert abort_reason(rules, None, [], _load(100, 24)) == ""
    assert "25% (25 of 100 requests failed" in abort_reason(rules, None, [], _load(100, 25))


def _suite(tmp_path: Path, abort_on: str) -> Path:
    text = (ROOT / "suites" / "on-demand.yaml").read_text() + abort_on
    path = tmp_path / "suites" / "mine.yaml"
    path.parent.mkdir()
    path.write_text(text)
    return path


def test_a_suite_declares_its_abort_rules(tmp_path: Path) -> None:
    path = _suite(tmp_path, "abort_on: {criteria: [controller_availability], load_error_ratio: 0.5}\n")
    suite = load_suite_file(path, root=ROOT)
    assert suite.abort_on == AbortRules(criteria=("controller_availability",), load_error_ratio=0.5)
    assert load_suite_file(ROOT / "suites" / "nightly.yaml").abort_on is None


@pytest.mark.parametrize(
    ("abort_on", "message"),
    [
        (
            "abort_on: {criteria: [cpu_utilization]}\n",
            "abort_on.criteria[0]: 'cpu_utilization' is not judged",
        ),
        ("abort_on: {}\n", "abort_on: give at least one rule"),
        ("abort_on: {load_error_ratio: 1.5}\n", "abort_on.load_error_ratio"),
        ("abort_on: {alerts: [X], when: now}\n", "abort_on.when"),
    ],
)
def test_bad_abort_rules_name_the_key(tmp_path: Path, abort_on: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_suite_file(_suite(tmp_path, abort_on), root=ROOT)
    assert message in caught.value.what


def test_an_aborted_summary_is_a_fail_everywhere_it_is_written() -> None:
    summary = Summary(run_id="r", window=WINDOW, verdict=Verdict.FAIL, aborted="alert X is firing")
    document = summary_document(summary)
    assert document["verdict"] == "fail" and document["aborted"] == "alert X is firing"
    assert summary_from_document(document, source="summary.json") == summary
    junit = junit_text(summary)
    assert 'classname="run" name="aborted"' in junit and 'failures="1"' in junit
    assert "the run aborted itself: alert X is firing" in junit
    assert "aborted itself: alert X is firing" in overall_verdict_line(summary)
