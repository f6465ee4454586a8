"""Prometheus range-query results (evidence/metrics.json)."""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from operator import lt
from typing import overload


class QueryStatus(StrEnum):
    OK = "ok"
    ERROR = "error"


Point = tuple[float, float]


class SamplePoints(Sequence[Point]):
    """A series' (time, value) samples, stored as two arrays of doubles: 16 bytes a sample where a
    tuple of two floats costs 56 and more (a run of 10,000 pods holds 1.4 million samples). It reads
    as the sequence of (time, value) tuples it holds, made as they are read; it is never changed."""

    __slots__ = ("_in_shape", "_times", "_values")

    def __init__(self, times: array[float], values: array[float]) -> None:
        if len(times) != len(values):
            raise ValueError(f"{len(times)} times and {len(values)} values")
        self._times = times
        self._values = values
        self._in_shape: bool | None = None  # in_shape's answer, once asked (the samples never change)

    @classmethod
    def of(cls, points: Iterable[Point]) -> SamplePoints:
        times: array[float] = array("d")
        values: array[float] = array("d")
        for t, v in points:
            times.append(t)
            values.append(v)
        return cls(times, values)

    def times(self) -> array[float]:
        """The times, a copy (the samples never change)."""
        return self._times[:]

    def values(self) -> array[float]:
        """The values, a copy."""
        return self._values[:]

    def in_shape(self) -> bool:
        """Each time later than the one before and every value finite: the shape a series is read
        back in and the criteria's per-key maxima keep (asked of each series by both, so kept)."""
        if self._in_shape is None:
            values = self._values
            self._in_shape = all(map(lt, self._times, self._times[1:])) and (
                math.isfinite(sum(values)) or all(map(math.isfinite, values))  # a sum can overflow
            )
        return self._in_shape

    def __len__(self) -> int:
        return len(self._times)

    def __iter__(self) -> Iterator[Point]:
        return zip(self._times, self._values, strict=True)

    @overload
    def __getitem__(self, index: int) -> Point: ...

    @overload
    def __getitem__(self, index: slice) -> SamplePoints: ...

    def __getitem__(self, index: int | slice) -> Point | SamplePoints:
        if isinstance(index, slice):
            return SamplePoints(self._times[index], self._values[index])
        return (self._times[index], self._values[index])

    def __eq__(self, other: object) -> bool:
        """Equal to samples of the same times and values, whether held like this or as a tuple."""
        if isinstance(other, SamplePoints):
            return self._times == other._times and self._values == other._values
        if isinstance(other, tuple):
            return tuple(self) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SamplePoints({list(self)!r})"


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    labels: Mapping[str, str] = field(default_factory=dict)
    # (epoch seconds, value), time-ordered; read back from a run directory as SamplePoints
    points: Sequence[Point] = ()

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
