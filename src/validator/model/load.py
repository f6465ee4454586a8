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
class LoadEvidence:
    samples: tuple[LoadSample, ...] = ()
    partial: str = ""

    def aggregated(self) -> tuple[LoadSample, ...]:
        """The total rows ("Aggregated"), in time order."""
        rows = [s for s in self.samples if s.name == "Aggregated"]
        return tuple(sorted(rows, key=lambda s: s.timestamp))
