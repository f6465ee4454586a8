"""summary.json (validator.summary/v1) and junit.xml: exact shape, and byte-identical re-rendering."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from validator.model import CriterionOutcome, NotEvaluated, Result, Summary, TimeWindow, Verdict
from validator.report.junit import junit_text, write_junit_xml
from validator.report.summary import summary_document, summary_from_document, summary_text, write_summary_json

T0 = 1763604000.0


def _summary() -> Summary:
    cpu = (
        Result(
            criterion="cpu_utilization",
            scope={"agent": "rex"},
            verdict=Verdict.PASS,
            value=0.72,
            unit="ratio",
            threshold={"min": 0.6, "max": 0.8},
            detail="mean over 480 samples",
        ),
        Result(
            criterion="cpu_utilization",
            scope={"agent": "tess"},
            verdict=Verdict.FAIL,
            value=0.41,
            unit="ratio",
            threshold={"min": 0.6, "max": 0.8},
            detail="below target: over-provisioned",
            advice=("agent `tess` uses 41.0% of its CPU requests: lower resources.requests.cpu",),
        ),
    )
    recovery = (
        Result(
            criterion="recovery_time",
            scope={"fault": "node-drain"},
            verdict=Verdict.INCONCLUSIVE,
            unit="seconds",
            threshold={"max": 300},
            detail="fault `node-drain` has no inject_end line",
        ),
    )
    forecast = (
        Result(
            criterion="capacity_forecast",
            scope={"quota": "agents/q", "resource": "pods"},
            verdict=Verdict.FAIL,
            value=12.5,
            unit="days",
            threshold={"min": 30},
            detail="growing",
        ),
    )
    return Summary(
        run_id="2026-11-20T020000Z-nightly",
        window=TimeWindow(start=T0, end=T0 + 7200),
        verdict=Verdict.FAIL,
        criteria=(
            CriterionOutcome(id="cpu_utilization", verdict=Verdict.FAIL, results=cpu),
            CriterionOutcome(id="recovery_time", verdict=Verdict.INCONCLUSIVE, results=recovery),
            CriterionOutcome(id="capacity_forecast", verdict=Verdict.FAIL, info=True, results=forecast),
        ),
        not_evaluated=(NotEvaluated(id="pdb_respected", reason="needs the Kubernetes watch"),),
    )


def test_summary_document_matches_criteria_md() -> None:
    doc = summary_document(_summary())
    assert list(doc) == ["schema", "run_id", "verdict", "window", "criteria", "not_evaluated"]
    assert doc["schema"] == "validator.summary/v1"
    assert doc["window"] == {"start": "2025-11-20T02:00:00Z", "end": "2025-11-20T04:00:00Z"}
    cpu = doc["criteria"][0]
    assert cpu == {
        "id": "cpu_utilization",
        "verdict": "fail",
        "results": [
            {
                "scope": {"agent": "rex"},
                "verdict": "pass",
                "value": 0.72,
                "unit": "ratio",
                "threshold": {"min": 0.6, "max": 0.8},
                "detail": "mean over 480 samples",
            },
            {
                "scope": {"agent": "tess"},
                "verdict": "fail",
                "value": 0.41,
                "unit": "ratio",
                "threshold": {"min": 0.6, "max": 0.8},
                "detail": "below target: over-provisioned",
                "advice": ["agent `tess` uses 41.0% of its CPU requests: lower resources.requests.cpu"],
            },
        ],
    }
    inconclusive = doc["criteria"][1]["results"][0]
    assert inconclusive["value"] is None and inconclusive["detail"]
    assert "advice" not in inconclusive
    assert doc["criteria"][2]["info"] is True
    assert doc["not_evaluated"] == [{"id": "pdb_respected", "reason": "needs the Kubernetes watch"}]


def test_values_are_plain_numbers_in_base_units() -> None:
    doc = summary_document(_summary())
    assert doc["criteria"][1]["results"][0]["threshold"] == {"max": 300}
    assert isinstance(doc["criteria"][2]["results"][0]["value"], float)


def test_rendering_is_deterministic_and_round_trips(tmp_path: Path) -> None:
    summary = _summary()
    first = summary_text(summary)
    assert summary_text(summary) == first
    again = summary_from_document(json.loads(first), source="summary.json")
    assert summary_text(again) == first
    write_summary_json(tmp_path, summary)
    write_junit_xml(tmp_path, summary)
    files = (tmp_path / "summary.json").read_bytes(), (tmp_path / "junit.xml").read_bytes()
    write_summary_json(tmp_path, again)
    write_junit_xml(tmp_path, again)
    assert ((tmp_path / "summary.json").read_bytes(), (tmp_path / "junit.xml").read_bytes()) == files


def test_junit_one_case_per_scope() -> None:
    root = ET.fromstring(junit_text(_summary()))
    suite = root.find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("cpu_utilization", "agent=rex"),
        ("cpu_utilization", "agent=tess"),
        ("recovery_time", "fault=node-drain"),
        ("capacity_forecast", "quota=agents/q,resource=pods"),
        ("pdb_respected", "not evaluated"),
    ]
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("5", "1", "2")
    failure = cases[1].find("failure")
    assert failure is not None
    assert "measured 0.41 ratio" in failure.get("message", "")
    assert "threshold min 0.6, max 0.8 (ratio)" in failure.get("message", "")
    assert "advice: agent `tess`" in (failure.text or "")
    skipped = cases[2].find("skipped")
    assert (
        skipped is not None
        and "measured none" in skipped.get("message", "")
        and "max 300" in skipped.get("message", "")
    )
    assert "no inject_end" in skipped.get("message", "")


def test_junit_info_failure_does_not_fail_ci() -> None:
    root = ET.fromstring(junit_text(_summary()))
    forecast = next(c for c in root.iter("testcase") if c.get("classname") == "capacity_forecast")
    assert forecast.find("failure") is None
    out = forecast.find("system-out")
    assert out is not None and (out.text or "").startswith("info (does not change the verdict)")
