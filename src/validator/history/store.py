"""The history store: every run's, check's and evaluation's verdicts, one SQLite file (embedded, no
server), so that night after night can be compared. Schema versioned (`meta.schema_version`); a run
is written in one transaction, and two runs finishing at once wait for each other (WAL journal,
busy timeout), never half-writing a night.

    runs     one row per run: suite, context, kind (run, check, evaluate), window, verdict, aborted,
             the bundled platform's revision, where its run directory is
    results  one row per criterion and scope: verdict, value, unit, threshold (JSON), info

A result's scope is stored as its series key (`series_scopes`): the keys that say when in the run
a fault or a load rise began (`start`, `rise`) differ every night, so they are left out, and the
second of two faults of the same name is `fault=node-drain #2`: the same fault of the suite lines
up night after night.
    measures one row per measure of the platform the run saw (version 2): requests per agent type and
             resource, each ResourceQuota resource's used and hard (criteria/platform_measures.py);
             name, scope (JSON), value, unit
    pins     the baseline run pinned per suite (version 2): `validator history pin RUN`

A version-1 file is migrated in place when opened, in one transaction (its runs keep their results;
they have no measures).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from validator.criteria.platform_measures import platform_measures
from validator.errors import ConfigError
from validator.model import Evidence, Measure, Result, RunManifest, Summary

SCHEMA_VERSION = 2
DEFAULT_NAME = "history.sqlite"
TIME_KEYS = frozenset({"start", "rise"})  # when in the run a fault or a rise began
_META = "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
# version 1: the runs and their verdicts
_VERSION_1 = (
    """CREATE TABLE IF NOT EXISTS runs (
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
)""",
    """CREATE TABLE IF NOT EXISTS results (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    criterion TEXT NOT NULL,
    scope TEXT NOT NULL,
    verdict TEXT NOT NULL,
    value REAL,
    unit TEXT NOT NULL,
    threshold TEXT NOT NULL,
    info INTEGER NOT NULL,
    PRIMARY KEY (run_id, criterion, scope)
)""",
    "CREATE INDEX IF NOT EXISTS results_by_scope ON results (criterion, scope)",
)
# version 2: the platform's requests and quota use per run, and the pinned baseline per suite (a pin
# outlives a re-record of its run: no foreign key)
_VERSION_2 = (
    """CREATE TABLE IF NOT EXISTS measures (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    value REAL NOT NULL,
    unit TEXT NOT NULL,
    PRIMARY KEY (run_id, name, scope)
)""",
    """CREATE TABLE IF NOT EXISTS pins (
    suite TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    pinned_at REAL NOT NULL
)""",
)
_MIGRATIONS = {1: _VERSION_2}  # from version N to N + 1


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
            db.execute("BEGIN IMMEDIATE")  # one transaction: a new file's schema, or a migration
            try:
                self._create_or_migrate(db)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def _create_or_migrate(self, db: sqlite3.Connection) -> None:
        db.execute(_META)
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            for statement in (*_VERSION_1, *_VERSION_2):
                db.execute(statement)
            db.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            return
        version = int(row[0])
        if version > SCHEMA_VERSION or version not in (*_MIGRATIONS, SCHEMA_VERSION):
            raise ConfigError(
                f"history {self.path} has schema version {row[0]}; this validator reads {SCHEMA_VERSION}",
                where=str(self.path),
                fix="use the validator version that wrote it, or start a new history file",
            )
        if version == SCHEMA_VERSION:
            return
        while version < SCHEMA_VERSION:
            for statement in _MIGRATIONS[version]:
                db.execute(statement)
            version += 1
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=60.0, isolation_level=None)) as db:
            db.execute("PRAGMA journal_mode = WAL")
            # in WAL mode NORMAL syncs at checkpoints, not at every commit: a crash cannot corrupt the
            # file, at worst the last run recorded before a power cut is lost (a backfill of a year
            # made ~5 fsyncs a night, most of its time on a busy disk)
            db.execute("PRAGMA synchronous = NORMAL")
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
        measures: Sequence[Measure] = (),
    ) -> None:
        """Write one run, every result of it and the platform's measures it saw, replacing an earlier
        record of the same run id."""
        rows = [
            (
                summary.run_id,
                outcome.id,
                scope,
                result.verdict.value,
                result.value,
                result.unit,
                json.dumps(dict(result.threshold), sort_keys=True),
                int(outcome.info),
            )
            for outcome in summary.criteria
            for result, scope in zip(outcome.results, series_scopes(outcome.results), strict=True)
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
                db.executemany(
                    "INSERT OR REPLACE INTO measures VALUES (?, ?, ?, ?, ?)",
                    [
                        (summary.run_id, m.name, _scope_json(m.scope), m.value, m.unit)
                        for m in measures
                    ],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def measures_of(self, run_ids: Sequence[str]) -> dict[str, tuple[Measure, ...]]:
        """The recorded measures of each of `run_ids` (a run without any maps to ())."""
        out: dict[str, list[Measure]] = {run_id: [] for run_id in run_ids}
        scopes: dict[str, dict[str, str]] = {}  # night after night, the same few scopes: parsed once
        with self._connection() as db:
            for run_id in out:
                found = db.execute(
                    "SELECT name, scope, value, unit FROM measures WHERE run_id = ? ORDER BY name, scope",
                    (run_id,),
                ).fetchall()
                out[run_id] = [
                    Measure(
                        name=name,
                        scope=dict(scopes.get(scope) or scopes.setdefault(scope, json.loads(scope))),
                        value=value,
                        unit=unit,
                    )
                    for name, scope, value, unit in found
                ]
        return {run_id: tuple(found) for run_id, found in out.items()}

    def pin(self, run_id: str) -> RunRow:
        """Pin a recorded run (its id or run directory) as its suite's baseline, replacing the suite's
        earlier pin."""
        run = self.find_run(run_id)
        if run is None:
            raise ConfigError(
                f"run {run_id!r} is not in {self.path}",
                where=str(self.path),
                fix="record it first (validator history import RUN_DIR), or name a run `history show` lists",
            )
        with self._connection() as db:
            db.execute("INSERT OR REPLACE INTO pins VALUES (?, ?, ?)", (run.suite, run.run_id, time.time()))
        return run

    def unpin(self, suite: str) -> str | None:
        """Remove the suite's pinned baseline; returns the run that was pinned (None: there was none)."""
        with self._connection() as db:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT run_id FROM pins WHERE suite = ?", (suite,)).fetchone()
            db.execute("DELETE FROM pins WHERE suite = ?", (suite,))
            db.execute("COMMIT")
        return None if row is None else str(row[0])

    def pinned(self, suite: str) -> str | None:
        """The run id pinned as the suite's baseline, or None."""
        with self._connection() as db:
            row = db.execute("SELECT run_id FROM pins WHERE suite = ?", (suite,)).fetchone()
        return None if row is None else str(row[0])

    def find_run(self, target: str) -> RunRow | None:
        """One recorded run by its id or its run directory, or None."""
        run_dir = str(Path(target).resolve())
        return next((r for r in self.runs() if r.run_id == target or r.run_dir == run_dir), None)

    def runs(self, suite: str | None = None, *, context: str | None = None) -> list[RunRow]:
        """The recorded runs in window order (of one suite, and one context, when given)."""
        query = "SELECT run_id, suite, context, kind, window_end, verdict, aborted, run_dir FROM runs"
        conditions = [(c, v) for c, v in (("suite = ?", suite), ("context = ?", context)) if v is not None]
        args: Sequence[str] = [v for _, v in conditions]
        if conditions:
            query += " WHERE " + " AND ".join(c for c, _ in conditions)
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
        return list(self.all_series(suite))

    def series(
        self, suite: str, criterion: str, scope: str, *, context: str | None = None
    ) -> list[Point | None]:
        """One point per run of the suite (on one context, when given), in window order; None for a
        run that did not judge this scope (a missing night stays visible as a gap)."""
        every = self.all_series(suite, context=context)
        return every.get((criterion, scope)) or [None] * len(self.runs(suite, context=context))

    def all_series(
        self, suite: str, *, context: str | None = None
    ) -> dict[tuple[str, str], list[Point | None]]:
        """`series` of every (criterion, scope) of the suite (on one context, when given) in one read:
        keyed in criterion, scope order, one entry per run in window order (`runs`' order), None
        for a gap."""
        on_context = "" if context is None else " AND context = ?"
        args = (suite,) if context is None else (suite, context)
        with self._connection() as db:
            runs = db.execute(
                f"SELECT run_id, window_end FROM runs WHERE suite = ?{on_context} "
                "ORDER BY window_end, run_id",
                args,
            ).fetchall()
            found = db.execute(
                "SELECT results.run_id, criterion, scope, results.verdict, value, unit, threshold "
                "FROM results "
                f"JOIN runs USING (run_id) WHERE suite = ?{on_context} ORDER BY criterion, scope",
                args,
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


def series_scopes(results: Sequence[Result]) -> list[str]:
    """Each result's series key, in order (see the module doc): its scope without the time keys,
    numbered from the second time the same key occurs."""
    seen: dict[str, int] = {}
    keys = []
    for result in results:
        text = ",".join(f"{k}={v}" for k, v in result.scope.items() if k not in TIME_KEYS) or "all"
        seen[text] = seen.get(text, 0) + 1
        keys.append(text if seen[text] == 1 else f"{text} #{seen[text]}")
    return keys
def _scope_json(scope: Mapping[str, str]) -> str:
    return json.dumps(dict(scope), sort_keys=True)


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
    evidence: Evidence | None = None,
) -> Path:
    """Record a finished run into `history` (default: beside its run directory); returns the file.
    With the run's `evidence`, the platform's requests and quota use it saw are recorded with it."""
    path = history or default_history_path(run_dir)
    HistoryStore(path).record(
        summary,
        manifest,
        run_dir,
        kind=kind,
        platform_revision=platform_revision,
        measures=platform_measures(evidence) if evidence is not None else (),
    )
    return path
