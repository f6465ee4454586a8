"""`validator history report`: run directories imported into a history become one trends page where
a step is a change point at the right night, a failed night is marked, and each night links to its
run's report (relative to the page)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.evidence import T0
from validator.cli import main
from validator.history import HistoryStore
from validator.model import CriterionOutcome, Result, RunManifest, Summary, TimeWindow, Verdict
from validator.report.summary import write_summary_json
from validator.run_directory.manifest import write_manifest

DAY = 86_400.0
DRAIN = [40, 42, 38, 41, 39, 40, 41, 39, 42, 40, 140, 138, 142, 139, 141, 140]  # a step at night 10
FAILED_NIGHT = 5
INCONCLUSIVE_NIGHT = 7
MISSING_NIGHT = 12


def _result(scope: str, value: float | None, verdict: Verdict) -> Result:
    return Result(
        criterion="recovery_time",
        scope={"fault": scope},
        verdict=verdict,
        value=value,
        unit="seconds",
        threshold={"max": 300.0},
        detail="recovered" if value is not None else "the fault was never seen to end",
    )


def _night(n: int) -> tuple[Summary, RunManifest]:
    window = TimeWindow(start=T0 + n * DAY, end=T0 + n * DAY + 600)
    results = [_result("node-drain", float(DRAIN[n]), Verdict.PASS)]
    if n == FAILED_NIGHT:
        results.append(_result("pod-kill", 350.0, Verdict.FAIL))
    elif n == INCONCLUSIVE_NIGHT:
        results.append(_result("pod-kill", None, Verdict.INCONCLUSIVE))
    elif n != MISSING_NIGHT:
        results.append(_result("pod-kill", 30.0 + n % 3, Verdict.PASS))
    verdict = Verdict.FAIL if n == FAILED_NIGHT else Verdict.PASS
    outcome = CriterionOutcome(id="recovery_time", verdict=verdict, results=tuple(results))
    summary = Summary(run_id=f"night-{n:02d}", window=window, verdict=verdict, criteria=(outcome,))
    return summary, RunManifest(run_id=summary.run_id, window=window, suite="nightly", context="kwok-x")


@pytest.fixture
def history(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """16 nights imported; every even night's directory holds a report.html."""
    dirs = []
    for n in range(len(DRAIN)):
        summary, manifest = _night(n)
        run_dir = tmp_path / "reports" / summary.run_id
        write_manifest(run_dir, manifest)
        write_summary_json(run_dir, summary)
        if n % 2 == 0:
            (run_dir / "report.html").write_text("<!DOCTYPE html><title>run</title>", encoding="utf-8")
        dirs.append(str(run_dir))
    path = tmp_path / "reports" / "history.sqlite"
    assert main(["history", "import", "--history", str(path), *dirs]) == 0
    capsys.readouterr()
    return path


def page_data(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="trends-data">(.*?)</script>', html, re.DOTALL)
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def test_the_page_marks_the_step_failed_and_inconclusive_nights_and_links_the_reports(
    history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["history", "report", "--history", str(history)]) == 0
    page = history.parent / "trends.html"  # beside the history by default
    assert f"trends page: {page} (16 nights, 2 criterion-scopes, 1 regressed)" in capsys.readouterr().out
    html = page.read_text(encoding="utf-8")
    data = page_data(html)
    assert [r[0] for r in data["runs"]] == [f"night-{n:02d}" for n in range(16)]
    # each night links to its run's report, relative to the page; a run without one links nowhere
    assert data["runs"][0][3] == "night-00/report.html"
    assert data["runs"][10][3] == "night-10/report.html"
    assert data["runs"][1][3] == ""
    drain, kill = data["series"]  # criterion, then scope order: fault=node-drain, fault=pod-kill
    assert [c[0] for c in drain["x"]] == [10]  # the change point at the first night after the step
    assert drain["x"][0][4] == 1  # the bad way: a regression
    assert kill["k"][FAILED_NIGHT] == "f" and kill["v"][FAILED_NIGHT] == 350.0
    assert kill["k"][INCONCLUSIVE_NIGHT] == "i" and kill["v"][INCONCLUSIVE_NIGHT] is None
    assert kill["k"][MISSING_NIGHT] == "-"
    assert kill["k"].count("p") == 13
    assert drain["b"] == [[0, None, 300.0]]
    # the overview names the regression, where it started (linked) and the failed night
    overview = html.split('<table id="overview">', 1)[1].split("</table>", 1)[0]
    assert re.search(
        r"fault=node-drain: 40\.2\u00a0seconds → 140\u00a0seconds since\s+"
        r'<a href="night-10/report.html">night-10</a>',
        overview,
    )
    assert '<td class="num failed">1</td>' in overview
    assert '<td class="num passed">88\u00a0% (14)</td>' in overview  # 14 of 16 nights: all but 5 and 7
    assert html.count('<span class="pill regressed">') == 1


def test_only_the_latest_nights_and_another_output(history: Path, tmp_path: Path) -> None:
    out = tmp_path / "pages" / "year.html"
    assert main(["history", "report", "--history", str(history), "--nights", "8", "--output", str(out)]) == 0
    data = page_data(out.read_text(encoding="utf-8"))
    assert [r[0] for r in data["runs"]] == [f"night-{n:02d}" for n in range(8, 16)]
    assert data["runs"][0][3] == "../reports/night-08/report.html"  # relative from the page's folder
    assert data["series"][0]["x"][0][0] == 2  # night-10 is the third night shown
    assert "8 nights (the latest 8)" in out.read_text(encoding="utf-8")


def test_a_suite_with_no_runs_or_a_missing_history_is_an_error(history: Path, tmp_path: Path) -> None:
    assert main(["history", "report", "--history", str(history), "--suite", "weekly"]) == 2
    assert main(["history", "report", "--history", str(tmp_path / "nowhere.sqlite")]) == 2
    assert not (tmp_path / "trends.html").exists()


def test_the_bulk_read_gives_every_scope_what_series_gives_it(history: Path) -> None:
    store = HistoryStore(history)
    bulk = store.all_series("nightly")
    assert list(bulk) == store.scopes("nightly")
    for (criterion, scope), points in bulk.items():
        assert points == store.series("nightly", criterion, scope)
    assert bulk[("recovery_time", "fault=pod-kill")][MISSING_NIGHT] is None
    assert store.all_series("weekly") == {}
