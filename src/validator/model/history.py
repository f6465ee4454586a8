"""What earlier runs of the same suite measured of the platform: the history a criterion may judge a
run against (capacity_forecast's trend over the nights, cost_efficiency's baseline run).

Loaded at the IO edge from the history store (`validator.history.history_evidence`); the criteria
only read it. `Evidence.history` is None when no history store was found.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True, slots=True, kw_only=True)
class Measure:
    """One figure of the platform a run recorded: e.g. `requests` {agent: rex, resource: cpu} 2.5
    cores (mean over the window), `quota_used` {quota: agents/agents, resource: requests.cpu} 12
    (at the window's end)."""

    name: str
    scope: Mapping[str, str] = field(default_factory=dict)
    value: float
    unit: str = ""

    @property
    def scope_text(self) -> str:
        return ",".join(f"{k}={v}" for k, v in sorted(self.scope.items()))


@dataclass(frozen=True, slots=True, kw_only=True)
class Night:
    """One earlier run: its id, the end of its window (epoch seconds) and what it measured."""

    run_id: str
    window_end: float
    measures: tuple[Measure, ...] = ()

    def value(self, name: str, scope: Mapping[str, str]) -> float | None:
        """The measure `name` of exactly this scope, or None when the run did not record it."""
        return next((m.value for m in self.measures if m.name == name and m.scope == scope), None)


class BaselineSource(StrEnum):
    PINNED = "pinned"  # `validator history pin RUN`
    FIRST = "first"  # the suite's first recorded run


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryEvidence:
    """The runs of this run's suite and context that ended strictly before its window did, in window
    order, and the baseline run (the suite's pinned run, else its first recorded one; None before
    any run was recorded)."""

    source: str = ""  # the history file it was read from
    nights: tuple[Night, ...] = ()
    baseline: Night | None = None
    baseline_source: BaselineSource = BaselineSource.FIRST
