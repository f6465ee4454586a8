"""`down`'s safety net finds the processes of its own sandbox, never those of a sandbox whose name
merely starts the same (two test workers run `validator-sandbox` and `validator-sandbox-gw1`; the
first one's `down` once stopped the second one's apiserver mid-run)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from validator.sandbox.local_processes import processes_under


@pytest.fixture
def sleepers(tmp_path: Path) -> Iterator[dict[str, int]]:
    ours = tmp_path / "validator-sandbox"
    args = {
        "inside": f"--config={ours}/kwok.yaml",
        "exact": f"--data-dir={ours}",
        "sibling": f"--config={tmp_path}/validator-sandbox-gw1/kwok.yaml",
        "sibling-exact": f"--data-dir={tmp_path}/validator-sandbox-gw1",
    }
    procs = {
        what: subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", arg])
        for what, arg in args.items()
    }
    try:
        for what, p in procs.items():  # until each has exec'd (a fresh fork still shows our cmdline)
            while args[what].encode() not in Path(f"/proc/{p.pid}/cmdline").read_bytes():
                time.sleep(0.01)
        yield {what: p.pid for what, p in procs.items()}
    finally:
        for p in procs.values():
            p.kill()
            p.wait()


def test_only_the_sandboxs_own_processes_are_found(tmp_path: Path, sleepers: dict[str, int]) -> None:
    found = {record.pid for record in processes_under(tmp_path / "validator-sandbox")}
    assert found == {sleepers["inside"], sleepers["exact"]}
