"""Locust's stats history (load/locust_stats_history.csv, `--csv-full-history`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadSample:
    """One row of the stats history. Times are epoch seconds, latencies seconds (Locust writes ms)."""

    timestamp: float
    name: str  # request name, or "Aggregated" for the total row
    request_type: str = ""
    user_count: int = 0
    requests_per_s: float = 0.0
    failures_per_s: float = 0.0
    p50: float | None = None  # current (rolling) percentiles; None when Locust wrote N/A
    p95: float | None = None
    p99: float | None = None
    total_requests: int = 0  # cumulative
    total_failures: int = 0  # cumulative


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadFailure:
    """One row of Locust's failures table (load/locust_failures.csv): an error message of one
    request, how often, and when first and last seen (whole epoch seconds)."""

    method: str
    name: str
    error: str
    occurrences: int
    first_seen: float | None = None
    last_seen: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadEvidence:
    samples: tuple[LoadSample, ...] = ()
    failures: tuple[LoadFailure, ...] = ()
    partial: str = ""

    def failures_during(self, start: float, end: float) -> tuple[LoadFailure, ...]:
        """The failure kinds seen at some time in [start, end] (by their first and last sighting;
        whole seconds, so a second of slack each side), most frequent first."""
        found = [
            f
            for f in self.failures
            if f.first_seen is not None
            and f.last_seen is not None
            and f.first_seen <= end + 1.0
            and f.last_seen >= start - 1.0
        ]
        return tuple(sorted(found, key=lambda f: -f.occurrences))

    def aggregated(self) -> tuple[LoadSample, ...]:
        """The total rows ("Aggregated"), in time order."""
        rows = [s for s in self.samples if s.name == "Aggregated"]
        return tuple(sorted(rows, key=lambda s: s.timestamp))
