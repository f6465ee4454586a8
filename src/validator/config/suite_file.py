"""Suite files (`suites/*.yaml`): what one run combines. Pure: reads the file, nothing else.

A suite names a load profile and its caps, the experiments and when each starts (an offset from
the start of the load), the namespaces, the criteria overrides, the alerts each fault is expected
to raise, and two sets of timings: `sandbox` (compressed, so a nightly run there takes about ten
minutes) and `real` (the brief's windows). The context is *never* in a suite: it comes from
`--context` and must be in the allow-list.

    schema: validator.suite/v1
    name: nightly
    description: load, then drain, memory pressure and eviction under load, then recovery
    namespaces: [agents, workflow-system]
    record_namespaces: [agents, workflow-system, default]   # optional, default: namespaces
    agent_label: app.kubernetes.io/name                      # optional
    controller_selector: app.kubernetes.io/component=controller   # optional
    judge: [maintenance_disruption, pdb_respected]           # optional: only these criteria
    load:
      profile: burst                       # loadprofiles/<profile>.py
      target: http                         # http (the submission API) or kubernetes
      caps: {max_users: 40, max_spawn_rate: 10}
      allowed_hosts: []                    # beyond loopback
    experiments:
      - name: node-drain                   # the fault's name (expected_alerts, reports)
        path: experiments/node-drain.json  # relative to the repository root, the suite file or the cwd
        at: {sandbox: 90s, real: 10m}      # offset from the load's start
        hold: {sandbox: 20s, real: 2m}     # optional: the fault stays this long before its next step
        env: {VALIDATOR_DRAIN_NODE_SELECTOR: node-pool=implementation}
        expected_alerts: [AgentPodNotReady]
    timings:
      sandbox: {load_duration: 7m, time_factor: 6, settle: 20s, cooldown: 60s, step: 5s,
                quiet: 15m,                  # optional: wait for expected alerts left firing
                env: {VALIDATOR_RECOVERY_TIMEOUT_S: "60"}}
      real:    {load_duration: 40m, time_factor: 1, settle: 2m, cooldown: 10m, step: 15s}
    criteria:
      recovery_time: {max: 300}
    abort_on:                              # optional: when the run stops itself (docs/run.md)
      criteria: [controller_availability]  # live criteria whose interim verdict failed
      alerts: [AgentPodNotReady]           # firing alerts by name (or alert_severity: critical)
      load_error_ratio: 0.3                # the load's failed / sent

Durations are seconds (a number) or a string with a unit: `90s`, `10m`, `1h`, `1h30m`.
Every problem is reported at once, as `FILE: key.path: what; how to fix`.

The format is declared once, by the models below (`SuiteDocument` and its parts); the loader
validates with them and schemas/suite.schema.json is generated from them (`make schemas`), so an
editor pointed at the schema applies the same rules. What a schema cannot say is checked by the
models' validators with the file's context: experiment files exist and are experiments, fault names
are unique, each fault starts before its load ends. Once the file is valid, `budget_problems` checks
that each window can hold the time budgets it judges. The models convert into the frozen types
below (`Suite`, `LoadSpec`, `ExperimentSpec`, `Timings`), which is what the rest of the suite uses.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Final, Literal, Self, get_args

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from validator.config.criteria_file import CriteriaBlock
from validator.config.document import (
    ENV_PATTERN,
    NAME_PATTERN,
    EnvMap,
    JsonFile,
    Name,
    NonBlank,
    StrictModel,
    problem,
    problem_lines,
    read_yaml_file,
)
from validator.config.experiment_file import load_experiment_file
from validator.criteria.registry import CRITERIA, LIVE_CRITERIA
from validator.errors import ConfigError
from validator.model import DEFAULT_REGRESSION_TOLERANCE, CriterionOverride, RegressionPolicy

SCHEMA: Final = "validator.suite/v1"
Mode = Literal["sandbox", "real"]
MODES: tuple[Mode, ...] = ("sandbox", "real")
Profile = Literal["steady", "burst", "diurnal", "soak"]
Target = Literal["http", "kubernetes"]
PROFILES: tuple[str, ...] = get_args(Profile)
TARGETS: tuple[str, ...] = get_args(Target)
NAME_RE = re.compile(NAME_PATTERN)
ENV_RE = re.compile(ENV_PATTERN)
# A duration string: hours, minutes, seconds, each optional but not all (the lookahead), in order.
DURATION_RE = re.compile(r"^(?=\d)(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")
# The same for the schema, which sees the string before parse_duration strips it; a positive one
# has a digit other than 0 somewhere.
DURATION_PATTERN = r"^\s*" + DURATION_RE.pattern[1:-1] + r"\s*$"
POSITIVE_DURATION_PATTERN = r"^(?=.*[1-9])" + DURATION_PATTERN[1:]

# Hard maxima, the same as the load profiles' own (loadprofiles/load_caps.py).
MAX_USERS = 500
MAX_SPAWN_RATE = 50.0
MAX_TIME_FACTOR = 3600.0
MAX_LOAD_DURATION_S = 3 * 24 * 3600.0


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadSpec:
    profile: str
    target: str
    max_users: int
    max_spawn_rate: float
    allowed_hosts: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExperimentSpec:
    name: str
    path: Path  # resolved against the repository root (or the suite file's folder); may not exist
    at_s: Mapping[str, float]  # mode -> offset from the load's start
    env: Mapping[str, str] = field(default_factory=dict)
    expected_alerts: tuple[str, ...] = ()
    hold_s: Mapping[str, float] = field(default_factory=dict)  # mode -> how long the fault is held


@dataclass(frozen=True, slots=True, kw_only=True)
class Timings:
    load_duration_s: float
    time_factor: float
    settle_s: float  # recorder synced -> load starts (the baseline before any fault)
    cooldown_s: float  # after the last experiment and the load: recovery is watched this long
    step_s: float  # Prometheus query step
    env: Mapping[str, str] = field(default_factory=dict)
    # before the window opens: how long to wait for the suite's expected alerts left firing by an
    # earlier run to resolve (a firing already in progress hides this run's own); 0: do not wait
    quiet_s: float = 900.0


@dataclass(frozen=True, slots=True, kw_only=True)
class AbortRules:
    """When a run stops itself (`abort_on`): any rule met skips the remaining experiments."""

    criteria: tuple[str, ...] = ()  # live criteria whose interim verdict is fail
    alerts: tuple[str, ...] = ()  # alert names; any of them firing
    alert_severity: str = ""  # any firing alert of this severity label
    load_error_ratio: float | None = None  # the load's failed / sent since its start, at or above


@dataclass(frozen=True, slots=True, kw_only=True)
class RegressionRules:
    """What the check against the history does (`regressions`): docs/history.md."""

    policy: RegressionPolicy = RegressionPolicy.WARN
    tolerance: float = DEFAULT_REGRESSION_TOLERANCE


@dataclass(frozen=True, slots=True, kw_only=True)
class Suite:
    source: str
    name: str
    description: str
    namespaces: tuple[str, ...]
    record_namespaces: tuple[str, ...]
    agent_label: str
    controller_selector: str
    judge: tuple[str, ...]  # empty: every criterion
    load: LoadSpec
    experiments: tuple[ExperimentSpec, ...]
    timings: Mapping[str, Timings]
    criteria: Mapping[str, CriterionOverride]
    abort_on: AbortRules | None = None
    regressions: RegressionRules = field(default_factory=lambda: RegressionRules())

    def timing(self, mode: Mode) -> Timings:
        return self.timings[mode]

    def schedule(self, mode: Mode) -> list[tuple[float, ExperimentSpec]]:
        """(offset from load start, experiment), in start order."""
        return sorted(((e.at_s[mode], e) for e in self.experiments), key=lambda pair: pair[0])

    def expected_alerts(self) -> dict[str, list[str]]:
        return {e.name: list(e.expected_alerts) for e in self.experiments if e.expected_alerts}


def parse_duration(value: object) -> float | None:
    """Seconds of `90`, `90s`, `10m`, `1h30m`; None when it is not a duration."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    if not isinstance(value, str) or not value.strip():
        return None
    match = DURATION_RE.match(value.strip())
    if match is None or not any(match.groups()):
        return None
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


# --------------------------------------------------------------------------- the file's models


def _duration(value: object) -> float:
    seconds = parse_duration(value)
    if seconds is None:
        raise problem(f"expected a duration such as 90s, 10m or 1h30m, got {value!r}")
    return seconds


def _positive_duration(value: object) -> float:
    seconds = parse_duration(value)
    if seconds is None or seconds <= 0:
        raise problem(f"expected a duration above 0 such as 90s, 10m or 1h30m, got {value!r}")
    return seconds


def _duration_schema(*, positive: bool) -> WithJsonSchema:
    """A number of seconds, or a string with units, as parse_duration reads them."""
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum" if positive else "minimum": 0},
                {"type": "string", "pattern": POSITIVE_DURATION_PATTERN if positive else DURATION_PATTERN},
            ],
            "description": "seconds, or a number with a unit: 90s, 10m, 1h, 1h30m",
        }
    )


Duration = Annotated[float, PlainValidator(_duration), _duration_schema(positive=False)]
PositiveDuration = Annotated[float, PlainValidator(_positive_duration), _duration_schema(positive=True)]


def _known_criterion(cid: str) -> str:
    if cid not in CRITERIA:
        raise problem(f"unknown criterion {cid!r}; known: {', '.join(sorted(CRITERIA))}")
    return cid


CriterionId = Annotated[
    str, AfterValidator(_known_criterion), WithJsonSchema({"type": "string", "enum": list(CRITERIA)})
]


@dataclass
class _Reading:
    """What validating one suite file needs beyond its document (pydantic's validation context):
    where experiment paths are looked up, and what the fields validated so far said."""

    roots: tuple[Path, ...]
    names: set[str] = field(default_factory=set)  # the experiments' names so far
    load_durations: dict[str, float] = field(default_factory=dict)  # mode -> timings' load_duration

    @staticmethod
    def of(info: ValidationInfo) -> _Reading | None:
        return info.context if isinstance(info.context, _Reading) else None

    def resolve(self, text: str) -> Path:
        file = Path(text)
        if file.is_absolute():
            return file
        return next((root / file for root in self.roots if (root / file).is_file()), self.roots[0] / file)


class Caps(StrictModel):
    """Hard caps on the load; the load profiles refuse to run without them."""

    max_users: int = Field(gt=0, le=MAX_USERS, description="every cap is required: the most users at once")
    max_spawn_rate: float = Field(
        gt=0, le=MAX_SPAWN_RATE, description="every cap is required: users started per second, at most"
    )


class Load(StrictModel):
    """The load the faults run under."""

    profile: Profile = Field(description="give the load profile (loadprofiles/<profile>.py)")
    target: Target = Field(default="http", description="http (the submission API) or kubernetes")
    caps: Caps = Field(description="caps are required: {max_users: N, max_spawn_rate: R}")
    allowed_hosts: list[NonBlank] | None = Field(default=None, description="hosts beyond loopback")
    env: EnvMap | None = Field(default=None, description="environment of the load process")

    def spec(self) -> LoadSpec:
        return LoadSpec(
            profile=self.profile,
            target=self.target,
            max_users=self.caps.max_users,
            max_spawn_rate=self.caps.max_spawn_rate,
            allowed_hosts=tuple(self.allowed_hosts or ()),
            env=dict(self.env or {}),
        )


class Timing(StrictModel):
    """The clock of a run in one mode."""

    load_duration: PositiveDuration = Field(description="give how long the load runs, e.g. 40m")
    time_factor: float = Field(
        gt=0, le=MAX_TIME_FACTOR, description="give the run's clock: 1 on a real cluster, N when compressed"
    )
    settle: Duration = Field(default=0.0, description="recorder synced -> load starts (the baseline)")
    cooldown: Duration = Field(default=0.0, description="after the load: recovery is watched this long")
    step: PositiveDuration = Field(default=15.0, description="Prometheus query step")
    quiet: Duration = Field(
        default=900.0,
        description="give how long to wait, before the window opens, for the suite's expected alerts "
        "still firing from an earlier run to resolve (0: do not wait)",
    )
    env: EnvMap | None = Field(default=None, description="environment of the experiments in this mode")

    def spec(self) -> Timings:
        return Timings(
            load_duration_s=self.load_duration,
            time_factor=self.time_factor,
            settle_s=self.settle,
            cooldown_s=self.cooldown,
            step_s=self.step,
            env=dict(self.env or {}),
            quiet_s=self.quiet,
        )


class TimingModes(StrictModel):
    """The timings of a run: compressed in the sandbox, the brief's windows on a real cluster."""

    sandbox: Timing = Field(
        description="give the sandbox timings (load_duration, time_factor, settle, cooldown, step)"
    )
    real: Timing = Field(
        description="give the real timings (load_duration, time_factor, settle, cooldown, step)"
    )

    @field_validator("sandbox", "real")
    @classmethod
    def _remember_the_load(cls, timing: Timing, info: ValidationInfo) -> Timing:
        reading = _Reading.of(info)
        if reading is not None and info.field_name:
            reading.load_durations[info.field_name] = timing.load_duration
        return timing


class StartOffsets(StrictModel):
    """When the experiment starts, as an offset from the load's start, per mode."""

    NOUN = "{sandbox: 90s, real: 10m}"

    sandbox: Duration = Field(description="give the offset from the load's start")
    real: Duration = Field(description="give the offset from the load's start")

    @field_validator("sandbox", "real")
    @classmethod
    def _before_the_load_ends(cls, offset: float, info: ValidationInfo) -> float:
        reading = _Reading.of(info)
        mode = info.field_name or ""
        end = reading.load_durations.get(mode) if reading is not None else None
        if end is not None and offset >= end:
            raise problem(
                f"{offset:g}s is not before the end of the load (timings.{mode}.load_duration {end:g}s)"
            )
        return offset


class HoldTimes(StrictModel):
    """How long the fault stays before its next step, per mode (default: not held)."""

    NOUN = "{sandbox: 20s, real: 2m}"

    sandbox: Duration = 0.0
    real: Duration = 0.0

    def seconds(self) -> dict[str, float]:
        given = {"sandbox": self.sandbox, "real": self.real}
        return {mode: held for mode, held in given.items() if mode in self.model_fields_set}


class ExperimentEntry(StrictModel):
    """One fault: a Chaos Toolkit experiment started at an offset from the load's start."""

    name: Name = Field(description="give the fault's name (reports, expected_alerts); unique in the suite")
    path: JsonFile = Field(
        description="give the experiment file, relative to the repository root, the suite's folder "
        "or the working directory"
    )
    at: StartOffsets = Field(description="give the offsets: {sandbox: 90s, real: 10m}")
    hold: HoldTimes | None = None
    env: EnvMap | None = Field(default=None, description="environment of this experiment")
    expected_alerts: list[NonBlank] | None = Field(
        default=None, description="alerts this fault is expected to raise"
    )

    @field_validator("name")
    @classmethod
    def _unique(cls, name: str, info: ValidationInfo) -> str:
        reading = _Reading.of(info)
        if reading is not None:
            if name in reading.names:
                raise problem(f"{name!r} is used twice; fault names must be unique")
            reading.names.add(name)
        return name

    @field_validator("path")
    @classmethod
    def _an_experiment_file(cls, text: str, info: ValidationInfo) -> str:
        reading = _Reading.of(info)
        if reading is None:
            return text
        file = reading.resolve(text)
        if not file.is_file():
            raise problem(
                f"{file} not found (relative to the repository root, the suite's folder or the "
                "working directory)"
            )
        try:
            load_experiment_file(file)
        except ConfigError as exc:
            raise problem(exc.what.replace("\n", "\n    ")) from None
        return text

    def spec(self, reading: _Reading) -> ExperimentSpec:
        return ExperimentSpec(
            name=self.name,
            path=reading.resolve(self.path),
            at_s={"sandbox": self.at.sandbox, "real": self.at.real},
            hold_s=self.hold.seconds() if self.hold is not None else {},
            env=dict(self.env or {}),
            expected_alerts=tuple(self.expected_alerts or ()),
        )


def _live_criterion(cid: str) -> str:
    if cid not in LIVE_CRITERIA:
        live = ", ".join(LIVE_CRITERIA)
        raise problem(f"{cid!r} is not judged while the run goes on; abort_on takes: {live}")
    return cid


LiveCriterionId = Annotated[
    str, AfterValidator(_live_criterion), WithJsonSchema({"type": "string", "enum": list(LIVE_CRITERIA)})
]


class AbortOn(StrictModel):
    """When the run stops itself: the platform is already failing, so further faults test nothing."""

    criteria: list[LiveCriterionId] | None = Field(
        default=None, description="criteria whose interim verdict failed (judged after each experiment)"
    )
    alerts: list[NonBlank] | None = Field(default=None, description="alert names: any of them firing")
    alert_severity: NonBlank | None = Field(default=None, description="any firing alert of this severity")
    load_error_ratio: float | None = Field(
        default=None, gt=0, le=1, description="the load's failed / sent requests, at or above (0-1]"
    )

    @model_validator(mode="after")
    def _a_rule(self) -> Self:
        if not (self.criteria or self.alerts or self.alert_severity or self.load_error_ratio):
            raise problem("give at least one rule: criteria, alerts, alert_severity or load_error_ratio")
        return self

    def rules(self) -> AbortRules:
        return AbortRules(
            criteria=tuple(self.criteria or ()),
            alerts=tuple(self.alerts or ()),
            alert_severity=self.alert_severity or "",
            load_error_ratio=self.load_error_ratio,
        )


class Regressions(StrictModel):
    """The check of every run against the suite's history: a change the bad way is a regression."""

    policy: Literal["warn", "fail"] = Field(
        default="warn", description="warn: report regressions; fail: a regression also fails the run"
    )
    tolerance: float = Field(
        default=DEFAULT_REGRESSION_TOLERANCE,
        gt=0,
        le=10,
        description="share of the earlier runs' mean a step on the latest run must exceed (0.15: 15%)",
    )

    def rules(self) -> RegressionRules:
        return RegressionRules(policy=RegressionPolicy(self.policy), tolerance=self.tolerance)


class SuiteDocument(StrictModel):
    """A validator suite (suites/*.yaml): a load, the faults started under it, the timings of a run."""

    model_config = ConfigDict(title="validator suite")

    # `timings` comes before `experiments`: fields are validated in this order, and each experiment's
    # start is checked against its mode's load_duration.
    schema_: Literal["validator.suite/v1"] = Field(default=SCHEMA, alias="schema", description="the format")
    name: Name = Field(description="give the suite's name: lower-case letters, digits and dashes")
    description: str | None = None
    namespaces: list[NonBlank] = Field(
        min_length=1, description="name the platform's namespaces, e.g. [agents, workflow-system]"
    )
    record_namespaces: list[NonBlank] | None = Field(
        default=None, description="namespaces whose events are recorded (default: namespaces)"
    )
    agent_label: NonBlank = "app.kubernetes.io/name"
    controller_selector: NonBlank = "app.kubernetes.io/component=controller"
    judge: list[CriterionId] | None = Field(default=None, description="only these criteria (default: all)")
    load: Load = Field(description="a suite runs under load: give load.profile and load.caps")
    timings: TimingModes = Field(description="give the sandbox and real timings")
    experiments: list[ExperimentEntry] | None = None
    criteria: CriteriaBlock | None = Field(default=None, description="criteria overrides by criterion id")
    abort_on: AbortOn | None = Field(default=None, description="when the run stops itself early")
    regressions: Regressions | None = Field(
        default=None, description="what a regression against the suite's history does (default: warn)"
    )

    def suite(self, source: str, reading: _Reading) -> Suite:
        namespaces = tuple(self.namespaces)
        return Suite(
            source=source,
            name=self.name,
            description=self.description or "",
            namespaces=namespaces,
            record_namespaces=tuple(self.record_namespaces or ()) or namespaces,
            agent_label=self.agent_label,
            controller_selector=self.controller_selector,
            judge=tuple(self.judge or ()),
            load=self.load.spec(),
            experiments=tuple(e.spec(reading) for e in self.experiments or ()),
            timings={"sandbox": self.timings.sandbox.spec(), "real": self.timings.real.spec()},
            criteria=self.criteria.overrides() if self.criteria is not None else {},
            abort_on=self.abort_on.rules() if self.abort_on is not None else None,
            regressions=(self.regressions or Regressions()).rules(),
        )


def parse_suite(raw: object, *, source: str, root: Path | None = None) -> Suite:
    """Validate an already-parsed suite document; raise ConfigError listing every problem."""
    if raw is None:
        empty = "empty; a suite needs at least name, namespaces, load and timings"
        raise _invalid(source, [f"{source}: (file): {empty}"])
    source_dir = Path(source).resolve().parent
    reading = _Reading(roots=(root or source_dir.parent, source_dir, Path.cwd()))
    try:
        document = SuiteDocument.model_validate(raw, context=reading)
    except ValidationError as exc:
        raise _invalid(source, problem_lines(exc, SuiteDocument, source=source, root="(file)")) from None
    suite = document.suite(source, reading)
    problems = budget_problems(suite)
    if problems:
        raise _invalid(source, [f"{source}: {key}: {what}" for key, what in problems])
    return suite


def _invalid(source: str, problems: list[str]) -> ConfigError:
    count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
    return ConfigError(
        f"invalid suite ({count}):\n  " + "\n  ".join(problems),
        where=source,
        fix="see the suite format in schemas/suite.schema.json, src/validator/config/suite_file.py "
        "and suites/",
    )


# When each load profile last raises its users, as a fraction of the load's length
# (loadprofiles/shape_curves.py; tests/unit/load checks the two agree): a scaling decision after that
# rise must fit in the rest of the window.
LAST_RISE = {"steady": 0.0, "burst": 0.50, "diurnal": 0.50, "soak": 0.0}
# The time budgets a window must be able to hold, per criterion (their threshold key).
TIME_BUDGETS = {"recovery_time": "max", "scaling_latency": "max"}


def budget_problems(suite: Suite) -> list[tuple[str, str]]:
    """(key, what) for every window too short for the budget it must judge: a budget that cannot
    elapse before the window ends can never fail, so a run could only pass it.

    A compressed run states its clock (`time_factor`): its budgets are judged on that clock, so the
    window must hold budget / time_factor seconds of the run."""
    out: list[tuple[str, str]] = []
    for mode, timing in suite.timings.items():
        end = timing.load_duration_s + timing.cooldown_s
        if not suite.judge or "recovery_time" in suite.judge:
            needed, clock = _budget(suite, "recovery_time", timing, mode)
            for index, exp in enumerate(suite.experiments):
                fault_end = exp.at_s.get(mode, 0.0) + exp.hold_s.get(mode, 0.0)
                if end - fault_end < needed:
                    out.append(
                        (
                            f"experiments[{index}].at.{mode}",
                            f"`{exp.name}` ends {fault_end:g}s into the load, leaving {end - fault_end:g}s "
                            f"of window (load_duration + cooldown) to see it recover; recovery_time's budget "
                            f"is {needed:g}s of the run ({clock}): move it earlier or lengthen "
                            f"timings.{mode}.cooldown",
                        )
                    )
        if not suite.judge or "scaling_latency" in suite.judge:
            needed, clock = _budget(suite, "scaling_latency", timing, mode)
            rise = LAST_RISE.get(suite.load.profile, 0.0) * timing.load_duration_s
            if end - rise < needed:
                out.append(
                    (
                        f"timings.{mode}.cooldown",
                        f"the {suite.load.profile} profile last raises its load {rise:g}s in, leaving "
                        f"{end - rise:g}s to see the HPA answer; scaling_latency's budget is {needed:g}s "
                        f"of the run ({clock}): lengthen the load or the cooldown",
                    )
                )
    return out


def _budget(suite: Suite, criterion: str, timing: Timings, mode: str) -> tuple[float, str]:
    """A criterion's time budget in seconds of the run's clock, and how that was reckoned."""
    key = TIME_BUDGETS[criterion]
    override = suite.criteria.get(criterion)
    budget = (override.thresholds.get(key) if override else None) or CRITERIA[criterion].DEFAULTS[key]
    if timing.time_factor != 1:
        return budget / timing.time_factor, f"{budget:g} s of real time at time_factor {timing.time_factor:g}"
    return budget, f"{budget:g} s; a compressed run states its clock with timings.{mode}.time_factor"


def load_suite_file(path: Path, *, root: Path | None = None) -> Suite:
    """Read and validate a suite file (YAML, safe_load only). `root` resolves experiment paths
    (default: the suite folder's parent, the repository root; then the suite's own folder)."""
    source = str(path)
    raw = read_yaml_file(
        path,
        kind="suite",
        missing_fix="give a file of suites/ (nightly.yaml, maintenance-rehearsal.yaml, on-demand.yaml) "
        "or your own",
    )
    return parse_suite(raw, source=source, root=root)


def with_overrides(
    suite: Suite, *, experiments: tuple[ExperimentSpec, ...] | None = None, load: LoadSpec | None = None
) -> Suite:
    """A copy with the experiments or load replaced (command-line options of on-demand runs)."""
    return replace(
        suite,
        experiments=suite.experiments if experiments is None else experiments,
        load=suite.load if load is None else load,
    )
