"""Verdicts, per-scope results, per-criterion outcomes and the run's summary."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from validator.model.window import TimeWindow


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    # a scope the run never put to the test (a budget no disruption touched, an HPA whose metric
    # never rose): reported, never counted as a pass. Results only; a criterion whose every scope
    # is not exercised is inconclusive.
    NOT_EXERCISED = "not_exercised"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {Verdict.NOT_EXERCISED: -1, Verdict.PASS: 0, Verdict.INCONCLUSIVE: 1, Verdict.FAIL: 2}


def worst(verdicts: Iterable[Verdict]) -> Verdict | None:
    """fail > inconclusive > pass, over the exercised verdicts; INCONCLUSIVE when every one is
    NOT_EXERCISED (nothing was tested); None for no verdicts at all."""
    found = list(verdicts)
    if not found:
        return None
    exercised = [v for v in found if v is not Verdict.NOT_EXERCISED]
    if not exercised:
        return Verdict.INCONCLUSIVE
    return max(exercised, key=lambda v: v.severity)


@dataclass(frozen=True, slots=True, kw_only=True)
class Compressed:
    """A time measured in a compressed run: `value` seconds of the run's clock, which stand for
    `value * time_factor` seconds of real time (the figure a Result's value and threshold use)."""

    time_factor: float
    value: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CriterionOverride:
    """What a criteria file (or manifest.json `criteria`) changes for one criterion."""

    thresholds: Mapping[str, float] = field(default_factory=dict)
    queries: Mapping[str, str] = field(default_factory=dict)
    info: bool | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CriterionSpec:
    """The thresholds and queries one criterion is evaluated with (its DEFAULTS plus overrides)."""

    id: str
    thresholds: Mapping[str, float] = field(default_factory=dict)
    queries: Mapping[str, str] = field(default_factory=dict)
    info: bool = False
    measures: tuple[str, ...] = ()  # the measures to evaluate, of a criterion with several; () = all

    def measured(self, measure: str) -> bool:
        return not self.measures or measure in self.measures

    def threshold(self, name: str) -> float:
        try:
            return self.thresholds[name]
        except KeyError:
            raise KeyError(f"criterion {self.id}: no threshold {name!r}") from None

    def band(self, *names: str) -> dict[str, float]:
        """The thresholds named, for a Result's `threshold`."""
        return {n: self.thresholds[n] for n in names if n in self.thresholds}


@dataclass(frozen=True, slots=True, kw_only=True)
class Result:
    """One scope of one criterion. `value` is in base units, None exactly when inconclusive."""

    criterion: str
    scope: Mapping[str, str] = field(default_factory=dict)
    verdict: Verdict
    value: float | None = None
    unit: str = ""
    threshold: Mapping[str, float] = field(default_factory=dict)
    detail: str = ""
    advice: tuple[str, ...] = ()
    compressed: Compressed | None = None  # a time judged on a compressed run's clock

    def __post_init__(self) -> None:
        if self.verdict in (Verdict.INCONCLUSIVE, Verdict.NOT_EXERCISED) and self.value is not None:
            raise ValueError(f"{self.criterion}: an {self.verdict.value} result carries no value")
        if self.verdict is Verdict.INCONCLUSIVE and not self.detail:
            raise ValueError(f"{self.criterion}: an inconclusive result must say what was missing")
        if self.verdict is Verdict.NOT_EXERCISED and not self.detail:
            raise ValueError(f"{self.criterion}: a result not exercised must say why")

    @property
    def scope_text(self) -> str:
        """`agent=tess`, `hpa=agents/rex,rise=...`; `all` for a run-wide result."""
        if not self.scope:
            return "all"
        return ",".join(f"{k}={v}" for k, v in self.scope.items())


@dataclass(frozen=True, slots=True, kw_only=True)
class CriterionOutcome:
    id: str
    verdict: Verdict
    info: bool = False
    results: tuple[Result, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class NotEvaluated:
    """A criterion listed but not evaluated (e.g. `validator check` without a recorder), or one
    `measure` of a criterion that was (resource_isolation's rejections in `check`)."""

    id: str
    reason: str
    measure: str = ""


# the share of the earlier runs' mean a step on the latest run must exceed (validator.history.changes)
DEFAULT_REGRESSION_TOLERANCE = 0.15


class RegressionPolicy(StrEnum):
    """What a regression found in the history does to the run: `warn` reports it, `fail` also fails
    the run (exit 1)."""

    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True, kw_only=True)
class Regression:
    """A criterion-scope whose value moved the bad way across the run's history (validator.history:
    a change point, or a step on the latest run), whatever its verdict."""

    criterion: str
    scope: str  # the history's series key (`fault=node-drain`, `agent=cleo`)
    started_run: str  # the first run after the change
    before: float  # the mean before the change
    after: float  # the mean after it (a step: the latest value)
    unit: str
    method: str  # "change point" or "step"
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RegressionCheck:
    """The automatic check of a run against its history: how many earlier runs it was compared
    with, under which policy, and what regressed. None on a Summary: not checked."""

    policy: RegressionPolicy
    earlier_runs: int
    found: tuple[Regression, ...] = ()
    note: str = ""  # why the check could not say much (no history yet, ...)


@dataclass(frozen=True, slots=True, kw_only=True)
class Summary:
    run_id: str
    window: TimeWindow
    verdict: Verdict
    criteria: tuple[CriterionOutcome, ...] = ()
    not_evaluated: tuple[NotEvaluated, ...] = ()
    # why the run stopped itself (its suite's abort_on): the verdict is then fail whatever the criteria
    aborted: str = ""
    regressions: RegressionCheck | None = None

    def outcome(self, criterion_id: str) -> CriterionOutcome:
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise KeyError(criterion_id)
