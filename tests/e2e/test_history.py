"""Night after night, on the sandbox: the nightly suite three times into one history, the platform
changed between the second and the third run, and the history flags the change at the right run,
naming the criterion and the scope (summary.json, junit.xml, `compare`, the trends page), while two
runs of the same platform flag nothing there.

The change is the cause this test creates: Cleo's CPU request halved (the failure matrix's
cpu_utilization overlay), read back from the apiserver before the third run. Nothing else changes
between runs 2 and 3, so no other criterion-scope is expected to move by the detector's margins;
the test prints what else was flagged, if anything, rather than assert the sandbox's noise away.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.cluster import BIN, ROOT, deploy_platform, run_nightly

CHANGED = Path(__file__).resolve().parent / "failure_matrix" / "cpu_utilization"


def _cleo_cpu_request(sandbox: Any) -> str:
    sts = sandbox.apps.read_namespaced_stateful_set("cleo", "agents")
    return str(sts.spec.template.spec.containers[0].resources.requests["cpu"])


def _not_passing(doc: dict[str, Any]) -> list[tuple[str, dict[str, str], str, str]]:
    """What kept a judged criterion from passing, for the failure message."""
    return [
        (c["id"], r["scope"], r["verdict"], r["detail"][:300])
        for c in doc.get("criteria", [])
        if not c.get("info")
        for r in c["results"]
        if r["verdict"] not in ("pass", "not_exercised")
    ]


def _regressions(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    block = doc.get("regressions") or {}
    return [(r["criterion"], r["scope"], r["started_run"]) for r in block.get("found", [])]


# three nightlies (~7 min each), each from a platform without an OOM-killed container (run_nightly),
# with room for the runs' own waits should an earlier night's OOM alert still fire (docs/run.md)
@pytest.mark.timeout(3600)
def test_the_history_flags_a_change_at_the_run_it_started(sandbox: Any, tmp_path: Path) -> None:
    nights: list[tuple[str, dict[str, Any]]] = []
    requests = []
    try:
        for n, overlay in enumerate(("testing", "testing", str(CHANGED)), start=1):
            proc, _, _, doc, _ = run_nightly(sandbox, tmp_path, overlay, name=f"night-{n}")
            requests.append(_cleo_cpu_request(sandbox))
            assert proc.returncode in (0, 1), (proc.stderr[-2000:], _not_passing(doc))
            nights.append((doc["run_id"], doc))
    finally:
        deploy_platform(sandbox, "testing")
    # the cause, as the cluster recorded it: the request changed before the third run only
    assert requests[0] == requests[1] != requests[2] == "500m", requests
    history = tmp_path / "history.sqlite"  # beside the run directories: the default
    assert history.is_file()
    (_, first), (_, second), (third_id, third) = nights
    print("regressions per night:", [_regressions(doc) for _, doc in nights])
    assert first["regressions"]["earlier_runs"] == 0 and "nothing to compare" in first["regressions"]["note"]
    assert second["regressions"]["earlier_runs"] == 1
    assert third["regressions"]["earlier_runs"] == 2 and third["regressions"]["policy"] == "warn"
    assert ("cpu_utilization", "agent=cleo") not in [(c, s) for c, s, _ in _regressions(second)]
    assert ("cpu_utilization", "agent=cleo", third_id) in _regressions(third), _regressions(third)
    found = next(r for r in third["regressions"]["found"] if r["scope"] == "agent=cleo")
    assert found["before"] < 0.8 < 1.2 < found["after"], found  # ~70% of its request -> ~140%
    junit = (tmp_path / "night-3" / "junit.xml").read_text()
    assert 'classname="regression.cpu_utilization" name="agent=cleo"' in junit
    # compare, the morning after: exit 1, the regression named with the run it started at
    compare = subprocess.run(
        [str(BIN / "validator"), "compare", third_id, "--history", str(history)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env={**os.environ, "COLUMNS": "250"},
    )
    assert compare.returncode == 1, compare.stdout + compare.stderr
    assert "regressed: cpu_utilization agent=cleo: " in compare.stdout, compare.stdout
    assert f"since {third_id}" in compare.stdout, compare.stdout
    # the trends page shows it: in the overview's row of cpu_utilization, linked to the third report
    page = tmp_path / "trends.html"
    written = subprocess.run(
        [str(BIN / "validator"), "history", "report", "--history", str(history), "--output", str(page)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env={**os.environ, "COLUMNS": "250"},
    )
    assert written.returncode == 0, written.stdout + written.stderr
    row = page.read_text().split('<tr data-criterion="cpu_utilization">', 1)[1].split("</tr>", 1)[0]
    assert "agent=cleo: " in row and f'<a href="night-3/report.html">{third_id}</a>' in row, row
