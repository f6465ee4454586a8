"""The check of every run against its history: a change the bad way on the latest run is a
regression of its own in summary.json and junit.xml, started at the right run; `warn` reports it,
`fail` also fails the run; other contexts, info criteria and time-stamped scopes behave."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

from tests.support.evidence import T0
from validator.history import HistoryStore, judge_against_history
from validator.history.store import series_scopes
from validator.model import (
    CriterionOutcome,
    RegressionPolicy,
    Result,
    RunManifest,
    Summary,
    TimeWindow,
    Verdict,
)
from validator.report.junit import junit_text
from validator.report.summary import summary_document, summary_from_document, summary_text

DAY = 86_400.0
BAND = {"min": 0.6, "max": 0.8}


def night(
    n: int,
    cleo: float,
    *,
    context: str = "kwok-x",
    recovery: float = 0.0,
    days_left: float = 200.0,
) -> tuple[Summary, RunManifest]:
    window = TimeWindow(start=T0 + n * DAY, end=T0 + n * DAY + 600)
    start = f"2026-12-0{n + 1}T01:20:08Z"  # when the fault began: different every night
    outcomes = (
        CriterionOutcome(
            id="cpu_utilization",
            verdict=Verdict.PASS,
            results=tuple(
                Result(
                    criterion="cpu_utilization",
                    scope={"agent": agent},
                    verdict=Verdict.PASS,
                    value=value,
                    unit="ratio",
                    threshold=BAND,
                    detail="",
                )
                for agent, value in (("cleo", cleo), ("rex", 0.71))
            ),
        ),
        CriterionOutcome(
            id="recovery_time",
            verdict=Verdict.PASS,
            results=(
                Result(
                    criterion="recovery_time",
                    scope={"fault": "node-drain", "start": start},
                    verdict=Verdict.PASS,
                    value=recovery,
                    unit="s",
                    threshold={"max": 300.0},
                    detail="",
                ),
            ),
        ),
        CriterionOutcome(
            id="capacity_forecast",
            verdict=Verdict.PASS,
            info=True,
            results=(
                Result(
                    criterion="capacity_forecast",
                    scope={"quota": "agents/q", "resource": "pods"},
                    verdict=Verdict.PASS,
                    value=days_left,
                    unit="days",
                    threshold={"min": 30.0},
                    detail="",
                ),
            ),
        ),
    )
    summary = Summary(run_id=f"night-{n}", window=window, verdict=Verdict.PASS, criteria=outcomes)
    return summary, RunManifest(run_id=summary.run_id, window=window, suite="nightly", context=context)


def history(tmp_path: Path, nights: list[tuple[Summary, RunManifest]]) -> Path:
    path = tmp_path / "history.sqlite"
    store = HistoryStore(path)
    for summary, manifest in nights:
        store.record(summary, manifest, tmp_path / summary.run_id, kind="run")
    return path


def test_a_step_on_the_third_night_is_a_regression_started_there(tmp_path: Path) -> None:
    path = history(tmp_path, [night(0, 0.70), night(1, 0.71)])
    summary, manifest = night(2, 1.40)  # Cleo's request halved: 140% of it used
    judged = judge_against_history(
        path, summary, manifest, tmp_path / "night-2", policy=RegressionPolicy.WARN
    )
    check = judged.regressions
    assert check is not None and check.earlier_runs == 2
    assert [(r.criterion, r.scope, r.started_run, r.method) for r in check.found] == [
        ("cpu_utilization", "agent=cleo", "night-2", "step")
    ]
    assert check.found[0].before == 0.705 and check.found[0].after == 1.4
    assert judged.verdict is Verdict.PASS  # warn: reported, the verdict is the criteria's


def test_the_fail_policy_fails_the_run_but_not_for_an_info_criterion(tmp_path: Path) -> None:
    path = history(tmp_path, [night(0, 0.70), night(1, 0.71)])
    summary, manifest = night(2, 1.40)
    failed = judge_against_history(path, summary, manifest, tmp_path / "r", policy=RegressionPolicy.FAIL)
    assert failed.verdict is Verdict.FAIL
    summary, manifest = night(2, 0.70, days_left=40.0)  # only the info criterion moved
    judged = judge_against_history(path, summary, manifest, tmp_path / "r", policy=RegressionPolicy.FAIL)
    assert judged.regressions is not None
    assert [r.criterion for r in judged.regressions.found] == ["capacity_forecast"]
    assert judged.verdict is Verdict.PASS


def test_nothing_regresses_on_the_same_platform(tmp_path: Path) -> None:
    path = history(tmp_path, [night(0, 0.70), night(1, 0.745)])
    summary, manifest = night(2, 0.708)  # the sandbox's own night-to-night noise
    judged = judge_against_history(path, summary, manifest, tmp_path / "r", policy=RegressionPolicy.FAIL)
    assert judged.regressions is not None and judged.regressions.found == ()
    assert judged.verdict is Verdict.PASS and judged.regressions.note == ""


def test_the_first_run_says_there_is_nothing_to_compare_with(tmp_path: Path) -> None:
    summary, manifest = night(0, 1.4)
    judged = judge_against_history(
        tmp_path / "none.sqlite", summary, manifest, tmp_path / "r", policy=RegressionPolicy.FAIL
    )
    assert judged.regressions is not None and judged.regressions.earlier_runs == 0
    assert "nothing to compare with" in judged.regressions.note and judged.verdict is Verdict.PASS


def test_another_clusters_runs_are_not_a_baseline(tmp_path: Path) -> None:
    path = history(tmp_path, [night(0, 0.70, context="prod"), night(1, 0.71, context="prod")])
    summary, manifest = night(2, 1.40, context="staging")
    judged = judge_against_history(path, summary, manifest, tmp_path / "r", policy=RegressionPolicy.FAIL)
    assert judged.regressions is not None and judged.regressions.earlier_runs == 0
    assert judged.verdict is Verdict.PASS


def test_an_unreadable_history_leaves_the_verdict_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    path.write_text("not a database")
    summary, manifest = night(0, 1.4)
    judged = judge_against_history(path, summary, manifest, tmp_path / "r", policy=RegressionPolicy.FAIL)
    assert judged.regressions is not None and "not read" in judged.regressions.note
    assert judged.verdict is Verdict.PASS


def test_a_fault_lines_up_night_after_night_without_its_start_time(tmp_path: Path) -> None:
    path = history(tmp_path, [night(0, 0.7, recovery=40.0), night(1, 0.7, recovery=41.0)])
    summary, manifest = night(2, 0.7, recovery=140.0)  # recovery 40 s -> 140 s: inside its 300 s budget
    judged = judge_against_history(path, summary, manifest, tmp_path / "r", policy=RegressionPolicy.WARN)
    assert judged.regressions is not None
    assert [(r.criterion, r.scope) for r in judged.regressions.found] == [
        ("recovery_time", "fault=node-drain")
    ]
    twice = [
        Result(
            criterion="recovery_time",
            scope={"fault": "drain", "start": s},
            verdict=Verdict.PASS,
            value=1.0,
            unit="s",
            threshold={},
            detail="",
        )
        for s in ("a", "b")
    ]
    assert series_scopes(twice) == ["fault=drain", "fault=drain #2"]


def test_the_regression_is_its_own_outcome_in_summary_json_and_junit(tmp_path: Path) -> None:
    path = history(tmp_path, [night(0, 0.70), night(1, 0.71)])
    summary, manifest = night(2, 1.40)
    for policy, failures in ((RegressionPolicy.WARN, 0), (RegressionPolicy.FAIL, 1)):
        judged = judge_against_history(path, summary, manifest, tmp_path / "r", policy=policy)
        document = json.loads(summary_text(judged))
        block = document["regressions"]
        assert block["policy"] == policy.value and block["earlier_runs"] == 2
        assert [(r["criterion"], r["scope"], r["started_run"]) for r in block["found"]] == [
            ("cpu_utilization", "agent=cleo", "night-2")
        ]
        assert summary_document(summary_from_document(document, source="x")) == document  # round trip
        root = ET.fromstring(junit_text(judged))
        case = root.find(".//testcase[@classname='regression.cpu_utilization']")
        assert case is not None and case.get("name") == "agent=cleo"
        assert len(case.findall("failure")) == failures
        assert (case.find("system-err") is not None) is (failures == 0)
        assert root.get("failures") == str(failures)
    assert "regressions" not in summary_document(replace(summary, regressions=None))
