"""The in-process runner forces `always` rollbacks, writes the journal, and reads outcomes from the parts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from validator.chaos.runner import outcome, run_experiment
from validator.errors import RollbackFailed

FAKE = """
from pathlib import Path

def ok(marker_dir):
    return True

def inject(marker_dir):
    raise RuntimeError("the fault failed")

def rollback(marker_dir, fail=False):
    Path(marker_dir, "rolled-back").write_text("1")
    if fail:
        raise RuntimeError("rollback broke")
    return {"targets": []}
"""


def write(tmp_path: Path, fail_rollback: bool) -> Path:
    (tmp_path / "fake_run_mod.py").write_text(FAKE)

    def act(kind: str, name: str, func: str, **args: object) -> dict[str, object]:
        return {
            "type": kind,
            "name": name,
            "provider": {
                "type": "python",
                "module": "fake_run_mod",
                "func": func,
                "arguments": {"marker_dir": str(tmp_path), **args},
            },
        }

    probe = act("probe", "ok", "ok")
    probe["tolerance"] = True
    exp = {
        "version": "1.0.0",
        "title": "t",
        "description": "d",
        "controls": [
            {"name": "validator", "provider": {"type": "python", "module": "validator.chaos.controls"}}
        ],
        "steady-state-hypothesis": {"title": "s", "probes": [probe]},
        "method": [act("action", "inject", "inject")],
        "rollbacks": [act("action", "undo", "rollback", fail=fail_rollback)],
    }
    path = tmp_path / "exp.json"
    path.write_text(json.dumps(exp))
    return path


def test_failed_action_is_visible_and_rollback_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("VALIDATOR_ALLOWLIST", str(tmp_path / "none.yaml"))
    journal, result = run_experiment(write(tmp_path, False), context="nowhere", run_dir=tmp_path / "run")
    assert journal["status"] == "completed"  # the misleading top-level status...
    assert result.failed_actions == ["inject"]  # ...and what actually happened
    assert result.steady_state_before is True
    assert (tmp_path / "rolled-back").exists()
    assert json.loads((tmp_path / "run" / "chaos" / "journal.json").read_text())["experiment"]["title"] == "t"
    sys.modules.pop("fake_run_mod", None)


def test_failed_rollback_raises_exit_5(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("VALIDATOR_ALLOWLIST", str(tmp_path / "none.yaml"))
    with pytest.raises(RollbackFailed) as err:
        run_experiment(write(tmp_path, True), context="nowhere", run_dir=tmp_path / "run")
    assert err.value.exit_code == 5 and "undo" in str(err.value)
    sys.modules.pop("fake_run_mod", None)


def test_outcome_of_a_steady_state_failing_before_the_method() -> None:
    journal = {"status": "completed", "steady_states": {"before": {"steady_state_met": False}}, "run": []}
    result = outcome(journal)
    assert result.steady_state_before is False and result.steady_state_after is None
