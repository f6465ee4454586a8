"""How heavy is one run's report.html, and how long does a browser take to show it?

For two runs of one hour, a demo-sized one (100 agent pods) and the 10,000-pod one, both built by
benchmarks/evaluate_10k.py's generator (the same run directory format `validator run` writes):

- evaluates the run and renders report.html (the time Python takes is recorded too);
- the page's size in bytes;
- the time headless Chromium (Debian's `chromium`) takes to open it from file:// and draw every
  chart: the wall time of `chromium --headless --dump-dom --virtual-time-budget=...` on the
  report minus the same on a blank page (Chromium's own start and exit), median of several
  repetitions. The budget lets Chromium run until the page is idle (every script done, every chart
  drawn) and no longer; each repetition checks in the dumped DOM that every chart was drawn
  (plotly's `main-svg` roots), so a page that gave up early cannot pass for a fast one.

No network: every host name resolves to nothing, as in tests/unit/report/test_report_browser.py.

    .venv/bin/python benchmarks/report_weight.py                  # both runs, 5 repetitions
    .venv/bin/python benchmarks/report_weight.py --label before   # stored under that label

Prints a table and merges its figures into benchmarks/results/report_weight.json under the label
("after" by default), so a before/after pair lives in one file.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from evaluate_10k import generate  # noqa: E402  (the 10,000-pod run's builder, reused)

RESULTS = HERE / "results" / "report_weight.json"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
RUNS = {"demo": 100, "10k": 10_000}
BLANK = "<!DOCTYPE html><html><head><title>blank</title></head><body><p>blank</p></body></html>"
# Injected into a copy of the page (never the timed one): where the timeline chart starts, in CSS px.
WHERE_IS_THE_TIMELINE = """<script>
window.addEventListener('load', function () {
  setTimeout(function () {
    var chart = document.getElementById('timeline');
    var out = document.createElement('pre');
    out.id = '__timeline_top';
    out.textContent = chart ? String(Math.round(chart.getBoundingClientRect().top + window.scrollY)) : '-1';
    document.body.appendChild(out);
  }, 1000);
});
</script>"""


def _chromium(profile: Path, url: str, budget_ms: int) -> tuple[float, str]:
    """Wall time of one headless Chromium that opens `url`, runs it until idle, and dumps the DOM."""
    args = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-extensions",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={profile}",
        "--window-size=1280,2000",
        f"--virtual-time-budget={budget_ms}",
        "--dump-dom",
        url,
    ]
    t0 = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"chromium exited {done.returncode}: {done.stderr[-2000:]}")
    return elapsed, done.stdout


def _report(run_dir: Path, out_dir: Path) -> tuple[Path, float, str]:
    from validator.criteria.registry import build_specs, evaluate_all
    from validator.report.html import write_report_html
    from validator.run_directory import load_run_directory

    evidence = load_run_directory(run_dir)
    summary = evaluate_all(build_specs(evidence.manifest.criteria), evidence)
    t0 = time.perf_counter()
    path = write_report_html(out_dir, summary, evidence)
    return path, time.perf_counter() - t0, summary.verdict.value


def measure(name: str, pods: int, workdir: Path, repetitions: int, budget_ms: int) -> dict[str, Any]:
    run_dir = workdir / f"run-{pods}"
    if not (run_dir / "generated.json").is_file():
        t = time.perf_counter()
        generate(run_dir, pods)
        print(f"generated {run_dir} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    report, render_s, verdict = _report(run_dir, workdir / f"out-{name}")
    html = report.read_text(encoding="utf-8")
    charts = len(re.findall(r'<div class="chart"', html))
    blank = workdir / "blank.html"
    blank.write_text(BLANK, encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="report-weight-") as tmp:
        profile = Path(tmp) / "profile"
        _chromium(profile, blank.as_uri(), budget_ms)  # the profile's first start is slower: not counted
        blank_s: list[float] = []
        page_s: list[float] = []
        drawn = 0
        for _ in range(repetitions):
            blank_s.append(_chromium(profile, blank.as_uri(), budget_ms)[0])
            elapsed, dom = _chromium(profile, report.as_uri(), budget_ms)
            drawn = len(re.findall(r'class="main-svg"', dom))
            if drawn < charts:
                raise RuntimeError(f"{report}: {drawn} plotly roots drawn for {charts} charts: not rendered")
            page_s.append(elapsed)
        probe = report.with_name("report-probe.html")
        probe.write_text(html.replace("<head>", "<head>" + WHERE_IS_THE_TIMELINE, 1), encoding="utf-8")
        dom = _chromium(profile, probe.as_uri(), budget_ms)[1]
        found = re.search(r'<pre id="__timeline_top">(-?\d+)</pre>', dom)
        timeline_top = int(found.group(1)) if found else -1
    base = statistics.median(blank_s)
    return {
        "pods": pods,
        "report_html_bytes": report.stat().st_size,
        "charts": charts,
        "criteria_rows": len(re.findall(r"<tr[^>]*data-criterion=", html)),
        "timeline_top_px": timeline_top,
        "python_render_s": round(render_s, 3),
        "chromium_open_and_draw_s": round(statistics.median(page_s) - base, 3),
        "chromium_wall_s_median": round(statistics.median(page_s), 3),
        "chromium_blank_page_s_median": round(base, 3),
        "chromium_wall_s_all": [round(s, 3) for s in page_s],
        "repetitions": repetitions,
        "verdict": verdict,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--label", default="after", help="the key these figures are stored under")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--budget-ms", type=int, default=60_000, help="Chromium's virtual time budget")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/validator-bench-report-weight"))
    parser.add_argument("--runs", nargs="+", choices=sorted(RUNS), default=list(RUNS))
    args = parser.parse_args(argv)

    figures = {name: measure(name, RUNS[name], args.workdir, args.repetitions, args.budget_ms)
               for name in args.runs}
    version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, check=False)
    chromium = version.stdout.strip()
    stored: dict[str, Any] = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {}
    stored[args.label] = {**figures, "chromium": chromium, "python": sys.version.split()[0]}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(stored, indent=2) + "\n", encoding="utf-8")
    print(f"{'run':<6} {'report.html':>12} {'charts':>7} {'rows':>5} {'timeline at':>12} "
          f"{'python':>8} {'chromium':>9}")
    for name, f in figures.items():
        print(f"{name:<6} {f['report_html_bytes'] / 1e6:>9.2f} MB {f['charts']:>7} {f['criteria_rows']:>5} "
              f"{f['timeline_top_px']:>9} px {f['python_render_s']:>6.2f} s "
              f"{f['chromium_open_and_draw_s']:>7.2f} s")
    print(f"chromium: open and draw, median of {args.repetitions}, less a blank page's "
          f"{figures[next(iter(figures))]['chromium_blank_page_s_median']:.2f} s; written: {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
