"""Running one experiment from Python (the suite's runner), with the settings plain `chaos run` lacks.

`run_experiment` must be called from the main thread (Chaos Toolkit installs signal handlers). It
forces the `always` rollback strategy, points the experiment at the run directory, writes the
journal, and judges the outcome from the run entries (the top-level status misleads: a steady
state failing before the method still ends `completed`). Rollback failures that left marks raise
`RollbackFailed` (exit 5).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from validator.errors import ConfigError, RollbackFailed


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What a journal says, read from its parts."""

    status: str
    steady_state_before: bool | None
    steady_state_after: bool | None
    failed_actions: list[str] = field(default_factory=list)
    failed_rollbacks: list[str] = field(default_factory=list)

    @property
    def interrupted(self) -> bool:
        return self.status == "interrupted"


def outcome(journal: dict[str, Any]) -> Outcome:
    states = journal.get("steady_states") or {}

    def met(key: str) -> bool | None:
        entry = states.get(key)
        return None if not entry else bool(entry.get("steady_state_met"))

    return Outcome(
        status=str(journal.get("status")),
        steady_state_before=met("before"),
        steady_state_after=met("after"),
        failed_actions=[r["activity"]["name"] for r in journal.get("run") or []
                        if r.get("status") != "succeeded"],
        failed_rollbacks=[r["activity"]["name"] for r in journal.get("rollbacks") or []
                          if r.get("status") != "succeeded"],
    )


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """`values` over the process's environment for the block (Chaos Toolkit reads configuration
    from os.environ)."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def run_experiment(path: Path, *, context: str, run_dir: Path, kubeconfig: str | None = None,
                   run_id: str | None = None, allowlist: Path | None = None,
                   journal_path: Path | None = None, extra_env: dict[str, str] | None = None
                   ) -> tuple[dict[str, Any], Outcome]:
    """Run one experiment file against `context`, with evidence under `run_dir`."""
    if threading.current_thread() is not threading.main_thread():
        raise ConfigError("Chaos Toolkit must run in the main thread (it installs signal handlers)",
                          where="validator.chaos.runner.run_experiment",
                          fix="call it from the main thread; run other work (load, watches) in threads")
    from chaoslib.experiment import ensure_experiment_is_valid
    from chaoslib.experiment import run_experiment as ctk_run
    from chaoslib.loader import load_experiment

    env = {"VALIDATOR_CONTEXT": context, "VALIDATOR_RUN_DIR": str(run_dir)}
    if kubeconfig:
        env["VALIDATOR_KUBECONFIG"] = kubeconfig
    if run_id:
        env["VALIDATOR_RUN_ID"] = run_id
    if allowlist:
        env["VALIDATOR_ALLOWLIST"] = str(allowlist)
    env.update(extra_env or {})
    settings: dict[str, Any] = {"runtime": {"rollbacks": {"strategy": "always"}}}
    with environment(env):
        experiment = load_experiment(str(path), settings)
        ensure_experiment_is_valid(experiment)
        journal: dict[str, Any] = ctk_run(experiment, settings=settings)
    target = journal_path or Path(run_dir) / "chaos" / "journal.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(journal, indent=2, default=str))
    result = outcome(journal)
    if result.failed_rollbacks:
        raise RollbackFailed(
            f"rollback(s) failed: {', '.join(result.failed_rollbacks)}",
            where=str(target),
            fix="run `validator recover --context CTX` to revert what is still marked, then read the journal",
        )
    return journal, result
