"""The suite's experiments during a run: each one held under load as the suite says, run through
Chaos Toolkit in the main thread (rollbacks always), and recorded for the manifest; or, in a dry
run, planned without a write."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console

from validator.chaos.plan import plan_experiment
from validator.chaos.runner import Outcome, run_experiment
from validator.config.suite_file import ExperimentSpec, Mode, Suite
from validator.errors import RollbackFailed
from validator.model import ExperimentRecord
from validator.run_directory.layout import CHAOS_DIR, journal_path, write_json_atomically
from validator.safety.audit import AuditLog
from validator.safety.guard import Guard
from validator.safety.mutator import Mutator
from validator.safety.session import planning


def experiment_fault_name(path: Path) -> str:
    """The fault name the experiment's own control writes (its `validator` extension)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    for ext in doc.get("extensions") or []:
        if isinstance(ext, dict) and ext.get("name") == "validator":
            return str(ext.get("fault") or ext.get("experiment") or "")
    return ""


def held_experiment(exp: ExperimentSpec, mode: Mode, run_dir: Path) -> Path:
    """The experiment file, or a copy in chaos/ with a `hold` step after its first method action:
    the fault stays in place under load that long (until the rollbacks revert it), while the
    action's own end line still marks when the injection ended (an eviction is over at once)."""
    hold = exp.hold_s.get(mode, 0.0)
    if hold <= 0:
        return exp.path
    doc = json.loads(exp.path.read_text(encoding="utf-8"))
    method = doc.get("method") or []
    for index, activity in enumerate(method):
        if activity.get("type") == "action":
            method.insert(
                index + 1,
                {
                    "type": "probe",
                    "name": f"hold-{activity.get('name', 'fault')}",
                    "provider": {
                        "type": "python",
                        "module": "validator.chaos.probes",
                        "func": "hold",
                        "arguments": {"seconds": hold},
                    },
                },
            )
            break
    target = run_dir / CHAOS_DIR / f"experiment-{exp.name}.json"
    write_json_atomically(target, doc)
    return target


class ExperimentInterrupted(KeyboardInterrupt):
    """The experiment was interrupted (its control took the signal); `record` says how far it got."""

    def __init__(self, record: ExperimentRecord) -> None:
        super().__init__("experiment interrupted")
        self.record = record


def run_one(
    exp: ExperimentSpec,
    path: Path,
    *,
    context: str,
    run_dir: Path,
    run_id: str,
    kubeconfig: str | None,
    allowlist: Path | None,
    extra_env: dict[str, str],
    console: Console,
    load_started_ms: int,
) -> tuple[ExperimentRecord, RollbackFailed | None]:
    """Run one experiment file (`path`: the suite's, or its held copy) and record how it went. A failed
    rollback is returned (the run stops its remaining experiments); an interrupted experiment raises
    ExperimentInterrupted with its record."""
    journal = journal_path(run_dir, exp.name)
    started = time.time()
    console.print(f"[bold]▶ {exp.name}[/] ({exp.path.name}) at +{started - load_started_ms / 1000:.0f}s")
    base = ExperimentRecord(
        name=exp.name,
        experiment=str(exp.path),
        journal=str(journal.relative_to(run_dir)),
        started=_ms(started),
    )
    try:
        _, outcome = run_experiment(
            path,
            context=context,
            run_dir=run_dir,
            kubeconfig=kubeconfig,
            run_id=run_id,
            allowlist=allowlist,
            journal_path=journal,
            extra_env=extra_env,
        )
    except RollbackFailed as exc:
        console.print(f"[red]✗ {exp.name}: {exc.what}[/]")
        return _ended(base, status="rollback_failed", error=exc.what), exc
    console.print(_outcome_line(exp.name, outcome, started))
    record = _ended(
        base,
        status=outcome.status,
        steady_state_before=outcome.steady_state_before,
        steady_state_after=outcome.steady_state_after,
        failed_actions=tuple(outcome.failed_actions),
        failed_rollbacks=tuple(outcome.failed_rollbacks),
    )
    if outcome.interrupted:
        raise ExperimentInterrupted(record)
    return record, None


def _ms(seconds: float) -> float:
    """A time to the millisecond, as the manifest writes it."""
    return round(seconds * 1000) / 1000


def _ended(base: ExperimentRecord, **fields: Any) -> ExperimentRecord:
    return replace(base, ended=_ms(time.time()), **fields)


_STEADY = {True: "met", False: "NOT met", None: "—"}


def _outcome_line(name: str, outcome: Outcome, started: float) -> str:
    ok = not outcome.failed_actions and outcome.steady_state_before is not False
    mark = "[green]✓[/]" if ok else "[yellow]![/]"
    detail = ", ".join(
        filter(
            None,
            [
                f"status {outcome.status}",
                f"steady state before: {_STEADY[outcome.steady_state_before]}",
                f"failed: {', '.join(outcome.failed_actions)}" if outcome.failed_actions else "",
                "rollbacks ok" if not outcome.failed_rollbacks else "",
            ],
        )
    )
    return f"{mark} {name}: {detail} ({time.time() - started:.0f}s)"


def plan_suite(
    suite: Suite, mode: Mode, guard: Guard, extra_env: dict[str, str], console: Console
) -> int:
    """A dry run: every experiment planned through a plan-mode mutator (nothing written, no audit
    line). Returns how many steps the guard would refuse."""
    mutator = Mutator(guard=guard, audit=AuditLog(Path(os.devnull), "plan"), plan_mode=True)
    refused = 0
    with planning(mutator):
        for _, exp in suite.schedule(mode):
            plan = plan_experiment(exp.path, mutator, {**suite.timing(mode).env, **exp.env, **extra_env})
            console.print(f"[bold]{exp.name}[/] ({exp.path})")
            for step in plan["steps"]:
                console.print(f"  [{step['phase']}] {step['name']}: {step.get('result', '')}")
                if step.get("reason"):
                    refused += 1
                    console.print(f"      {step['reason']}")
                for w in step["writes"]:
                    console.print(f"      would {w['verb']} {w['object']} ({w['change']}) {w['note']}")
    console.print("dry run: nothing was changed")
    return refused
