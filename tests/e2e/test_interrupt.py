"""Ctrl-C (SIGINT) or SIGTERM in the middle of a run: the load stops, the fault is rolled back, the
evidence and the reports are still written, and the run exits 130."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.cluster import (
    BIN,
    ROOT,
    allow_platform,
    deploy_platform,
    faults,
    no_validator_marks,
    run_env,
)
from validator.run.preflight import QUIET_TIMEOUT_S


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_a_held_fault(sandbox: Any, tmp_path: Path, signum: signal.Signals) -> None:
    info = deploy_platform(sandbox)
    allowlist = allow_platform(sandbox, tmp_path / "allowlist.yaml", ["agents", "workflow-system"])
    run_dir = tmp_path / "interrupted"
    proc = subprocess.Popen(
        [
            str(BIN / "validator"),
            "run",
            "suites/on-demand.yaml",
            "--context",
            sandbox.context,
            "--experiment",
            "experiments/pod-eviction.json",
            "--at",
            "20s",
            "--output",
            str(run_dir),
        ],
        env=run_env(info, allowlist),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # a run first waits (up to QUIET_TIMEOUT_S) for workflows an earlier test left queued on the
        # simulated platform to drain, then settles and starts its load: the fault comes after that
        deadline = time.time() + QUIET_TIMEOUT_S + 120
        while time.time() < deadline:  # wait until the fault is injected (and held)
            path = run_dir / "chaos" / "faults.jsonl"
            if path.is_file() and any(line.get("phase") == "inject_start" for line in faults(run_dir)):
                break
            time.sleep(0.5)
        else:
            raise AssertionError("the fault never started")
        time.sleep(2)
        proc.send_signal(signum)
        out, _ = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out[-3000:]
    for part in (
        "manifest.json",
        "evidence/k8s.jsonl",
        "evidence/metrics.json",
        "load/locust_stats_history.csv",
        "summary.json",
        "junit.xml",
        "report.html",
    ):
        assert (run_dir / part).is_file(), part
    [journal_path] = (run_dir / "chaos").glob("journal-*.json")
    journal = json.loads(journal_path.read_text())
    assert journal["status"] == "interrupted", journal["status"]  # the signal landed while the fault was held
    assert journal["rollbacks"] and all(r["status"] == "succeeded" for r in journal["rollbacks"])
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["interrupted"] and manifest["window_final"]
    assert not no_validator_marks(sandbox)
