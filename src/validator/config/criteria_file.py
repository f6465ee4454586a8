"""Criteria overrides: a `--criteria` YAML file, or the `criteria` block of manifest.json / a suite.

Shape (every key optional)::

    criteria:
      recovery_time:
        max: 240                 # a threshold named in the criterion's DEFAULTS
      capacity_forecast:
        info: false              # judge it (it is info by default)
      cpu_utilization:
        queries:                 # replace a query's PromQL (placeholders as in the defaults)
          cpu_usage_by_agent: 'sum by ({agent_label}) (...)'

Every problem is reported at once, each as `FILE: key.path: what; how to fix`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from validator.criteria.promql import syntax_problems
from validator.criteria.registry import CRITERIA
from validator.errors import ConfigError
from validator.model import CriterionOverride

# Thresholds that are ratios (0..1): a value above 1 is almost surely a percentage.
RATIO_THRESHOLDS = frozenset(
    {
        ("cpu_utilization", "min"),
        ("cpu_utilization", "max"),
        ("memory_utilization", "max"),
        ("pvc_utilization", "min"),
        ("pvc_utilization", "max"),
        ("controller_availability", "min"),
        ("alert_accuracy", "max"),
        ("graceful_degradation", "min_success_ratio"),
        ("resource_isolation", "max_throttling"),
        ("cost_efficiency", "target_saving"),
    }
)
# (lower, upper) threshold names that must not cross.
BANDS = (("min", "max"),)


def load_criteria_file(path: Path) -> dict[str, CriterionOverride]:
    """Read and validate a criteria override file (YAML, safe_load only)."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"criteria file {source} does not exist",
            where=source,
            fix="pass the path of an existing YAML file",
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read criteria file {source}: {exc.strerror}", where=source) from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark is not None else source
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            f"{where}: not valid YAML: {problem}", where=where, fix="fix the YAML syntax"
        ) from None
    if raw is None:
        return {}
    errors: list[str] = []
    if not isinstance(raw, dict):
        _raise(source, [f"{source}: top level: expected a mapping with a `criteria` key, got {_kind(raw)}"])
    for key in raw:
        if key != "criteria":
            errors.append(f"{source}: {key}: unknown key; known keys: criteria")
    block = raw.get("criteria", {})
    overrides = _parse(block, source=source, path="criteria", errors=errors)
    if errors:
        _raise(source, errors)
    return overrides


def parse_criteria_overrides(
    raw: object, *, source: str, path: str = "criteria"
) -> dict[str, CriterionOverride]:
    """Validate an already-parsed `criteria` block (e.g. from manifest.json)."""
    errors: list[str] = []
    overrides = _parse(raw, source=source, path=path, errors=errors)
    if errors:
        _raise(source, errors)
    return overrides


def _raise(source: str, errors: list[str]) -> None:
    count = f"{len(errors)} problem{'s' if len(errors) != 1 else ''}"
    raise ConfigError(
        f"invalid criteria overrides ({count}):\n  " + "\n  ".join(errors),
        where=source,
        fix="see docs/criteria.md for the criterion ids and their thresholds",
    )


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


def _parse(block: object, *, source: str, path: str, errors: list[str]) -> dict[str, CriterionOverride]:
    if block is None:
        return {}
    if not isinstance(block, dict):
        errors.append(f"{source}: {path}: expected a mapping of criterion ids, got {_kind(block)}")
        return {}
    out: dict[str, CriterionOverride] = {}
    for cid, body in block.items():
        here = f"{path}.{cid}"
        module = CRITERIA.get(str(cid))
        if module is None:
            errors.append(f"{source}: {here}: unknown criterion id; known ids: {', '.join(CRITERIA)}")
            continue
        if body is None:
            out[str(cid)] = CriterionOverride()
            continue
        if not isinstance(body, dict):
            errors.append(f"{source}: {here}: expected a mapping of thresholds, got {_kind(body)}")
            continue
        parsed = _parse_one(
            str(cid), body, module.DEFAULTS, module.QUERIES, source=source, here=here, errors=errors
        )
        if parsed is not None:
            out[str(cid)] = parsed
    return out


def _parse_one(
    cid: str,
    body: Mapping[Any, Any],
    defaults: Mapping[str, float],
    queries: Mapping[str, str],
    *,
    source: str,
    here: str,
    errors: list[str],
) -> CriterionOverride | None:
    known = [*defaults, "info", "queries"]
    thresholds: dict[str, float] = {}
    query_overrides: dict[str, str] = {}
    info: bool | None = None
    before = len(errors)
    for key, value in body.items():
        at = f"{source}: {here}.{key}"
        if key in defaults:
            if isinstance(value, bool) or not isinstance(value, int | float):
                errors.append(f"{at}: expected a number, got {_kind(value)} {value!r}")
            elif value < 0:
                errors.append(f"{at}: must not be negative, got {value}")
            elif (cid, key) in RATIO_THRESHOLDS and value > 1:
                errors.append(
                    f"{at}: is a ratio between 0 and 1, got {value} (write {value / 100:g} for {value}%)"
                )
            else:
                thresholds[str(key)] = float(value)
        elif key == "info":
            if not isinstance(value, bool):
                errors.append(f"{at}: expected true or false, got {_kind(value)} {value!r}")
            else:
                info = value
        elif key == "queries":
            if not isinstance(value, dict):
                errors.append(f"{at}: expected a mapping of query keys to PromQL, got {_kind(value)}")
                continue
            for qkey, promql in value.items():
                qat = f"{at}.{qkey}"
                if qkey not in queries:
                    known_q = ", ".join(queries) or "none (this criterion runs no query)"
                    errors.append(f"{qat}: unknown query key; known keys: {known_q}")
                elif not isinstance(promql, str):
                    errors.append(f"{qat}: expected PromQL text, got {_kind(promql)}")
                else:
                    errors.extend(f"{qat}: bad PromQL: {p}" for p in syntax_problems(promql))
                    query_overrides[str(qkey)] = promql
        else:
            errors.append(f"{at}: unknown key; known keys: {', '.join(known)}")
    merged = {**defaults, **thresholds}
    for low, high in BANDS:
        if (
            low in merged
            and high in merged
            and merged[low] > merged[high]
            and (low in thresholds or high in thresholds)
        ):
            errors.append(
                f"{source}: {here}: {low} ({merged[low]:g}) is greater than {high} ({merged[high]:g}); "
                f"make {low} <= {high}"
            )
    if len(errors) > before:
        return None
    return CriterionOverride(thresholds=thresholds, queries=query_overrides, info=info)
