"""chaos/faults.jsonl and chaos/journal-*.json: when each fault was injected and reverted (written
by the experiments' control, `write_fault_line`), and Chaos Toolkit's journals, read back as the
chaos evidence."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from validator.model import (
    ActivityRun,
    ChaosEvidence,
    ChaosRun,
    FaultWindow,
    NotInjected,
)
from validator.run_directory.json_values import as_list, as_map, numbered_lines, timestamp
from validator.run_directory.layout import FAULTS


def append_fault_line(run_dir: Path, record: Mapping[str, Any]) -> None:
    """One line of chaos/faults.jsonl (`ts_ms` first), appended and synced: a crash right after an
    injection still leaves its line, so the fault is rolled back by `validator recover` and judged."""
    path = run_dir / FAULTS
    path.parent.mkdir(parents=True, exist_ok=True)
    line = {"ts_ms": int(time.time() * 1000), **record}
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(line) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def load_chaos(faults_path: Path, journals: list[Path]) -> ChaosEvidence:
    """Fault windows (chaos/faults.jsonl) and the journals. `partial` holds only what makes the
    record itself incomplete (unreadable lines, faults.jsonl missing); what went wrong with one
    fault (its steady state not met before, a failed rollback, a dry run) is that fault's
    `problems`, and an experiment whose journal shows no injection is `not_injected`."""
    problems: list[str] = []
    faults: list[FaultWindow] = []
    if faults_path.is_file():
        faults = _fault_windows(faults_path, problems)
    runs: list[ChaosRun] = []
    for journal in journals:
        try:
            runs.append(_journal(journal))
        except (OSError, ValueError) as exc:
            problems.append(f"chaos/{journal.name}: unreadable ({exc})")
    if not faults_path.is_file() and runs:
        problems.append(f"{FAULTS} not found: fault windows taken from the journals' actions")
        faults = [
            FaultWindow(
                fault=r.fault or a.name,
                experiment=r.experiment,
                activity=a.name,
                start=a.start,
                end=a.end,
                status=a.status,
                rollback_end=max((b.end for b in r.rollbacks if b.end is not None), default=None),
            )
            for r in runs
            for a in r.activities
            if a.type == "action" and a.start is not None
        ]
    not_injected: list[NotInjected] = []
    for run in runs:
        trouble = _run_problems(run)
        mine = [i for i, f in enumerate(faults) if run.fault and f.fault == run.fault]
        for i in mine:
            held = [
                a.end for a in run.activities if a.name == f"hold-{faults[i].activity}" and a.end is not None
            ]
            faults[i] = replace(
                faults[i],
                problems=tuple(dict.fromkeys((*faults[i].problems, *trouble))),
                held_until=max(held) if held else faults[i].held_until,
            )
        if not mine:
            why = "; ".join(trouble) or "its method never ran an action"
            not_injected.append(NotInjected(fault=run.fault or run.experiment, kind=run.kind, reason=why))
    return ChaosEvidence(
        faults=tuple(sorted(faults, key=lambda f: (f.start, f.fault))),
        runs=tuple(runs),
        partial="; ".join(problems),
        not_injected=tuple(not_injected),
    )


def _run_problems(run: ChaosRun) -> list[str]:
    """Why a fault's results cannot count as a pass, from its journal."""
    out = []
    if run.steady_state_before_met is False:
        out.append("its steady state was not met before the injection (the platform was already disturbed)")
    for rollback in run.rollbacks:
        if rollback.status != "succeeded":
            out.append(f"rollback `{rollback.name}` {rollback.status or 'did not finish'}")
    if run.dry:
        out.append("it was a dry run: nothing was injected")
    return out


def _fault_windows(path: Path, problems: list[str]) -> list[FaultWindow]:
    opened: list[dict[str, Any]] = []
    for number, line, last in numbered_lines(path):
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict):
                raise ValueError("not an object")
            ts = float(raw["ts_ms"]) / 1000.0
        except (ValueError, KeyError, TypeError):
            what = "truncated last line" if last and not line.endswith("\n") else "unreadable line skipped"
            problems.append(f"{FAULTS}:{number}: {what}")
            continue
        phase = raw.get("phase")
        fault = str(raw.get("fault", "") or raw.get("experiment", ""))
        experiment = str(raw.get("experiment", "") or "")
        activity = str(raw.get("activity", "") or "")
        targets = tuple(str(t) for t in as_list(raw.get("targets")))
        if phase == "inject_start":
            opened.append(
                {
                    "fault": fault,
                    "experiment": experiment,
                    "activity": activity,
                    "start": ts,
                    "targets": targets,
                    "action": str(raw.get("action", "") or ""),
                    "problems": [],
                }
            )
        elif phase == "inject_end":
            match = next(
                (
                    o
                    for o in opened
                    if "end" not in o
                    and (o["fault"], o["experiment"], o["activity"]) == (fault, experiment, activity)
                ),
                None,
            ) or next(
                (
                    o
                    for o in opened
                    if "end" not in o and (o["fault"], o["experiment"]) == (fault, experiment)
                ),
                None,
            )
            if match is None:
                problems.append(f"{FAULTS}:{number}: inject_end without an inject_start")
                continue
            match["end"] = ts
            match["status"] = str(raw.get("status", "") or "")
            match["error"] = str(raw.get("error", "") or "")
            match["mechanism"] = str(raw.get("mechanism", "") or "")
            if targets:  # what the action reports it touched, rather than what it was pointed at
                match["targets"] = targets
        elif phase == "rollback_end":
            match = next(
                (
                    o
                    for o in reversed(opened)
                    if "rollback_end" not in o and (o["fault"], o["experiment"]) == (fault, experiment)
                ),
                None,
            )
            if match is not None:
                match["rollback_end"] = ts
                if raw.get("status") == "failed":
                    why = str(raw.get("error", "") or "no reason given")
                    match["problems"].append(f"rollback `{activity}` failed: {why}")
        elif phase != "rollback_start":
            problems.append(f"{FAULTS}:{number}: unknown phase {phase!r}")
    problems.extend(
        f"fault `{o['fault']}` has inject_start but no inject_end" for o in opened if "end" not in o
    )
    return [
        FaultWindow(
            fault=o["fault"],
            experiment=o["experiment"],
            activity=o["activity"],
            start=o["start"],
            end=o.get("end"),
            status=o.get("status", ""),
            error=o.get("error", ""),
            rollback_end=o.get("rollback_end"),
            targets=o["targets"],
            action=o["action"],
            mechanism=o.get("mechanism", ""),
            problems=tuple(o["problems"]),
        )
        for o in opened
    ]


def _journal(path: Path) -> ChaosRun:
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError("not a Chaos Toolkit journal (expected an object)")
    experiment = as_map(raw.get("experiment"))
    before = as_map(as_map(raw.get("steady_states")).get("before"))
    met = before.get("steady_state_met")
    activities = tuple(_activity(entry) for entry in as_list(raw.get("run")))
    rollbacks = tuple(_activity(entry) for entry in as_list(raw.get("rollbacks")))
    # the name the control writes into faults.jsonl: its `validator` extension's, else the title's slug
    fault = _slug(str(experiment.get("title", "") or ""))
    for ext in as_list(experiment.get("extensions")):
        ext = as_map(ext)
        if ext.get("name") == "validator":
            fault = str(ext.get("fault") or ext.get("experiment") or fault)
    actions = tuple(
        str(as_map(as_map(a).get("provider")).get("func") or "")
        for a in as_list(experiment.get("method"))
        if as_map(a).get("type") == "action"
    )
    return ChaosRun(
        experiment=str(experiment.get("title", "") or path.stem),
        source=path.name,
        fault=fault,
        actions=actions,
        status=str(raw.get("status", "") or ""),
        steady_state_before_met=met if isinstance(met, bool) else None,
        activities=activities,
        rollbacks=rollbacks,
        dry=bool(raw.get("dry")),
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _activity(entry: object) -> ActivityRun:
    """One run or rollback entry of a journal: its own status, never the experiment's."""
    item = as_map(entry)
    activity = as_map(item.get("activity"))
    return ActivityRun(
        name=str(activity.get("name", "") or ""),
        type=str(activity.get("type", "") or ""),
        status=str(item.get("status", "") or ""),
        start=timestamp(item.get("start")),
        end=timestamp(item.get("end")),
    )
