"""Rollbacks always run: a real `chaos run` of an experiment with our control and a fake fault (the
one thing faked: an injection we can interrupt at a known moment), interrupted by signals in each
phase."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

CHAOS = Path(sys.executable).parent / "chaos"

FAKE = """
import time
from pathlib import Path

def _mark(d, name):
    Path(d, name).write_text(str(time.time()))

def steady(marker_dir, slow=0):
    _mark(marker_dir, "steady")
    time.sleep(float(slow))
    return True

def inject(marker_dir, seconds=30):
    _mark(marker_dir, "injecting")
    time.sleep(float(seconds))
    _mark(marker_dir, "injected")
    return {"targets": ["node/fake-1"]}

def rollback(marker_dir, slow=0):
    _mark(marker_dir, "rollback-start")
    time.sleep(float(slow))
    _mark(marker_dir, "rollback-done")
    return {"targets": ["node/fake-1"]}
"""


def experiment(
    marker: Path, *, steady_slow: float = 0, inject_s: float = 30, rollback_slow: float = 0
) -> dict:
    def act(kind: str, name: str, func: str, args: dict) -> dict:
        return {
            "type": kind,
            "name": name,
            "provider": {"type": "python", "module": "fake_fault", "func": func, "arguments": args},
        }

    steady = act("probe", "steady", "steady", {"marker_dir": str(marker), "slow": steady_slow})
    steady["tolerance"] = True
    return {
        "version": "1.0.0",
        "title": "fake fault",
        "description": "signals",
        "extensions": [{"name": "validator", "experiment": "fake", "fault": "fake"}],
        "runtime": {"rollbacks": {"strategy": "always"}},
        "controls": [
            {"name": "validator", "provider": {"type": "python", "module": "validator.chaos.controls"}}
        ],
        "steady-state-hypothesis": {"title": "ok", "probes": [steady]},
        "method": [act("action", "inject-fake", "inject", {"marker_dir": str(marker), "seconds": inject_s})],
        "rollbacks": [
            act("action", "rollback-fake", "rollback", {"marker_dir": str(marker), "slow": rollback_slow})
        ],
    }


def start(tmp_path: Path, exp: dict) -> subprocess.Popen[str]:
    (tmp_path / "fake_fault.py").write_text(FAKE)
    path = tmp_path / "exp.json"
    path.write_text(json.dumps(exp))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VALIDATOR_")}
    env.update(
        PYTHONPATH=str(tmp_path),
        VALIDATOR_RUN_DIR=str(tmp_path / "run"),
        VALIDATOR_ALLOWLIST=str(tmp_path / "none.yaml"),
    )
    return subprocess.Popen(
        [str(CHAOS), "--no-log-file", "run", "--journal-path", str(tmp_path / "journal.json"), str(path)],
        cwd=tmp_path,
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def wait_for(path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


def phases(tmp_path: Path) -> list[tuple[str, str | None]]:
    lines = (tmp_path / "run" / "chaos" / "faults.jsonl").read_text().splitlines()
    return [(r["phase"], r.get("status")) for r in map(json.loads, lines)]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_signal_during_injection_runs_rollbacks(tmp_path: Path, signum: signal.Signals) -> None:
    proc = start(tmp_path, experiment(tmp_path))
    wait_for(tmp_path / "injecting")
    proc.send_signal(signum)
    out, _ = proc.communicate(timeout=60)
    assert (tmp_path / "rollback-done").exists(), out
    assert not (tmp_path / "injected").exists()
    assert phases(tmp_path) == [
        ("inject_start", None),
        ("inject_end", "failed"),
        ("rollback_start", None),
        ("rollback_end", "succeeded"),
    ], out
    assert json.loads((tmp_path / "journal.json").read_text())["status"] == "interrupted"


def test_signal_before_injection_still_rolls_back(tmp_path: Path) -> None:
    proc = start(tmp_path, experiment(tmp_path, steady_slow=30))
    wait_for(tmp_path / "steady")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert not (tmp_path / "injecting").exists()
    assert (tmp_path / "rollback-done").exists(), out


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=lambda s: s.name)
def test_signals_during_rollback_only_warn(tmp_path: Path, signum: signal.Signals) -> None:
    proc = start(tmp_path, experiment(tmp_path, inject_s=0, rollback_slow=2))
    wait_for(tmp_path / "rollback-start")
    proc.send_signal(signum)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)  # the second Ctrl-C
    out, _ = proc.communicate(timeout=60)
    assert (tmp_path / "rollback-done").exists(), out
    assert "during rollbacks" in out and "received again" in out
    assert phases(tmp_path)[-1] == ("rollback_end", "succeeded")


def test_success_runs_rollbacks(tmp_path: Path) -> None:
    proc = start(tmp_path, experiment(tmp_path, inject_s=0))
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert (tmp_path / "rollback-done").exists()
    assert [p for p, _ in phases(tmp_path)] == [
        "inject_start",
        "inject_end",
        "rollback_start",
        "rollback_end",
    ]
