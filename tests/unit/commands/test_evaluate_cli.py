"""`validator evaluate` / `validator report` on run directories built in tmp_path: exit codes and messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.run_directory import healthy_metrics, manifest, write_run_directory
from validator.cli import main


def _summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))


def test_healthy_run_passes_with_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = write_run_directory(tmp_path / "run")
    assert main(["evaluate", str(run_dir)]) == 0
    summary = _summary(run_dir)
    assert summary["schema"] == "validator.summary/v1"
    assert summary["verdict"] == "pass"
    assert summary["window"] == {"start": "2025-11-20T02:00:00Z", "end": "2025-11-20T02:10:00Z"}
    assert [c["id"] for c in summary["criteria"]][:3] == [
        "cpu_utilization",
        "memory_utilization",
        "oom_kills",
    ]
    assert (run_dir / "junit.xml").is_file()
    assert "PASS" in capsys.readouterr().out


def test_failed_criterion_gives_exit_1_and_names_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = write_run_directory(tmp_path / "run", metrics=healthy_metrics(cpu_ratio=0.41))
    assert main(["evaluate", str(run_dir)]) == 1
    cpu = next(c for c in _summary(run_dir)["criteria"] if c["id"] == "cpu_utilization")
    assert cpu["verdict"] == "fail"
    assert cpu["results"][0]["value"] == pytest.approx(0.41)
    assert cpu["results"][0]["advice"]
    assert "cpu_utilization" in capsys.readouterr().out
    assert 'classname="cpu_utilization" name="agent=rex"' in (run_dir / "junit.xml").read_text()


def test_missing_load_is_inconclusive_exit_3(tmp_path: Path) -> None:
    run_dir = write_run_directory(tmp_path / "run")
    (run_dir / "load" / "locust_stats_history.csv").unlink()
    assert main(["evaluate", str(run_dir)]) == 3
    summary = _summary(run_dir)
    assert summary["verdict"] == "inconclusive"
    graceful = next(c for c in summary["criteria"] if c["id"] == "graceful_degradation")
    assert graceful["results"][0]["value"] is None
    assert "load/locust_stats_history.csv not found" in graceful["results"][0]["detail"]


def test_info_criterion_failing_does_not_fail_the_run(tmp_path: Path) -> None:
    run_dir = write_run_directory(tmp_path / "run")
    assert main(["evaluate", str(run_dir)]) == 0
    forecast = next(c for c in _summary(run_dir)["criteria"] if c["id"] == "capacity_forecast")
    assert forecast["info"] is True and forecast["verdict"] == "fail"


def test_criteria_file_override_turns_pass_into_fail(tmp_path: Path) -> None:
    run_dir = write_run_directory(tmp_path / "run")
    overrides = tmp_path / "criteria.yaml"
    overrides.write_text("criteria:\n  cpu_utilization:\n    min: 0.75\n", encoding="utf-8")
    assert main(["evaluate", str(run_dir), "--criteria", str(overrides)]) == 1


def test_bad_criteria_file_is_exit_2_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = write_run_directory(tmp_path / "run")
    bad = tmp_path / "criteria.yaml"
    bad.write_text("criteria:\n  recovery_time:\n    maxx: 3\n  no_such_criterion: {}\n", encoding="utf-8")
    assert main(["evaluate", str(run_dir), "--criteria", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: criteria.recovery_time.maxx: unknown key; known keys: max" in err
    assert f"{bad}: criteria.no_such_criterion: unknown criterion id" in err
    assert not (run_dir / "summary.json").exists()


def test_bad_promql_override_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = write_run_directory(tmp_path / "run")
    bad = tmp_path / "criteria.yaml"
    bad.write_text(
        "criteria:\n  cpu_utilization:\n    queries:\n      cpu_usage_by_agent: 'sum(rate(x[5m])'\n"
    )
    assert main(["evaluate", str(run_dir), "--criteria", str(bad)]) == 2
    assert (
        "criteria.cpu_utilization.queries.cpu_usage_by_agent: bad PromQL: unclosed '('"
        in capsys.readouterr().err
    )


def test_window_end_before_start_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = manifest(window={"start": "2025-11-20T02:10:00Z", "end": "2025-11-20T02:00:00Z"})
    run_dir = write_run_directory(tmp_path / "run", manifest_doc=doc)
    assert main(["evaluate", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "manifest.json: window.end (2025-11-20T02:00:00Z) precedes window.start" in err


def test_unknown_criterion_in_manifest_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = write_run_directory(
        tmp_path / "run", manifest_doc=manifest(criteria={"recovery_tme": {"max": 1}})
    )
    assert main(["evaluate", str(run_dir)]) == 2
    assert "manifest.json: criteria.recovery_tme: unknown criterion id" in capsys.readouterr().err


def test_not_a_run_directory_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["evaluate", str(tmp_path / "empty")]) == 2
    assert "manifest.json not found" in capsys.readouterr().err


def test_manifest_only_is_exit_3_evidence_unavailable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "manifest.json").write_text(json.dumps(manifest()), encoding="utf-8")
    assert main(["evaluate", str(run_dir)]) == 3
    err = capsys.readouterr().err
    assert "holds no evidence at all" in err and "evidence/metrics.json not found" in err
    summary = _summary(run_dir)  # still written, every criterion inconclusive
    assert {c["verdict"] for c in summary["criteria"]} == {"inconclusive"}


def test_re_evaluation_is_byte_identical(tmp_path: Path) -> None:
    run_dir = write_run_directory(tmp_path / "run", metrics=healthy_metrics(cpu_ratio=0.5))
    assert main(["evaluate", str(run_dir)]) == 1
    first = (run_dir / "summary.json").read_bytes(), (run_dir / "junit.xml").read_bytes()
    assert main(["evaluate", str(run_dir)]) == 1
    assert ((run_dir / "summary.json").read_bytes(), (run_dir / "junit.xml").read_bytes()) == first


def test_report_re_renders_from_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = write_run_directory(tmp_path / "run", metrics=healthy_metrics(cpu_ratio=0.5))
    assert main(["report", str(run_dir)]) == 0  # no summary yet: evaluates first
    assert "evaluating the run first" in capsys.readouterr().out
    junit = (run_dir / "junit.xml").read_bytes()
    (run_dir / "junit.xml").unlink()
    assert main(["report", str(run_dir)]) == 0
    assert (run_dir / "junit.xml").read_bytes() == junit


def test_report_with_damaged_summary_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = write_run_directory(tmp_path / "run")
    (run_dir / "summary.json").write_text('{"schema": "something/else"}', encoding="utf-8")
    assert main(["report", str(run_dir)]) == 2
    assert "cannot be read back" in capsys.readouterr().err
