"""load/locust_stats_history.csv and load/locust_failures.csv: Locust's own files (`--csv-full-history`),
read back as the load's evidence. `history_sample` reads one row, for the loader and for the live
progress of a running load alike."""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping
from pathlib import Path

from validator.model import (
    LoadEvidence,
    LoadFailure,
    LoadSample,
    parse_rfc3339,
)
from validator.run_directory.layout import LOCUST_FAILURES, LOCUST_HISTORY


def history_sample(row: Mapping[str, str | None]) -> LoadSample:
    """One row of the stats history (column name to text). Raises ValueError (or TypeError) when a
    required column is missing or unreadable."""
    return LoadSample(
        timestamp=float(_required(row, "Timestamp")),
        name=row.get("Name") or "",
        request_type=row.get("Type") or "",
        user_count=int(float(row.get("User Count") or 0)),
        requests_per_s=_num(row.get("Requests/s")) or 0.0,
        failures_per_s=_num(row.get("Failures/s")) or 0.0,
        p50=_ms(row.get("50%")),
        p95=_ms(row.get("95%")),
        p99=_ms(row.get("99%")),
        total_requests=int(float(_required(row, "Total Request Count"))),
        total_failures=int(float(_required(row, "Total Failure Count"))),
    )


def _required(row: Mapping[str, str | None], column: str) -> str:
    value = row.get(column)
    if value is None:
        raise ValueError(f"column {column!r} is missing")
    return value


def load_load(path: Path) -> LoadEvidence:
    """Locust 2.47 `--csv-full-history` rows (epoch-second Timestamp, response times in ms)."""
    samples: list[LoadSample] = []
    problems: list[str] = []
    with path.open("rb") as raw:
        size = raw.seek(0, 2)
        truncated = size > 0 and raw.seek(size - 1) >= 0 and raw.read(1) != b"\n"
    with path.open("r", encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        required = {"Timestamp", "Name", "Total Request Count", "Total Failure Count"}
        if reader.fieldnames is None or not required <= set(reader.fieldnames):
            raise ValueError(f"not a Locust stats history: needs columns {', '.join(sorted(required))}")
        # one row at a time (a day at a row a second per request name is a million rows): only the
        # samples are kept, each row's dict dropped once read; the last row is known one row late
        previous: tuple[int, dict[str, str | None]] | None = None
        for number, row in enumerate(reader, start=2):
            if previous is not None:
                _read_row(*previous, last=False, truncated=truncated, samples=samples, problems=problems)
            previous = (number, row)
        if previous is not None:
            _read_row(*previous, last=True, truncated=truncated, samples=samples, problems=problems)
    failures = _load_failures(path.parent / Path(LOCUST_FAILURES).name)
    return LoadEvidence(samples=tuple(samples), failures=failures, partial="; ".join(problems[:3]))


def _read_row(
    number: int,
    row: Mapping[str, str | None],
    *,
    last: bool,
    truncated: bool,
    samples: list[LoadSample],
    problems: list[str],
) -> None:
    try:
        samples.append(history_sample(row))
    except (TypeError, ValueError):
        if last and truncated:
            problems.append(f"{LOCUST_HISTORY}: last row is truncated")
        else:
            problems.append(f"{LOCUST_HISTORY}:{number}: unreadable row skipped")


def _load_failures(path: Path) -> tuple[LoadFailure, ...]:
    """Locust's failures table beside the history (Method, Name, Error, Occurrences, First Seen,
    Last Seen); absent: none known. It only names causes in advice (no verdict reads it), so an
    unreadable row is skipped without making the load evidence partial."""
    if not path.is_file():
        return ()
    found: list[LoadFailure] = []
    reader = csv.DictReader(path.read_text(encoding="utf-8").splitlines())
    for row in reader:
        try:
            found.append(
                LoadFailure(
                    method=row.get("Method") or "",
                    name=row.get("Name") or "",
                    error=row.get("Error") or "",
                    occurrences=int(float(row.get("Occurrences") or 0)),
                    first_seen=_utc(row.get("First Seen")),
                    last_seen=_utc(row.get("Last Seen")),
                )
            )
        except (TypeError, ValueError):
            continue
    return tuple(found)


def _utc(text: str | None) -> float | None:
    """Locust's `2026-12-05T22:18:43Z` as epoch seconds; empty: None."""
    return parse_rfc3339(text) if text and text.strip() else None


def _num(text: str | None) -> float | None:
    if text is None or text.strip() in ("", "N/A"):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _ms(text: str | None) -> float | None:
    value = _num(text)
    return None if value is None else value / 1000.0
