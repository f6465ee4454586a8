"""The history store: a run's verdicts written in one transaction and read back as series with
missing nights kept as gaps; two runs finishing at once both land; another schema version is
refused; `history import` backfills run directories and `compare` flags a regression."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from tests.support.evidence import T0
from validator.cli import main
from validator.errors import ConfigError
from validator.history import HistoryStore
from validator.model import CriterionOutcome, Result, RunManifest, Summary, TimeWindow, Verdict
from validator.report.summary import write_summary_json
from validator.run_directory.manifest import write_manifest

DAY = 86_400.0


def night(n: int, recovery: float | None, *, suite: str = "nightly") -> tuple[Summary, RunManifest]:
    window = TimeWindow(start=T0 + n * DAY, end=T0 + n * DAY + 600)
    results = (
        ()
        if recovery is None
        else (
            Result(
                criterion="recovery_time",
                scope={"fault": "node-drain"},
                verdict=Verdict.PASS,
                value=recovery,
                unit="s",
                threshold={"max": 300.0},
                detail="recovered",
            ),
        )
    )
    outcome = CriterionOutcome(id="recovery_time", verdict=Verdict.PASS, results=results)
    summary = Summary(run_id=f"night-{n:02d}", window=window, verdict=Verdict.PASS, criteria=(outcome,))
    return summary, RunManifest(run_id=summary.run_id, window=window, suite=suite, context="kwok-x")


def test_a_run_reads_back_as_one_point_per_night_with_gaps(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.sqlite")
    for n, value in enumerate([40.0, 41.0, None, 39.0]):
        summary, manifest = night(n, value)
        store.record(summary, manifest, tmp_path / summary.run_id, kind="run")
    store.record(*night(9, 500.0, suite="other"), tmp_path / "o", kind="run")
    assert [r.run_id for r in store.runs("nightly")] == ["night-00", "night-01", "night-02", "night-03"]
    assert store.scopes("nightly") == [("recovery_time", "fault=node-drain")]
    points = store.series("nightly", "recovery_time", "fault=node-drain")
    assert [p.value if p else None for p in points] == [40.0, 41.0, None, 39.0]
    assert points[0] is not None and points[0].threshold == {"max": 300.0} and points[0].unit == "s"
    summary, manifest = night(1, 45.0)  # a run recorded again replaces its first record
    store.record(summary, manifest, tmp_path / "again", kind="evaluate")
    assert [p.value if p else None for p in store.series("nightly", "recovery_time", "fault=node-drain")] == [
        40.0,
        45.0,
        None,
        39.0,
    ]


def _record_many(path: str, first: int) -> None:
    store = HistoryStore(Path(path))
    for n in range(first, first + 20):
        summary, manifest = night(n, float(n))
        store.record(summary, manifest, Path(path).parent / summary.run_id, kind="run")


def test_two_runs_finishing_at_once_both_land(tmp_path: Path) -> None:
    path = str(tmp_path / "history.sqlite")
    HistoryStore(Path(path))
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_record_many, args=(path, first)) for first in (0, 100)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    assert len(HistoryStore(Path(path)).runs("nightly")) == 40


def test_another_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    HistoryStore(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(ConfigError) as caught:
        HistoryStore(path)
    assert "schema version 99" in caught.value.what


def test_import_and_compare_flag_a_regression_inside_the_budget(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # tables on one line each
    dirs = []
    for n, value in enumerate([40, 42, 38, 41, 39, 40, 140, 138, 142]):
        summary, manifest = night(n, float(value))
        run_dir = tmp_path / "reports" / summary.run_id
        write_manifest(run_dir, manifest)
        write_summary_json(run_dir, summary)
        dirs.append(str(run_dir))
    history = str(tmp_path / "history.sqlite")
    assert main(["history", "import", "--history", history, *dirs]) == 0
    assert "(9 runs)" in capsys.readouterr().out
    assert main(["compare", "night-05", "--history", history]) == 0  # before the change: steady
    assert main(["compare", "night-08", "--history", history, "--baseline", "last-pass"]) == 1
    out = capsys.readouterr().out
    assert "regressed: recovery_time fault=node-drain: " in out and "since night-06" in out
    assert "1 criterion-scope(s) regressed" in out
    assert main(["history", "show", "--history", history]) == 0
    shown = capsys.readouterr().out
    assert "from night-06" in shown
