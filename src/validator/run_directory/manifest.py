"""manifest.json: what a run was (suite, window, context, namespaces, timings, faults planned and
run). The manifest is the model's `RunManifest` in both directions: `manifest_document` writes it,
`load_manifest` reads it back (docs/run-directory.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from validator.config.criteria_file import parse_criteria_overrides
from validator.errors import ConfigError
from validator.model import (
    DEFAULT_CONTROLLER_SELECTOR,
    CriterionOverride,
    ExperimentRecord,
    LabelSelector,
    ManifestLoad,
    PlannedFault,
    RehearsalScope,
    RunManifest,
    TimeWindow,
    format_rfc3339,
    parse_rfc3339,
)
from validator.run_directory.json_values import as_list, timestamp
from validator.run_directory.layout import MANIFEST, write_json_atomically

MANIFEST_SCHEMA = "validator.manifest/v1"


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
        # written since checks have a suite of their own; before, a check was a manifest without one
        kind=str(raw.get("kind", "") or ("run" if raw.get("suite") else "check")),
        namespaces=tuple(namespaces),
        sandbox=bool(raw.get("sandbox", False)),
        time_factor=float(time_factor),
        agent_label=agent_label,
        controller_selector=selector,
        expected_alerts=expected,
        criteria=overrides,
        suite_file=str(raw.get("suite_file", "") or ""),
        window_final=bool(raw.get("window_final", True)),
        timing=str(raw.get("timing", "") or ""),
        dry_run=bool(raw.get("dry_run", False)),
        load=_load(load_raw) if isinstance(load_raw, dict) and load_raw else None,
        faults_planned=tuple(
            PlannedFault(
                name=str(f.get("name", "")),
                experiment=str(f.get("experiment", "")),
                offset_s=_float(f.get("offset_s")),
            )
            for f in as_list(raw.get("faults_planned"))
            if isinstance(f, dict)
        ),
        rehearsal_target=_rehearsal(raw.get("rehearsal_target")),
        judge=tuple(str(c) for c in as_list(raw.get("judge"))),
        experiments=tuple(_experiment(e) for e in as_list(raw.get("experiments")) if isinstance(e, dict)),
        interrupted=tuple(str(s) for s in as_list(raw.get("interrupted"))),
        aborted=str(raw.get("aborted", "") or ""),
    )


# The fields that record how the run went are read leniently: no criterion depends on them, and an
# older manifest (or a `validator check`'s) simply lacks them.


def _float(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _time_or_none(value: object) -> float | None:
    return timestamp(value)


def _load(raw: Mapping[str, Any]) -> ManifestLoad:
    return ManifestLoad(
        profile=str(raw.get("profile", "") or ""),
        target=str(raw.get("target", "") or ""),
        max_users=int(_float(raw.get("max_users"))),
        max_spawn_rate=_float(raw.get("max_spawn_rate")),
        duration_s=_float(raw.get("duration_s")),
        started=_time_or_none(raw.get("started")),
        held_s=_float(raw.get("held_s")),
    )


def _rehearsal(raw: object) -> RehearsalScope | None:
    if not isinstance(raw, dict):
        return None
    return RehearsalScope(node=str(raw.get("node", "") or ""), pool=str(raw.get("pool", "") or ""))


def _experiment(raw: Mapping[str, Any]) -> ExperimentRecord:
    def flag(value: object) -> bool | None:
        return value if isinstance(value, bool) else None

    return ExperimentRecord(
        name=str(raw.get("name", "")),
        experiment=str(raw.get("experiment", "")),
        journal=str(raw.get("journal", "")),
        started=timestamp(raw.get("started")) or 0.0,
        ended=timestamp(raw.get("ended")),
        status=str(raw.get("status", "") or ""),
        steady_state_before=flag(raw.get("steady_state_before")),
        steady_state_after=flag(raw.get("steady_state_after")),
        failed_actions=tuple(str(a) for a in as_list(raw.get("failed_actions"))),
        failed_rollbacks=tuple(str(a) for a in as_list(raw.get("failed_rollbacks"))),
        error=str(raw.get("error", "") or ""),
    )


# --- writing --------------------------------------------------------------------------------------


def overrides_document(overrides: Mapping[str, CriterionOverride]) -> dict[str, Any]:
    """Criteria overrides as a criteria file (or the manifest's `criteria`) writes them."""
    out: dict[str, Any] = {}
    for cid, o in overrides.items():
        body: dict[str, Any] = dict(o.thresholds)
        if o.queries:
            body["queries"] = dict(o.queries)
        if o.info is not None:
            body["info"] = o.info
        out[cid] = body
    return out


def _experiment_document(record: ExperimentRecord) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "name": record.name,
        "experiment": record.experiment,
        "started": format_rfc3339(record.started),
        "journal": record.journal,
        "status": record.status,
    }
    if record.error:
        doc["error"] = record.error
    else:
        doc.update(
            steady_state_before=record.steady_state_before,
            steady_state_after=record.steady_state_after,
            failed_actions=list(record.failed_actions),
            failed_rollbacks=list(record.failed_rollbacks),
        )
    if record.ended is not None:
        doc["ended"] = format_rfc3339(record.ended)
    return doc


def manifest_document(manifest: RunManifest) -> dict[str, Any]:
    """The manifest as written: everything `load_manifest` reads back into the same RunManifest."""
    doc: dict[str, Any] = {
        "schema": MANIFEST_SCHEMA,
        "run_id": manifest.run_id,
        "kind": manifest.kind,
        "suite": manifest.suite,
        "suite_file": manifest.suite_file,
        "window": manifest.window.render(),
        "window_final": manifest.window_final,
        "context": manifest.context,
        "namespaces": list(manifest.namespaces),
        "sandbox": manifest.sandbox,
        "timing": manifest.timing,
        "dry_run": manifest.dry_run,
        "agent_label": manifest.agent_label,
        "controller_selector": manifest.controller_selector.render(),
    }
    if manifest.load is not None or manifest.time_factor != 1.0:
        load = manifest.load or ManifestLoad()
        doc["load"] = {
            "profile": load.profile,
            "target": load.target,
            "max_users": load.max_users,
            "max_spawn_rate": load.max_spawn_rate,
            "duration_s": load.duration_s,
            "time_factor": manifest.time_factor,
            "started": format_rfc3339(load.started) if load.started is not None else None,
            "held_s": round(load.held_s, 3),
        }
    doc.update(
        faults_planned=[
            {"name": f.name, "experiment": f.experiment, "offset_s": f.offset_s}
            for f in manifest.faults_planned
        ],
        rehearsal_target=(
            {"node": manifest.rehearsal_target.node, "pool": manifest.rehearsal_target.pool}
            if manifest.rehearsal_target is not None
            else None
        ),
        expected_alerts={fault: list(names) for fault, names in manifest.expected_alerts.items()},
        criteria=overrides_document(manifest.criteria),
        judge=list(manifest.judge),
        experiments=[_experiment_document(e) for e in manifest.experiments],
        interrupted=list(manifest.interrupted),
    )
    if manifest.aborted:
        doc["aborted"] = manifest.aborted
    return doc


def write_manifest(run_dir: Path, manifest: RunManifest) -> Path:
    """manifest.json, written atomically (rewritten as the run goes on)."""
    return write_json_atomically(run_dir / MANIFEST, manifest_document(manifest))


def _parse_selector(text: object, where: str, errors: list[str]) -> LabelSelector:
    if not isinstance(text, str):
        errors.append(f"{where}: controller_selector: expected a label selector like `key=value[,key=value]`")
        return LabelSelector.parse(DEFAULT_CONTROLLER_SELECTOR)
    try:
        return LabelSelector.parse(text)
    except ValueError as exc:
        errors.append(f"{where}: controller_selector: {exc}")
        return LabelSelector.parse(DEFAULT_CONTROLLER_SELECTOR)

