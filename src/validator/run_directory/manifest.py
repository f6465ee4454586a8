"""manifest.json: what a run was (suite, window, context, namespaces, timings, faults planned and
run). The manifest is the model's `RunManifest` in both directions: `manifest_document` writes it,
`load_manifest` reads it back (docs/run-directory.md)."""

from __future__ import annotations

import json
from pathlib import Path

from validator.config.criteria_file import parse_criteria_overrides
from validator.errors import ConfigError
from validator.model import (
    DEFAULT_CONTROLLER_SELECTOR,
    LabelSelector,
    RunManifest,
    TimeWindow,
    parse_rfc3339,
)


def load_manifest(path: Path) -> RunManifest:
    where = str(path)
    if not path.is_file():
        raise ConfigError(
            f"{path.parent} is not a run directory: {path.name} not found",
            where=where,
            fix="pass a directory written by `validator run`; the manifest is written first",
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{where}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}",
            where=where,
            fix="repair or rewrite it",
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a JSON object", where=where)
    errors: list[str] = []
    run_id = raw.get("run_id")
    if not isinstance(run_id, str) or not run_id:
        errors.append(f"{where}: run_id: missing or not a string")
    window_raw = raw.get("window")
    start = end = None
    if not isinstance(window_raw, dict):
        errors.append(f'{where}: window: missing; expected {{"start": RFC3339, "end": RFC3339}}')
    else:
        for key in ("start", "end"):
            value = window_raw.get(key)
            try:
                parsed = parse_rfc3339(value) if isinstance(value, str) else None
            except ValueError as exc:
                errors.append(f"{where}: window.{key}: {exc}")
                continue
            if parsed is None:
                errors.append(
                    f"{where}: window.{key}: missing; expected an RFC 3339 time like 2026-11-20T02:00:00Z"
                )
            elif key == "start":
                start = parsed
            else:
                end = parsed
        if start is not None and end is not None and end < start:
            errors.append(
                f"{where}: window.end ({window_raw.get('end')}) precedes window.start "
                f"({window_raw.get('start')})"
            )
    namespaces = raw.get("namespaces", [])
    if not isinstance(namespaces, list) or not all(isinstance(n, str) for n in namespaces):
        errors.append(f"{where}: namespaces: expected a list of names")
        namespaces = []
    expected_raw = raw.get("expected_alerts", {}) or {}
    expected: dict[str, tuple[str, ...]] = {}
    if not isinstance(expected_raw, dict):
        errors.append(f"{where}: expected_alerts: expected a mapping of fault name to alert names")
    else:
        for fault, names in expected_raw.items():
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                errors.append(f"{where}: expected_alerts.{fault}: expected a list of alert names")
            else:
                expected[str(fault)] = tuple(names)
    selector_text = raw.get("controller_selector", DEFAULT_CONTROLLER_SELECTOR)
    selector = _parse_selector(selector_text, where, errors)
    agent_label = raw.get("agent_label", "app.kubernetes.io/name")
    if not isinstance(agent_label, str) or not agent_label:
        errors.append(f"{where}: agent_label: expected a label key like app.kubernetes.io/name")
        agent_label = "app.kubernetes.io/name"
    load_raw = raw.get("load") or {}
    time_factor = load_raw.get("time_factor", 1) if isinstance(load_raw, dict) else 1
    if isinstance(time_factor, bool) or not isinstance(time_factor, (int, float)) or time_factor <= 0:
        errors.append(f"{where}: load.time_factor: expected a positive number (1 on a real cluster)")
        time_factor = 1
    try:
        overrides = parse_criteria_overrides(raw.get("criteria", {}), source=where)
    except ConfigError as exc:
        errors.extend(line.strip() for line in exc.what.splitlines()[1:])
        overrides = {}
    if errors or start is None or end is None or not isinstance(run_id, str):
        raise ConfigError(
            f"invalid manifest ({len(errors)} problem(s)):\n  " + "\n  ".join(errors),
            where=where,
            fix="see docs/run-directory.md for the manifest's fields",
        )
    return RunManifest(
        run_id=run_id,
        window=TimeWindow(start=start, end=end),
        suite=str(raw.get("suite", "") or ""),
        context=str(raw.get("context", "") or ""),
        namespaces=tuple(namespaces),
        sandbox=bool(raw.get("sandbox", False)),
        time_factor=float(time_factor),
        agent_label=agent_label,
        controller_selector=selector,
        expected_alerts=expected,
        criteria=overrides,
    )


def _parse_selector(text: object, where: str, errors: list[str]) -> LabelSelector:
    if not isinstance(text, str):
        errors.append(f"{where}: controller_selector: expected a label selector like `key=value[,key=value]`")
        return LabelSelector.parse(DEFAULT_CONTROLLER_SELECTOR)
    try:
        return LabelSelector.parse(text)
    except ValueError as exc:
        errors.append(f"{where}: controller_selector: {exc}")
        return LabelSelector.parse(DEFAULT_CONTROLLER_SELECTOR)

