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
                env: {VALIDATOR_RECOVERY_TIMEOUT_S: "60"}}
      real:    {load_duration: 40m, time_factor: 1, settle: 2m, cooldown: 10m, step: 15s}
    criteria:
      recovery_time: {max: 300}

Durations are seconds (a number) or a string with a unit: `90s`, `10m`, `1h`, `1h30m`.
Every problem is reported at once, as `FILE: key.path: what; how to fix`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from validator.config.criteria_file import parse_criteria_overrides
from validator.config.experiment_file import load_experiment_file
from validator.criteria.registry import CRITERIA
from validator.errors import ConfigError
from validator.model import CriterionOverride

SCHEMA = "validator.suite/v1"
Mode = Literal["sandbox", "real"]
MODES: tuple[Mode, ...] = ("sandbox", "real")
PROFILES = ("steady", "burst", "diurnal", "soak")
TARGETS = ("http", "kubernetes")
NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
ENV_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
DURATION_RE = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")

# Hard maxima, the same as the load profiles' own (loadprofiles/load_caps.py).
MAX_USERS = 500
MAX_SPAWN_RATE = 50.0
MAX_TIME_FACTOR = 3600.0

TOP_KEYS = (
    "schema",
    "name",
    "description",
    "namespaces",
    "record_namespaces",
    "agent_label",
    "controller_selector",
    "judge",
    "load",
    "experiments",
    "timings",
    "criteria",
)
LOAD_KEYS = ("profile", "target", "caps", "allowed_hosts", "env")
CAPS_KEYS = ("max_users", "max_spawn_rate")
EXPERIMENT_KEYS = ("name", "path", "at", "hold", "env", "expected_alerts")
TIMING_KEYS = ("load_duration", "time_factor", "settle", "cooldown", "step", "env")


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


class _Errors:
    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: list[str] = []

    def add(self, path: str, what: str) -> None:
        self.lines.append(f"{self.source}: {path}: {what}")


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


def _mapping(value: object, path: str, errors: _Errors, keys: tuple[str, ...]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.add(path, f"expected a mapping, got {_kind(value)}")
        return {}
    for key in value:
        if key not in keys:
            errors.add(f"{path}.{key}" if path else str(key), f"unknown key; known keys: {', '.join(keys)}")
    return value


def _string(value: object, path: str, errors: _Errors, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        errors.add(path, f"expected a non-empty string, got {_kind(value)}")
        return ""
    return value


def _strings(value: object, path: str, errors: _Errors) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        errors.add(path, f"expected a list of strings, got {_kind(value)}")
        return ()
    return tuple(value)


def _env(value: object, path: str, errors: _Errors) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.add(path, f"expected a mapping of environment variable to value, got {_kind(value)}")
        return {}
    out: dict[str, str] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not ENV_RE.match(key):
            errors.add(f"{path}.{key}", "not an environment variable name (A-Z, 0-9, _)")
        elif isinstance(item, bool) or not isinstance(item, str | int | float):
            errors.add(f"{path}.{key}", f"expected a string or number, got {_kind(item)}; quote it")
        else:
            out[key] = str(item)
    return out


def _positive(
    value: object, path: str, errors: _Errors, *, integer: bool = False, maximum: float | None = None
) -> float:
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok or float(value) <= 0:  # type: ignore[arg-type]
        kind = "a positive whole number" if integer else "a positive number"
        errors.add(path, f"expected {kind}, got {value!r}")
        return 1.0
    number = float(value)  # type: ignore[arg-type]
    if maximum is not None and number > maximum:
        errors.add(path, f"{value} is above the hard maximum {maximum:g}")
    return number


def _duration(value: object, path: str, errors: _Errors, *, positive: bool = False) -> float:
    seconds = parse_duration(value)
    if seconds is None or (positive and seconds <= 0):
        errors.add(path, f"expected a duration such as 90s, 10m or 1h30m, got {value!r}")
        return 0.0
    return seconds


def _load(raw: object, errors: _Errors) -> LoadSpec:
    if raw is None:
        errors.add("load", "missing; a suite runs under load: give load.profile and load.caps")
        raw = {}
    block = _mapping(raw, "load", errors, LOAD_KEYS)
    profile = _string(block.get("profile"), "load.profile", errors)
    if profile and profile not in PROFILES:
        errors.add("load.profile", f"unknown profile {profile!r}; one of {', '.join(PROFILES)}")
    target = block.get("target", "http")
    if target not in TARGETS:
        errors.add("load.target", f"unknown target {target!r}; one of {', '.join(TARGETS)}")
    caps_raw = block.get("caps")
    if caps_raw is None:
        errors.add("load.caps", "missing; caps are required: {max_users: N, max_spawn_rate: R}")
    caps = _mapping(caps_raw, "load.caps", errors, CAPS_KEYS)
    users = spawn = 1.0
    if caps_raw is not None:
        for key in CAPS_KEYS:
            if key not in caps:
                errors.add(f"load.caps.{key}", "missing; every cap is required")
        if "max_users" in caps:
            users = _positive(
                caps["max_users"], "load.caps.max_users", errors, integer=True, maximum=MAX_USERS
            )
        if "max_spawn_rate" in caps:
            spawn = _positive(
                caps["max_spawn_rate"], "load.caps.max_spawn_rate", errors, maximum=MAX_SPAWN_RATE
            )
    return LoadSpec(
        profile=profile,
        target=str(target),
        max_users=int(users),
        max_spawn_rate=spawn,
        allowed_hosts=_strings(block.get("allowed_hosts"), "load.allowed_hosts", errors),
        env=_env(block.get("env"), "load.env", errors),
    )


def _timings(raw: object, errors: _Errors) -> dict[str, Timings]:
    block = _mapping(raw, "timings", errors, MODES)
    out: dict[str, Timings] = {}
    for mode in MODES:
        path = f"timings.{mode}"
        if mode not in block:
            errors.add(
                path, f"missing; give the {mode} timings (load_duration, time_factor, settle, cooldown, step)"
            )
            continue
        t = _mapping(block[mode], path, errors, TIMING_KEYS)
        for key in ("load_duration", "time_factor"):
            if key not in t:
                errors.add(f"{path}.{key}", "missing")
        out[mode] = Timings(
            load_duration_s=_duration(
                t.get("load_duration", 1), f"{path}.load_duration", errors, positive=True
            ),
            time_factor=_positive(
                t.get("time_factor", 1), f"{path}.time_factor", errors, maximum=MAX_TIME_FACTOR
            ),
            settle_s=_duration(t.get("settle", 0), f"{path}.settle", errors),
            cooldown_s=_duration(t.get("cooldown", 0), f"{path}.cooldown", errors),
            step_s=_duration(t.get("step", 15), f"{path}.step", errors, positive=True),
            env=_env(t.get("env"), f"{path}.env", errors),
        )
    return out


def _experiments(
    raw: object, errors: _Errors, roots: tuple[Path, ...], timings: Mapping[str, Timings]
) -> tuple[ExperimentSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        errors.add("experiments", f"expected a list, got {_kind(raw)}")
        return ()
    out: list[ExperimentSpec] = []
    names: set[str] = set()
    for index, item in enumerate(raw):
        path = f"experiments[{index}]"
        block = _mapping(item, path, errors, EXPERIMENT_KEYS)
        if not isinstance(item, dict):
            continue
        name = _string(block.get("name"), f"{path}.name", errors)
        if name and not NAME_RE.match(name):
            errors.add(f"{path}.name", f"{name!r} must be lower-case letters, digits and dashes")
        if name in names:
            errors.add(f"{path}.name", f"{name!r} is used twice; fault names must be unique")
        names.add(name)
        file_text = _string(block.get("path"), f"{path}.path", errors)
        file = Path(file_text)
        if file_text and not file.is_absolute():
            file = next((root / file for root in roots if (root / file).is_file()), roots[0] / file)
        if file_text and not file_text.endswith(".json"):
            errors.add(f"{path}.path", "an experiment is a Chaos Toolkit .json file")
        elif file_text and not file.is_file():
            errors.add(
                f"{path}.path",
                f"{file} not found (relative to the repository root, the suite's folder or the "
                "working directory)",
            )
        elif file_text:
            try:
                load_experiment_file(file)
            except ConfigError as exc:
                errors.add(f"{path}.path", exc.what.replace("\n", "\n    "))
        at: dict[str, float] = {}
        at_raw = block.get("at")
        if isinstance(at_raw, dict):
            _mapping(at_raw, f"{path}.at", errors, MODES)
            for mode in MODES:
                if mode not in at_raw:
                    errors.add(f"{path}.at.{mode}", "missing; give the offset from the load's start")
                else:
                    at[mode] = _duration(at_raw[mode], f"{path}.at.{mode}", errors)
        else:
            errors.add(f"{path}.at", f"expected {{sandbox: 90s, real: 10m}}, got {_kind(at_raw)}")
        for at_mode, offset in at.items():
            timing = timings.get(at_mode)
            if timing is not None and offset >= timing.load_duration_s:
                errors.add(
                    f"{path}.at.{at_mode}",
                    f"{offset:g}s is not before the end of the load "
                    f"(timings.{at_mode}.load_duration {timing.load_duration_s:g}s)",
                )
        hold: dict[str, float] = {}
        hold_raw = block.get("hold")
        if isinstance(hold_raw, dict):
            _mapping(hold_raw, f"{path}.hold", errors, MODES)
            for hold_mode in MODES:
                if hold_mode in hold_raw:
                    hold[hold_mode] = _duration(hold_raw[hold_mode], f"{path}.hold.{hold_mode}", errors)
        elif hold_raw is not None:
            errors.add(f"{path}.hold", f"expected {{sandbox: 20s, real: 2m}}, got {_kind(hold_raw)}")
        out.append(
            ExperimentSpec(
                hold_s=hold,
                name=name,
                path=file,
                at_s=at,
                env=_env(block.get("env"), f"{path}.env", errors),
                expected_alerts=_strings(block.get("expected_alerts"), f"{path}.expected_alerts", errors),
            )
        )
    return tuple(out)


def parse_suite(raw: object, *, source: str, root: Path | None = None) -> Suite:
    """Validate an already-parsed suite document; raise ConfigError listing every problem."""
    errors = _Errors(source)
    doc = _mapping(raw, "", errors, TOP_KEYS) if raw is not None else {}
    if raw is None:
        errors.add("(file)", "empty; a suite needs at least name, namespaces, load and timings")
    schema = doc.get("schema", SCHEMA)
    if schema != SCHEMA:
        errors.add("schema", f"unknown schema {schema!r}; expected {SCHEMA}")
    name = _string(doc.get("name"), "name", errors)
    if name and not NAME_RE.match(name):
        errors.add("name", f"{name!r} must be lower-case letters, digits and dashes")
    namespaces = _strings(doc.get("namespaces"), "namespaces", errors)
    if "namespaces" in doc and not namespaces:
        errors.add("namespaces", "empty; name the platform's namespaces, e.g. [agents, workflow-system]")
    elif "namespaces" not in doc:
        errors.add("namespaces", "missing; name the platform's namespaces, e.g. [agents, workflow-system]")
    record = _strings(doc.get("record_namespaces"), "record_namespaces", errors) or namespaces
    judge = _strings(doc.get("judge"), "judge", errors)
    for index, cid in enumerate(judge):
        if cid not in CRITERIA:
            errors.add(f"judge[{index}]", f"unknown criterion {cid!r}; known: {', '.join(sorted(CRITERIA))}")
    timings = _timings(doc.get("timings"), errors)
    source_dir = Path(source).resolve().parent
    roots = (root or source_dir.parent, source_dir, Path.cwd())
    experiments = _experiments(doc.get("experiments"), errors, roots, timings)
    criteria_errors: list[str] = []
    try:
        criteria = parse_criteria_overrides(doc.get("criteria") or {}, source=source)
    except ConfigError as exc:
        criteria_errors = [line.strip() for line in exc.what.splitlines()[1:]]
        criteria = {}
    suite = Suite(
        source=source,
        name=name,
        description=_string(doc.get("description"), "description", errors, required=False),
        namespaces=namespaces,
        record_namespaces=record,
        agent_label=_string(doc.get("agent_label", "app.kubernetes.io/name"), "agent_label", errors),
        controller_selector=_string(
            doc.get("controller_selector", "app.kubernetes.io/component=controller"),
            "controller_selector",
            errors,
        ),
        judge=judge,
        load=_load(doc.get("load"), errors),
        experiments=experiments,
        timings=timings,
        criteria=criteria,
    )
    if not errors.lines and not criteria_errors:
        for line in budget_problems(suite):
            errors.add(*line)
    problems = errors.lines + criteria_errors
    if problems:
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        raise ConfigError(
            f"invalid suite ({count}):\n  " + "\n  ".join(problems),
            where=source,
            fix="see the suite format in src/validator/config/suite_file.py and suites/",
        )
    return suite


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
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"suite file {source} does not exist",
            where=source,
            fix="give a file of suites/ (nightly.yaml, maintenance-rehearsal.yaml, "
            "on-demand.yaml) or your own",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"suite file {source} cannot be read: {exc.strerror}",
            where=source,
            fix="check the path and its permissions",
        ) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise ConfigError(
            f"{source}{at}: not valid YAML: {getattr(exc, 'problem', None) or exc}",
            where=source,
            fix="correct the YAML syntax",
        ) from None
    return parse_suite(raw, source=source, root=root)


def with_overrides(
    suite: Suite, *, experiments: tuple[ExperimentSpec, ...] | None = None, load: LoadSpec | None = None
) -> Suite:
    """A copy with the experiments or load replaced (command-line options of on-demand runs)."""
    from dataclasses import replace

    return replace(
        suite,
        experiments=suite.experiments if experiments is None else experiments,
        load=suite.load if load is None else load,
    )
