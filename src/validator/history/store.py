"""The history store: every run's, check's and evaluation's verdicts, one SQLite file (embedded, no
server), so that night after night can be compared. Schema versioned (`meta.schema_version`); a run
is written in one transaction, and two runs finishing at once wait for each other (WAL journal,
busy timeout), never half-writing a night.

    runs     one row per run: suite, context, kind (run, check, evaluate), window, verdict, aborted,
             the bundled platform's revision, where its run directory is
    results  one row per criterion and scope: verdict, value, unit, threshold (JSON), info
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from validator.errors import ConfigError
from validator.model import RunManifest, Summary

SCHEMA_VERSION = 1
DEFAULT_NAME = "history.sqlite"
_SCHEMA = """
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
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRow:
    run_id: str
    suite: str
    context: str
    kind: str
    window_end: float
    verdict: str
    aborted: str
    run_dir: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Point:
    """One night of one criterion and scope."""

    run_id: str
    window_end: float
    verdict: str
    value: float | None
    unit: str
    threshold: dict[str, float]


class HistoryStore:
    """One history file. Open with `HistoryStore(path)`; every method opens its own connection."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connection() as db:
            db.executescript(_SCHEMA)
            row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif int(row[0]) != SCHEMA_VERSION:
                raise ConfigError(
                    f"history {path} has schema version {row[0]}; this validator reads {SCHEMA_VERSION}",
                    where=str(path),
                    fix="use the validator version that wrote it, or start a new history file",
                )

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=60.0, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA foreign_keys = ON")
            yield db

    def record(
        self,
        summary: Summary,
        manifest: RunManifest,
        run_dir: Path,
        *,
        kind: str,
        platform_revision: str = "",
    ) -> None:
        """Write one run and every result of it, replacing an earlier record of the same run id."""
        rows = [
            (
                summary.run_id,
                outcome.id,
                result.scope_text,
                result.verdict.value,
                result.value,
                result.unit,
                json.dumps(dict(result.threshold), sort_keys=True),
                int(outcome.info),
            )
            for outcome in summary.criteria
            for result in outcome.results
        ]
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("DELETE FROM runs WHERE run_id = ?", (summary.run_id,))
                db.execute(
                    "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        summary.run_id,
                        manifest.suite,
                        manifest.context,
                        kind,
                        summary.window.start,
                        summary.window.end,
                        summary.verdict.value,
                        summary.aborted,
                        platform_revision,
                        str(run_dir.resolve()),
                        time.time(),
                    ),
                )
                db.executemany("INSERT INTO results VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def runs(self, suite: str | None = None) -> list[RunRow]:
        """The recorded runs in window order (of one suite, when given)."""
        query = "SELECT run_id, suite, context, kind, window_end, verdict, aborted, run_dir FROM runs"
        args: Sequence[str] = ()
        if suite is not None:
            query, args = query + " WHERE suite = ?", (suite,)
        with self._connection() as db:
            found = db.execute(query + " ORDER BY window_end, run_id", args).fetchall()
        return [
            RunRow(
                run_id=r[0],
                suite=r[1],
                context=r[2],
                kind=r[3],
                window_end=r[4],
                verdict=r[5],
                aborted=r[6],
                run_dir=r[7],
            )
            for r in found
        ]

    def scopes(self, suite: str) -> list[tuple[str, str]]:
        """Every (criterion, scope) a run of this suite judged."""
        with self._connection() as db:
            found = db.execute(
                "SELECT DISTINCT criterion, scope FROM results JOIN runs USING (run_id) WHERE suite = ? "
                "ORDER BY criterion, scope",
                (suite,),
            ).fetchall()
        return [(str(c), str(s)) for c, s in found]

    def series(self, suite: str, criterion: str, scope: str) -> list[Point | None]:
        """One point per run of the suite, in window order; None for a run that did not judge this
        scope (a missing night stays visible as a gap)."""
        with self._connection() as db:
            found = db.execute(
                "SELECT runs.run_id, window_end, results.verdict, value, unit, threshold FROM runs "
                "LEFT JOIN results ON results.run_id = runs.run_id AND criterion = ? AND scope = ? "
                "WHERE suite = ? ORDER BY window_end, runs.run_id",
                (criterion, scope, suite),
            ).fetchall()
        return [
            None
            if verdict is None
            else Point(
                run_id=run_id,
                window_end=end,
                verdict=verdict,
                value=value,
                unit=unit,
                threshold=json.loads(threshold),
            )
            for run_id, end, verdict, value, unit, threshold in found
        ]

    def all_series(self, suite: str) -> dict[tuple[str, str], list[Point | None]]:
        """`series` of every (criterion, scope) of the suite in one read (the trends page's bulk
        read): keyed in criterion, scope order, one entry per run in window order, None for a gap."""
        with self._connection() as db:
            runs = db.execute(
                "SELECT run_id, window_end FROM runs WHERE suite = ? ORDER BY window_end, run_id", (suite,)
            ).fetchall()
            found = db.execute(
                "SELECT results.run_id, criterion, scope, results.verdict, value, unit, threshold "
                "FROM results "
                "JOIN runs USING (run_id) WHERE suite = ? ORDER BY criterion, scope",
                (suite,),
            ).fetchall()
        position = {run_id: n for n, (run_id, _) in enumerate(runs)}
        thresholds: dict[str, dict[str, float]] = {}  # most nights repeat the same threshold text
        out: dict[tuple[str, str], list[Point | None]] = {}
        for run_id, criterion, scope, verdict, value, unit, threshold in found:
            points = out.get((criterion, scope))
            if points is None:
                points = out[(criterion, scope)] = [None] * len(runs)
            n = position[run_id]
            parsed = thresholds.get(threshold)
            if parsed is None:
                parsed = thresholds[threshold] = json.loads(threshold)
            points[n] = Point(
                run_id=run_id,
                window_end=runs[n][1],
                verdict=verdict,
                value=value,
                unit=unit,
                threshold=parsed,
            )
        return out


def default_history_path(run_dir: Path) -> Path:
    """Beside the reports: the run directory's parent holds history.sqlite."""
    return run_dir.resolve().parent / DEFAULT_NAME


def record_run(
    history: Path | None,
    summary: Summary,
    manifest: RunManifest,
    run_dir: Path,
    *,
    kind: str,
    platform_revision: str = "",
) -> Path:
    """Record a finished run into `history` (default: beside its run directory); returns the file."""
    path = history or default_history_path(run_dir)
    HistoryStore(path).record(summary, manifest, run_dir, kind=kind, platform_revision=platform_revision)
    return path
