"""A year of nights backfilled into a fresh history, then its trends page: how long, how much memory,
how big a page.

    python benchmarks/history_backfill.py      (writes benchmarks/results/history_backfill.json)

Builds 365 synthetic nights x 60 criterion-scopes (6 criteria x 10 scopes) as run directories
(summary.json + manifest.json, the files `validator history import` reads), with noise, a few
failed and inconclusive nights, a missing night now and then, and a step in 3 series (so change
points show). Then runs the real CLI as two subprocesses, one after the other, as a nightly job
would: `validator history import --history H DIR...` (all 365 directories) and `validator history
report --history H`. Measured per subprocess: wall time, CPU time (user + system: what the work
costs, whatever else the machine is doing) and peak RSS (the child's own ru_maxrss,
from wait4), medians of REPEATS rounds on a fresh store each (the machine is shared), and the
fixed cost every CLI call pays (`validator history --help`). Then, in this process, where the
page's time goes (store read, detection, rendering). The page's size is measured whole and without
the inlined plotly.js.

The issue's targets: store + page under 5 s and 300 MiB, page under 2 MB (with the inlined plotly.js;
its figure without it is recorded too).
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from validator.commands.history import trends_input
from validator.history import HistoryStore
from validator.model import CriterionOutcome, Result, RunManifest, Summary, TimeWindow, Verdict
from validator.report.plotly_bundle import plotly_js
from validator.report.summary import write_summary_json
from validator.report.trends_page import render_trends_html
from validator.run_directory.manifest import write_manifest

RESULTS = Path(__file__).resolve().parent / "results" / "history_backfill.json"
NIGHTS = 365
REPEATS = 3
SCOPES_PER_CRITERION = 10
T0 = 1735783200.0  # 2025-01-02T02:00:00Z
DAY = 86_400.0

# criterion: (unit, threshold, typical value, noise sd, scope key)
CRITERIA: dict[str, tuple[str, dict[str, float], float, float, str]] = {
    "recovery_time": ("seconds", {"max": 300.0}, 40.0, 3.0, "fault"),
    "cpu_utilisation": ("ratio", {"min": 0.6, "max": 0.8}, 0.7, 0.02, "agent"),
    "pvc_usage": ("ratio", {"max": 0.9}, 0.55, 0.02, "pvc"),
    "error_rate": ("ratio", {"max": 0.01}, 0.002, 0.0005, "endpoint"),
    "scale_up_time": ("seconds", {"max": 120.0}, 45.0, 4.0, "hpa"),
    "memory_headroom": ("ratio", {"min": 0.2}, 0.35, 0.02, "agent"),
}
# (criterion, scope number): (first night after the step, step in noise sds)
STEPS = {("recovery_time", 0): (300, 8.0), ("cpu_utilisation", 3): (200, 6.0), ("pvc_usage", 7): (330, 6.0)}
INCONCLUSIVE_OFTEN = ("scale_up_time", 5)  # inconclusive on about a third of its nights


def _verdict(value: float, threshold: dict[str, float]) -> Verdict:
    if value > threshold.get("max", math.inf) or value < threshold.get("min", -math.inf):
        return Verdict.FAIL
    return Verdict.PASS


def _night(n: int, rng: random.Random) -> tuple[Summary, RunManifest]:
    window = TimeWindow(start=T0 + n * DAY, end=T0 + n * DAY + 1800)
    outcomes = []
    for criterion, (unit, threshold, typical, sd, key) in CRITERIA.items():
        results = []
        for s in range(SCOPES_PER_CRITERION):
            if rng.random() < 0.01:
                continue  # a missing night: this scope was not judged
            scope = {key: f"{key}-{s}"}
            inconclusive = rng.random() < (0.33 if (criterion, s) == INCONCLUSIVE_OFTEN else 0.01)
            if inconclusive:
                results.append(
                    Result(
                        criterion=criterion,
                        scope=scope,
                        verdict=Verdict.INCONCLUSIVE,
                        unit=unit,
                        threshold=threshold,
                        detail="no samples in the window",
                    )
                )
                continue
            value = typical + rng.gauss(0, sd)
            step = STEPS.get((criterion, s))
            if step is not None and n >= step[0]:
                value += step[1] * sd
            verdict = _verdict(value, threshold)
            results.append(
                Result(
                    criterion=criterion,
                    scope=scope,
                    verdict=verdict,
                    value=value,
                    unit=unit,
                    threshold=threshold,
                    detail=f"{value:.4g} {unit}",
                )
            )
        verdicts = {r.verdict for r in results}
        verdict = (
            Verdict.FAIL
            if Verdict.FAIL in verdicts
            else Verdict.INCONCLUSIVE
            if Verdict.INCONCLUSIVE in verdicts
            else Verdict.PASS
        )
        outcomes.append(CriterionOutcome(id=criterion, verdict=verdict, results=tuple(results)))
    overall = {o.verdict for o in outcomes}
    verdict = (
        Verdict.FAIL
        if Verdict.FAIL in overall
        else Verdict.INCONCLUSIVE
        if Verdict.INCONCLUSIVE in overall
        else Verdict.PASS
    )
    run_id = f"nightly-{n:03d}"
    summary = Summary(run_id=run_id, window=window, verdict=verdict, criteria=tuple(outcomes))
    return summary, RunManifest(run_id=run_id, window=window, suite="nightly", context="kwok-validator")


def _child(argv: list[str]) -> dict[str, Any]:
    """Run argv: its wall seconds, CPU seconds (user + system), peak RSS in MiB and output."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode()
    if process.returncode != 0:
        raise SystemExit(f"{argv[1:4]} exited {process.returncode}:\n{text[-3000:]}")
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_rss_mib": usage.ru_maxrss / 1024,  # KiB on Linux
        "output": text,
    }


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 2)


def _breakdown(history: Path, page_dir: Path) -> dict[str, float]:
    """Where the page's time goes, in this process: the store read (60 queries, or the one bulk
    read the page uses), the reads plus change-point detection, and the rendering."""
    store = HistoryStore(history)
    started = time.perf_counter()
    for criterion, scope in store.scopes("nightly"):
        store.series("nightly", criterion, scope)
    per_scope = time.perf_counter() - started
    started = time.perf_counter()
    store.all_series("nightly")
    bulk = time.perf_counter() - started
    started = time.perf_counter()
    data = trends_input(store, "nightly", page_dir=page_dir)
    read_and_detect = time.perf_counter() - started
    started = time.perf_counter()
    render_trends_html(data)
    render = time.perf_counter() - started
    return {
        "read_60_queries_seconds": round(per_scope, 3),
        "read_bulk_seconds": round(bulk, 3),
        "read_and_detect_seconds": round(read_and_detect, 3),
        "render_seconds": round(render, 3),
    }


def main() -> None:
    validator = shutil.which("validator", path=str(Path(sys.executable).parent)) or "validator"
    with tempfile.TemporaryDirectory(prefix="history-backfill-") as tmp:
        reports = Path(tmp) / "reports"
        rng = random.Random(12)
        started = time.perf_counter()
        dirs = []
        for n in range(NIGHTS):
            summary, manifest = _night(n, rng)
            run_dir = reports / summary.run_id
            write_manifest(run_dir, manifest)
            write_summary_json(run_dir, summary)
            if n % 30 == 0 or n == NIGHTS - 1:
                (run_dir / "report.html").write_text("<!DOCTYPE html><title>stand-in</title>\n")
            dirs.append(str(run_dir))
        fixtures = time.perf_counter() - started
        history = reports / "history.sqlite"
        load_before = os.getloadavg()[0]
        startup, imports, pages = [], [], []
        for _ in range(REPEATS):  # a fresh store each time; medians, since the machine is shared
            for stale in reports.glob("history.sqlite*"):
                stale.unlink()
            startup.append(_child([validator, "history", "--help"]))
            imports.append(_child([validator, "history", "import", "--history", str(history), *dirs]))
            pages.append(_child([validator, "history", "report", "--history", str(history)]))
        breakdown = _breakdown(history, reports)
        page = reports / "trends.html"
        size = page.stat().st_size
        bundle = len(plotly_js().encode())
        html = page.read_text(encoding="utf-8")
        data = json.loads(
            html.split('<script type="application/json" id="trends-data">', 1)[1].split("</script>", 1)[0]
        )
        found = {}
        scopes = sorted((c, s) for c in CRITERIA for s in range(SCOPES_PER_CRITERION))  # the page's order
        for n, entry in enumerate(data["series"]):
            if entry["x"]:
                found[f"{scopes[n][0]}/{scopes[n][1]}"] = [c[0] for c in entry["x"]]
    regressed = [
        f"{scopes[n][0]}/{scopes[n][1]}"
        for n, entry in enumerate(data["series"])
        if entry["x"] and entry["x"][-1][4]
    ]
    figures = {
        "nights": NIGHTS,
        "criterion_scopes": len(scopes),
        "repeats": REPEATS,
        "cli_startup": {
            "seconds": _median(startup, "seconds"),
            "cpu_seconds": _median(startup, "cpu_seconds"),
            "peak_rss_mib": round(max(r["peak_rss_mib"] for r in startup), 1),
        },
        "import": {
            "seconds": _median(imports, "seconds"),
            "cpu_seconds": _median(imports, "cpu_seconds"),
            "peak_rss_mib": round(max(r["peak_rss_mib"] for r in imports), 1),
        },
        "page": {
            "seconds": _median(pages, "seconds"),
            "cpu_seconds": _median(pages, "cpu_seconds"),
            "peak_rss_mib": round(max(r["peak_rss_mib"] for r in pages), 1),
        },
        "total_seconds": round(_median(imports, "seconds") + _median(pages, "seconds"), 2),
        "total_seconds_best": round(min(r["seconds"] for r in imports) + min(r["seconds"] for r in pages), 2),
        "total_cpu_seconds": round(_median(imports, "cpu_seconds") + _median(pages, "cpu_seconds"), 2),
        "peak_rss_mib": round(max(r["peak_rss_mib"] for r in imports + pages), 1),
        "page_breakdown_in_process": breakdown,
        "page_bytes": size,
        "page_bytes_without_plotly": size - bundle,
        "plotly_bundle_bytes": bundle,
        "steps_planted_at": {f"{c}/{s}": night for (c, s), (night, _) in STEPS.items()},
        "change_points_found_at": found,
        "latest_change_a_regression": regressed,
        "report_said": pages[-1]["output"].strip(),
        "fixture_seconds": round(fixtures, 1),
        "targets": {"total_seconds": 5, "peak_rss_mib": 300, "page_bytes": 2_000_000},
        "cpu_count": os.cpu_count(),
        "load_average_before": round(load_before, 2),  # the machine is shared: wall time includes waiting
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
