"""A fault that overruns its slot does not push the next one off the load.

The suite's first eviction is held 35 s from 10 s into a 40 s load: past the second eviction's point
(20 s) and past the load's end. Run in order without more, the second eviction would start after the
load had ended and graceful_degradation would have nothing to judge it by (what happened to the
nightly on 1,000 nodes, docs/sandbox-contract.md). The run holds the load's profile while the first
experiment overruns. Ground truth from outside the validator: Chaos Toolkit's journals (when each
action ran) and Locust's own stats history (when users were submitting).
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from tests.support.cluster import (
    allow_platform,
    deploy_platform,
    no_validator_marks,
    results,
    run_env,
    summary,
    validator_run,
)

SUITE = Path(__file__).resolve().parent / "schedule_overrun" / "suite.yaml"
LOAD_S, NEXT_AT_S = 40.0, 20.0


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _action(run_dir: Path, experiment: str) -> tuple[float, float]:
    """Start and end (epoch s) of the experiment's eviction, its hold included, from its journal."""
    journal = json.loads((run_dir / "chaos" / f"journal-{experiment}.json").read_text())
    run = journal["run"]
    evict = next(r for r in run if r["activity"]["type"] == "action")
    hold = next(r for r in run if r["activity"]["name"].startswith("hold-"))
    return _epoch(evict["start"]), _epoch(hold["end"])


def _submitting(run_dir: Path) -> list[tuple[float, int, int]]:
    """Locust's own record: (epoch s, users, requests so far) each second."""
    with (run_dir / "load" / "locust_stats_history.csv").open() as handle:
        rows = [r for r in csv.DictReader(handle) if r["Name"] == "Aggregated"]
    return [(float(r["Timestamp"]), int(r["User Count"]), int(r["Total Request Count"])) for r in rows]


def test_the_load_holds_its_profile_while_a_fault_overruns(sandbox: Any, tmp_path: Path) -> None:
    info = deploy_platform(sandbox)
    allowlist = allow_platform(sandbox, tmp_path / "allowlist.yaml", ["agents", "workflow-system"])
    run_dir = tmp_path / "overrun"
    proc, _ = validator_run(
        [str(SUITE), "--context", sandbox.context, "--output", str(run_dir)], run_env(info, allowlist)
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode in (0, 1), out[-4000:]
    manifest: dict[str, Any] = json.loads((run_dir / "manifest.json").read_text())
    load_started = _epoch(manifest["load"]["started"])

    _, first_end = _action(run_dir, "long-eviction")
    second_start, second_end = _action(run_dir, "next-eviction")
    # the cause this test creates: the first fault is still in place past the load's planned end
    assert first_end > load_started + LOAD_S, (first_end - load_started, out[-3000:])
    assert second_start > first_end

    # the run said so, and recorded how long it held the profile
    assert "long-eviction ran" in out and "past next-eviction's start" in out, out[-3000:]
    held = float(manifest["load"]["held_s"])
    assert held >= first_end - (load_started + NEXT_AT_S) - 1.0, held

    # Locust kept submitting through the second fault and stopped only after its planned length plus
    # the hold: its users' last second is past the second fault's end
    seconds = _submitting(run_dir)
    during = [(t, users, n) for t, users, n in seconds if second_start <= t <= second_end]
    assert during and all(users > 0 for _, users, _ in during), during
    assert during[-1][2] > during[0][2], "submissions went on during the second fault"
    last_active = max(t for t, users, _ in seconds if users > 0)
    assert last_active > second_end
    assert last_active - load_started >= LOAD_S + held - 3.0, (last_active - load_started, held)

    # so the second fault is judged on the load it met, not left inconclusive
    second = [
        r
        for r in results(summary(run_dir), "graceful_degradation")
        if abs(_epoch(r["scope"]["start"].replace("Z", "+00:00")) - second_start) < 2.0
    ]
    assert second and all(r["verdict"] != "inconclusive" for r in second), second
    assert not no_validator_marks(sandbox)
