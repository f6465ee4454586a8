"""Prometheus range-query results (evidence/metrics.json)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class QueryStatus(StrEnum):
    OK = "ok"
    ERROR = "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    labels: Mapping[str, str] = field(default_factory=dict)
    points: tuple[tuple[float, float], ...] = ()  # (epoch seconds, value), time-ordered

    def label(self, name: str) -> str:
        return self.labels.get(name, "")


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryResult:
    key: str
    promql: str = ""
    status: QueryStatus = QueryStatus.OK
    series: tuple[Series, ...] = ()
    error: str = ""
    partial: str = ""  # some of its points could not be read: what it holds may not be all there was

    @property
    def ok(self) -> bool:
        return self.status is QueryStatus.OK

    @property
    def no_data(self) -> bool:
        """An `ok` answer with no samples: "no data", never 0."""
        return self.ok and not any(s.points for s in self.series)

    def problem(self) -> str:
        """Why this result cannot be used, or "" when it has data."""
        if not self.ok:
            return f"query `{self.key}` failed: {self.error or 'no reason given'}"
        if self.no_data:
            return f"query `{self.key}` returned no data"
        return ""


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsEvidence:
    queries: Mapping[str, QueryResult] = field(default_factory=dict)
    step_seconds: float = 15.0
    prometheus_url: str = ""
    partial: str = ""

    def get(self, key: str) -> QueryResult:
        """The result for `key`; a key that was never queried reads as an error saying so."""
        found = self.queries.get(key)
        if found is None:
            return QueryResult(key=key, status=QueryStatus.ERROR, error="not in evidence/metrics.json")
        return found
