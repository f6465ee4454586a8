"""Every experiment passes `chaos validate`, uses our control, and plays rollbacks always."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.json"))
CHAOS = Path(sys.executable).parent / "chaos"


def test_the_five_experiments_exist() -> None:
    assert {p.stem for p in EXPERIMENTS} >= {
        "node-drain",
        "memory-pressure",
        "pod-eviction",
        "controller-failure",
        "node-failure",
    }


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_chaos_validate(path: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VALIDATOR_")}
    proc = subprocess.run(
        [str(CHAOS), "--no-log-file", "validate", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_shape(path: Path) -> None:
    exp = json.loads(path.read_text())
    assert exp["runtime"]["rollbacks"]["strategy"] == "always"
    assert any(c["provider"]["module"] == "validator.chaos.controls" for c in exp["controls"])
    assert exp["steady-state-hypothesis"]["probes"] and exp["method"] and exp["rollbacks"]
    assert exp["configuration"]["validator_context"]["default"] == ""  # never a current-context fallback
    for act in exp["method"] + exp["rollbacks"]:
        module = act["provider"]["module"]
        assert module.startswith("validator.chaos."), f"{act['name']} bypasses the safety gate"
        assert not (module == "chaosk8s.pod.actions" and act["provider"]["func"] == "terminate_pods")
