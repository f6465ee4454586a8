"""Schema version 2 of the history store: each run's platform measures (requests per agent type,
quota used and hard) written with it in one transaction, a version-1 file migrated in place (its runs
still read, in one transaction: a migration that fails leaves version 1 as it was), and the pinned
baseline per suite (`history pin` / `unpin`, `compare --baseline pinned`)."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from tests.support.evidence import AGENT, T0, evidence, manifest, metrics, ok, series, steady
from validator.cli import main
from validator.criteria.platform_measures import platform_measures
from validator.errors import ConfigError
from validator.history import HistoryStore, record_run
from validator.model import CriterionOutcome, Measure, Result, RunManifest, Summary, TimeWindow, Verdict
from validator.report.summary import write_summary_json
from validator.run_directory.manifest import write_manifest

# What version 1 wrote (validator before schema version 2), verbatim.
VERSION_1 = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    suite TEXT NOT NULL,
    context TEXT NOT NULL,
    kind TEXT NOT NULL,
    window_start REAL NOT NULL,
    window_end REAL NOT NULL,
    verdict TEXT NOT NULL,
    aborted TEXT NOT NULL,
    platform_revision TEXT NOT NULL,
    run_dir TEXT NOT NULL,
    recorded_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    criterion TEXT NOT NULL,
    scope TEXT NOT NULL,
    verdict TEXT NOT NULL,
    value REAL,
    unit TEXT NOT NULL,
    threshold TEXT NOT NULL,
    info INTEGER NOT NULL,
    PRIMARY KEY (run_id, criterion, scope)
);
CREATE INDEX IF NOT EXISTS results_by_scope ON results (criterion, scope);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO runs VALUES ('night-00', 'nightly', 'kwok-x', 'run', 0, 600, 'pass', '', '', '/r/night-00', 1);
INSERT INTO results VALUES ('night-00', 'recovery_time', 'fault=node-drain', 'pass', 40.0, 's',
    '{"max": 300.0}', 0);
"""
DAY = 86_400.0


def night(n: int, recovery: float) -> tuple[Summary, RunManifest]:
    """Run `night-NN` of suite nightly, a day after the one before, one recovery_time result."""
    window = TimeWindow(start=T0 + n * DAY, end=T0 + n * DAY + 600)
    result = Result(
        criterion="recovery_time",
        scope={"fault": "node-drain"},
        verdict=Verdict.PASS,
        value=recovery,
        unit="s",
        threshold={"max": 300.0},
    )
    outcome = CriterionOutcome(id="recovery_time", verdict=Verdict.PASS, results=(result,))
    summary = Summary(run_id=f"night-{n:02d}", window=window, verdict=Verdict.PASS, criteria=(outcome,))
    return summary, RunManifest(run_id=summary.run_id, window=window, suite="nightly", context="kwok-x")


CPU = Measure(name="requests", scope={"agent": "rex", "resource": "cpu"}, value=2.5, unit="cores")
QUOTA = Measure(name="quota_used", scope={"quota": "agents/agents", "resource": "pods"}, value=12.0)


def version_1_file(path: Path) -> Path:
    with sqlite3.connect(path) as db:
        db.executescript(VERSION_1)
    return path


def schema_version(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return str(db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0])


def test_a_version_1_history_is_migrated_in_place_and_keeps_its_runs(tmp_path: Path) -> None:
    path = version_1_file(tmp_path / "history.sqlite")
    store = HistoryStore(path)
    assert schema_version(path) == "2"
    assert [r.run_id for r in store.runs("nightly")] == ["night-00"]
    assert [p.value if p else None for p in store.series("nightly", "recovery_time", "fault=node-drain")] == [
        40.0
    ]
    assert store.measures_of(["night-00"]) == {"night-00": ()}  # recorded before there were measures
    summary, manifest_ = night(1, 41.0)
    store.record(summary, manifest_, tmp_path / "n1", kind="run", measures=(CPU, QUOTA))
    assert HistoryStore(path).measures_of(["night-01"]) == {"night-01": (QUOTA, CPU)}  # by name, scope


def test_a_migration_that_fails_leaves_version_1_as_it_was(tmp_path: Path) -> None:
    path = version_1_file(tmp_path / "history.sqlite")
    with sqlite3.connect(path) as db:  # a name version 2 needs, taken: its second table cannot be made
        db.execute("CREATE INDEX pins ON runs (suite)")
    with pytest.raises(sqlite3.OperationalError, match="pins"):
        HistoryStore(path)
    assert schema_version(path) == "1"
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "measures" not in tables  # the first new table was rolled back with the rest


def _open(path: str) -> None:
    HistoryStore(Path(path)).runs()


def test_two_processes_opening_a_version_1_file_at_once_both_see_version_2(tmp_path: Path) -> None:
    path = version_1_file(tmp_path / "history.sqlite")
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_open, args=(str(path),)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    assert schema_version(path) == "2"
    assert len(HistoryStore(path).runs()) == 1


def test_a_newer_schema_is_refused_without_touching_it(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite"
    HistoryStore(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    with pytest.raises(ConfigError, match="schema version 3; this validator reads 2"):
        HistoryStore(path)
    assert schema_version(path) == "3"


def test_measures_are_replaced_with_their_run(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.sqlite")
    summary, manifest_ = night(1, 41.0)
    store.record(summary, manifest_, tmp_path / "n1", kind="run", measures=(CPU, QUOTA))
    store.record(summary, manifest_, tmp_path / "n1", kind="evaluate", measures=(CPU,))
    assert store.measures_of(["night-01"]) == {"night-01": (CPU,)}


def _key(measure: Measure) -> tuple[str, str]:
    return measure.name, measure.scope_text


def test_record_run_extracts_the_measures_from_the_evidence(tmp_path: Path) -> None:
    rex, quota = {AGENT: "rex"}, {"namespace": "agents", "resourcequota": "agents", "resource": "pods"}
    found = evidence(
        metrics=metrics(
            ok("cpu_requests_by_agent", series(rex, steady(lambda t: 2.0 if t < 300 else 3.0))),
            ok("quota_used", series(quota, steady(lambda t: t / 60))),
            ok("quota_hard", series(quota, steady(40))),
        ),
        manifest_=manifest(suite="nightly"),
    )
    summary, manifest_ = night(0, 40.0)
    path = record_run(tmp_path / "h.sqlite", summary, manifest_, tmp_path / "r", kind="run", evidence=found)
    recorded = HistoryStore(path).measures_of(["night-00"])["night-00"]
    assert sorted(recorded, key=_key) == sorted(platform_measures(found), key=_key)
    by_name = {(m.name, m.scope_text): m.value for m in recorded}
    # requests: mean over the window (20 samples at 2, 21 at 3); quota: at the window's end
    assert by_name == {
        ("requests", "agent=rex,resource=cpu"): pytest.approx((20 * 2 + 21 * 3) / 41),
        ("quota_used", "quota=agents/agents,resource=pods"): 10.0,
        ("quota_hard", "quota=agents/agents,resource=pods"): 40.0,
    }


def _write_nights(tmp_path: Path, values: list[float]) -> tuple[str, list[str]]:
    dirs = []
    for n, value in enumerate(values):
        summary, manifest_ = night(n, value)
        run_dir = tmp_path / "reports" / summary.run_id
        write_manifest(run_dir, manifest_)
        write_summary_json(run_dir, summary)
        dirs.append(str(run_dir))
    history = str(tmp_path / "history.sqlite")
    assert main(["history", "import", "--history", history, *dirs]) == 0
    return history, dirs


def test_pin_unpin_and_compare_against_the_pinned_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    history, dirs = _write_nights(tmp_path, [40, 42, 38, 41, 39, 40, 41])
    capsys.readouterr()
    assert main(["compare", "night-06", "--history", history, "--baseline", "pinned"]) == 2
    err = capsys.readouterr().err
    assert "suite 'nightly' has no pinned baseline" in err and "validator history pin RUN" in err
    assert main(["history", "pin", dirs[2], "--history", history]) == 0  # by its run directory
    assert "pinned night-02 as the baseline of suite nightly" in capsys.readouterr().out
    assert main(["compare", "night-06", "--history", history, "--baseline", "pinned"]) == 0
    out = capsys.readouterr().out
    assert "night-06 against night-02" in out and "38 (pass)" in out
    assert main(["history", "pin", "night-03", "--history", history]) == 0
    assert "(replacing night-02)" in capsys.readouterr().out
    assert HistoryStore(Path(history)).pinned("nightly") == "night-03"
    assert main(["history", "unpin", "night-02", "--history", history]) == 2  # not the pinned one
    assert "suite nightly's pinned run is night-03" in capsys.readouterr().err
    assert main(["history", "unpin", "night-03", "--history", history]) == 0
    assert HistoryStore(Path(history)).pinned("nightly") is None


def test_a_pin_outlives_its_run_being_recorded_again(tmp_path: Path) -> None:
    history, dirs = _write_nights(tmp_path, [40, 42, 38])
    assert main(["history", "pin", "night-01", "--history", history]) == 0
    assert main(["history", "import", "--history", history, dirs[1]]) == 0  # recorded again
    assert HistoryStore(Path(history)).pinned("nightly") == "night-01"


def test_pinning_an_unknown_run_says_how_to_record_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history, _ = _write_nights(tmp_path, [40])
    assert main(["history", "pin", "night-99", "--history", history]) == 2
    assert "validator history import RUN_DIR" in capsys.readouterr().err
