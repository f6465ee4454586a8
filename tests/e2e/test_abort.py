"""A run that stops itself: the platform breaks mid-run (its workflow API dies after the first
fault), the suite's abort_on rule (the load's error ratio) is met before the second fault, and the
run skips it, rolls back, records why, and ends fail with exit 1. Ground truth from outside the
validator: the process this test killed, and the cluster left unmarked."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.support.cluster import (
    BIN,
    ROOT,
    allow_platform,
    deploy_platform,
    faults,
    no_validator_marks,
    run_env,
    summary,
)
from validator.run.preflight import QUIET_TIMEOUT_S
from validator.sandbox import lifecycle
from validator.sandbox.local_processes import pid_alive, stop_process

SUITE = Path(__file__).resolve().parent / "abort" / "suite.yaml"


def test_a_run_stops_itself_when_the_platform_breaks(sandbox: Any, tmp_path: Path) -> None:
    info = deploy_platform(sandbox)
    allowlist = allow_platform(sandbox, tmp_path / "allowlist.yaml", ["agents", "workflow-system"])
    run_dir = tmp_path / "aborted"
    proc = subprocess.Popen(
        [str(BIN / "validator"), "run", str(SUITE), "--context", sandbox.context, "--output", str(run_dir)],
        env=run_env(info, allowlist),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.time() + QUIET_TIMEOUT_S + 120
        while not any(f.get("phase") == "inject_start" for f in faults(run_dir)):
            assert time.time() < deadline, "the first fault never started"
            assert proc.poll() is None, proc.communicate()[0][-3000:]
            time.sleep(0.5)
        # the platform breaks: its workflow submission API goes away for good
        platform = info.processes[lifecycle.SIMULATED_PLATFORM]
        stop_process(platform)
        assert not pid_alive(platform)
        out, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, out[-4000:]
    assert "abort: the load's error ratio is" in out

    doc = summary(run_dir)
    assert doc["verdict"] == "fail" and doc["aborted"].startswith("the load's error ratio is"), doc.get(
        "aborted"
    )
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["aborted"] == doc["aborted"]
    # the second fault never started: one injection, one experiment recorded, one journal
    assert [e["name"] for e in manifest["experiments"]] == ["first-eviction"]
    assert sum(f.get("phase") == "inject_start" for f in faults(run_dir)) == 1
    assert (run_dir / "chaos" / "journal-first-eviction.json").is_file()
    assert not (run_dir / "chaos" / "journal-second-eviction.json").exists()
    phases = [f["phase"] for f in faults(run_dir)]
    assert "rollback_end" in phases or "inject_end" in phases, phases
    junit = (run_dir / "junit.xml").read_text()
    assert 'name="aborted"' in junit
    assert not no_validator_marks(sandbox)
