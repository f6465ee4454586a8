"""Chaos Toolkit experiment files (`experiments/*.json`), read before anything touches a cluster.

A suite names experiments by path; `plan` and `run` read each one here first, so a file that is not
JSON, or not an experiment, is bad input (exit 2, naming the file and the key) and never a
traceback halfway through a run. Pure: reads the file, nothing else. The structure checked is Chaos
Toolkit 1.x's: a `title`, a non-empty `method` of activities (`type` action or probe, a `name`, a
`provider` of type python / process / http with what that type needs, or a `ref`), optional
`steady-state-hypothesis`, `rollbacks`, `configuration` and `controls`. Python providers are
imported and their arguments checked by Chaos Toolkit itself in the run's preflight.

`resolve_arguments` substitutes `${key}` configuration references the way `chaos run` does (an
`env` entry reads the variable, else its default), so the run can see which fault mechanism an
activity will use before it starts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from validator.errors import ConfigError

ACTIVITY_TYPES = ("action", "probe")
PROVIDER_TYPES = ("python", "process", "http")
_REFERENCE = re.compile(r"\$\{([A-Za-z0-9_\-]+)\}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Activity:
    phase: str  # steady-state-hypothesis, method, rollbacks
    index: int
    type: str
    name: str
    provider: Mapping[str, Any] = field(default_factory=dict)

    @property
    def func(self) -> str:
        return str(self.provider.get("func") or "")

    @property
    def arguments(self) -> Mapping[str, Any]:
        args = self.provider.get("arguments")
        return args if isinstance(args, dict) else {}


@dataclass(frozen=True, slots=True, kw_only=True)
class Experiment:
    path: Path
    title: str
    document: Mapping[str, Any]
    activities: tuple[Activity, ...] = ()

    @property
    def configuration(self) -> Mapping[str, Any]:
        raw = self.document.get("configuration")
        return raw if isinstance(raw, dict) else {}

    def fault_name(self) -> str:
        """The fault name its `validator` control writes (the extension's, else the title's slug)."""
        for ext in self.document.get("extensions") or []:
            if isinstance(ext, dict) and ext.get("name") == "validator":
                return str(ext.get("fault") or ext.get("experiment") or "")
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")

    def method_actions(self) -> tuple[Activity, ...]:
        return tuple(a for a in self.activities if a.phase == "method" and a.type == "action")

    def resolve_arguments(self, activity: Activity, env: Mapping[str, str]) -> dict[str, Any]:
        """The activity's arguments with `${key}` replaced from the configuration, reading `env`
        for `{"type": "env"}` entries as `chaos run` would."""
        values = {key: _configured(value, env) for key, value in self.configuration.items()}
        return {k: _substitute(v, values) for k, v in activity.arguments.items()}


def _configured(entry: object, env: Mapping[str, str]) -> object:
    if isinstance(entry, dict) and entry.get("type") == "env":
        return env.get(str(entry.get("key")), entry.get("default"))
    return entry


def _substitute(value: object, values: Mapping[str, object]) -> object:
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value)
        if whole and whole.group(1) in values:
            return values[whole.group(1)]
        return _REFERENCE.sub(lambda m: str(values.get(m.group(1), m.group(0))), value)
    return value


def load_experiment_file(path: Path) -> Experiment:
    """Read and check one experiment; ConfigError listing every problem as `FILE: key: what; fix`."""
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"experiment file {where} does not exist",
            where=where,
            fix="correct the path (relative to the repository root or the suite's folder)",
        ) from None
    except OSError as exc:
        raise ConfigError(f"experiment file {where} cannot be read: {exc.strerror}", where=where) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{where}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}",
            where=where,
            fix="an experiment is a Chaos Toolkit JSON document; correct the syntax",
        ) from None
    return parse_experiment(document, path)


def parse_experiment(document: object, path: Path) -> Experiment:
    where = str(path)
    errors: list[str] = []

    def add(key: str, what: str) -> None:
        errors.append(f"{where}: {key}: {what}")

    if not isinstance(document, dict):
        raise ConfigError(
            f"{where}: expected a JSON object (a Chaos Toolkit experiment), got {type(document).__name__}",
            where=where,
            fix="see experiments/ for the shape of an experiment",
        )
    title = document.get("title")
    if not isinstance(title, str) or not title.strip():
        add("title", "missing; an experiment needs a title")
    configuration = document.get("configuration", {})
    if not isinstance(configuration, dict):
        add("configuration", "expected a mapping of name to value or {type: env, key: VAR}")
    else:
        for key, entry in configuration.items():
            if (
                isinstance(entry, dict)
                and entry.get("type") == "env"
                and not isinstance(entry.get("key"), str)
            ):
                add(f"configuration.{key}.key", "an env entry needs the variable's name as `key`")
    activities: list[Activity] = []
    method = document.get("method")
    if not isinstance(method, list) or not method:
        add("method", "missing or empty; list the actions and probes the experiment runs")
    hypothesis = document.get("steady-state-hypothesis")
    probes: object = []
    if hypothesis is not None:
        if not isinstance(hypothesis, dict):
            add("steady-state-hypothesis", "expected a mapping with `title` and `probes`")
        else:
            probes = hypothesis.get("probes", [])
    names: set[str] = set()
    for phase, items in (
        ("steady-state-hypothesis.probes", probes),
        ("method", method),
        ("rollbacks", document.get("rollbacks")),
    ):
        if items is None or (phase == "method" and not isinstance(items, list)):
            continue
        if not isinstance(items, list):
            add(phase, "expected a list of activities")
            continue
        for index, item in enumerate(items):
            key = f"{phase}[{index}]"
            activity = _activity(item, key, phase.split(".")[0], index, add)
            if activity is not None:
                activities.append(activity)
                names.add(activity.name)
    for index, item in enumerate(method if isinstance(method, list) else []):
        if isinstance(item, dict) and "ref" in item and item["ref"] not in names:
            add(f"method[{index}].ref", f"no activity is named {item['ref']!r}")
    controls = document.get("controls", [])
    if not isinstance(controls, list):
        add("controls", "expected a list of controls")
    if errors:
        raise ConfigError(
            f"invalid experiment ({len(errors)} problem{'s' if len(errors) != 1 else ''}):\n  "
            + "\n  ".join(errors),
            where=where,
            fix="see the Chaos Toolkit experiment format (experiments/*.json are examples)",
        )
    return Experiment(path=path, title=str(title), document=document, activities=tuple(activities))


def _activity(
    item: object, key: str, phase: str, index: int, add: Callable[[str, str], None]
) -> Activity | None:
    if not isinstance(item, dict):
        add(key, "expected an activity (a mapping with type, name and provider)")
        return None
    if "ref" in item:
        return None
    kind = item.get("type")
    name = item.get("name")
    if kind not in ACTIVITY_TYPES:
        add(f"{key}.type", f"{kind!r} is not one of {', '.join(ACTIVITY_TYPES)}")
    if not isinstance(name, str) or not name:
        add(f"{key}.name", "missing; every activity needs a name")
    provider = item.get("provider")
    if not isinstance(provider, dict):
        add(f"{key}.provider", "missing; say what runs (type python with module and func, or process, http)")
        return None
    ptype = provider.get("type")
    if ptype not in PROVIDER_TYPES:
        add(f"{key}.provider.type", f"{ptype!r} is not one of {', '.join(PROVIDER_TYPES)}")
    elif ptype == "python":
        for field_name in ("module", "func"):
            if not isinstance(provider.get(field_name), str) or not provider[field_name]:
                add(f"{key}.provider.{field_name}", "missing; a python provider names its module and func")
    elif ptype == "process" and not isinstance(provider.get("path"), str):
        add(f"{key}.provider.path", "missing; a process provider names the program to run")
    elif ptype == "http" and not isinstance(provider.get("url"), str):
        add(f"{key}.provider.url", "missing; an http provider names the URL to call")
    arguments = provider.get("arguments", {})
    if arguments is not None and not isinstance(arguments, dict):
        add(f"{key}.provider.arguments", "expected a mapping of argument name to value")
    return Activity(phase=phase, index=index, type=str(kind), name=str(name), provider=provider)
