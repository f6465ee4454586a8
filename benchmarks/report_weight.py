"""How heavy is one run's report.html, and how long does a browser take to show it?

For two runs of one hour, a demo-sized one (100 agent pods) and the 10,000-pod one, both built by
benchmarks/evaluate_10k.py's generator (the same run directory format `validator run` writes):

- evaluates the run and renders report.html (the time Python takes is recorded too);
- the page's size in bytes;
- the time headless Chromium (Debian's `chromium`) takes to open it from file:// and draw every
  chart, two ways, median of several repetitions:
  - in the page: milliseconds from navigation start to the moment every chart holds plotly's
    drawing, on the page's own clock, read through the DevTools protocol from a fresh browser
    each time (fresh profile: no cache, no compiled code carried over);
  - from outside: the wall time of `chromium --headless --dump-dom --virtual-time-budget=...` on
    the report less the same on a blank page (Chromium's own start and exit). The budget lets
    Chromium run until the page is idle and no longer; each repetition checks in the dumped DOM
    that every chart was drawn (plotly's `main-svg` roots).
- where the timeline starts on a 1280 px wide window, and how many rows come before it.

No network: every host name resolves to nothing, as in tests/unit/report/test_report_browser.py.

    .venv/bin/python benchmarks/report_weight.py                  # both runs, 5 repetitions
    .venv/bin/python benchmarks/report_weight.py --label before   # stored under that label

The stored "before" figures are of commit 94c0cd0's report code (full plotly.js inlined, the table
of every scope), measured with `PYTHONPATH=<that commit's src/> ... --label before` (git archive
94c0cd0 src | tar -x -C DIR): the import path then finds the old `validator` first.

"full_gzip" is the previous "after" (commit 89066aa: the full 4.8 MB plotly.js, gzip + base64);
"after" inlines the vendored basic bundle the same way, "basic_raw" the same bundle as it is:

    .venv/bin/python benchmarks/report_weight.py --repetitions 7 --label basic_raw --raw-plotly

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
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import websocket  # noqa: E402  (websocket-client, installed with the kubernetes client)
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


# Runs before the page's own scripts (DevTools' addScriptToEvaluateOnNewDocument): the moment, on the
# page's own clock (ms since navigation start), when every chart holds plotly's drawing.
DRAWN_PROBE = """(function () {
  function check() {
    var charts = document.querySelectorAll('div.chart > div[id]');
    var drawn = function (c) { return c.querySelector('.main-svg'); };
    if (charts.length && Array.prototype.every.call(charts, drawn)) {
      window.__drawnAt = performance.now();
      return;
    }
    setTimeout(check, 2);
  }
  document.addEventListener('DOMContentLoaded', check);
})();"""


def _in_page_ms(url: str, tmp: Path, timeout_s: float = 120.0) -> tuple[float, dict[str, float]]:
    """Milliseconds from navigation start to every chart drawn, read through the DevTools protocol
    from a fresh headless Chromium (fresh profile, so no cache or compiled code carries over), and
    the renderer's own counters then (Performance.getMetrics: CPU seconds of its main thread and of
    the whole process, seconds of script and of compiling it), which a loaded machine skews less."""
    profile = Path(tempfile.mkdtemp(prefix="profile-", dir=tmp))
    args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
            "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={profile}", "--window-size=1280,2000",
            "--remote-debugging-port=0", "--remote-allow-origins=*", "about:blank"]
    browser = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        assert browser.stderr is not None
        endpoint = ""
        for line in browser.stderr:
            found = re.search(r"DevTools listening on ws://([^/]+)/", line)
            if found:
                endpoint = found.group(1)
                break
        if not endpoint:
            raise RuntimeError("chromium did not open its DevTools endpoint")
        with urllib.request.urlopen(f"http://{endpoint}/json/list", timeout=30) as listing:
            page = next(t for t in json.load(listing) if t["type"] == "page")
        ws = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=timeout_s, suppress_origin=True
        )
        ids = iter(range(1, 1_000_000))

        def call(method: str, **params: Any) -> dict[str, Any]:
            n = next(ids)
            ws.send(json.dumps({"id": n, "method": method, "params": params}))
            while True:
                message = json.loads(ws.recv())
                if message.get("id") == n:
                    if "error" in message:
                        raise RuntimeError(f"{method}: {message['error']}")
                    return dict(message.get("result", {}))

        call("Page.enable")
        call("Performance.enable")
        call("Page.addScriptToEvaluateOnNewDocument", source=DRAWN_PROBE)
        call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            value = call("Runtime.evaluate", expression="window.__drawnAt || null", returnByValue=True)
            drawn = value.get("result", {}).get("value")
            if drawn is not None:
                metrics = {m["name"]: float(m["value"]) for m in call("Performance.getMetrics")["metrics"]}
                ws.close()
                return float(drawn), metrics
            time.sleep(0.05)
        raise RuntimeError(f"{url}: the charts were not drawn within {timeout_s:.0f} s")
    finally:
        browser.terminate()
        browser.wait(timeout=30)


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
        opened = [_in_page_ms(report.as_uri(), Path(tmp)) for _ in range(repetitions)]
        in_page = [ms for ms, _ in opened]
        counters = {name: [m.get(key, float("nan")) for _, m in opened]
                    for name, key in (("main_thread_cpu_s", "ThreadTime"), ("renderer_cpu_s", "ProcessTime"),
                                      ("script_s", "ScriptDuration"), ("compile_s", "V8CompileDuration"))}
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
        "in_page_drawn_ms_median": round(statistics.median(in_page)),
        "in_page_drawn_ms_all": [round(ms) for ms in in_page],
        **{f"{name}_median": round(statistics.median(values), 3) for name, values in counters.items()},
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
    parser.add_argument("--raw-plotly", action="store_true",
                        help="inline the plotly.js bundle as it is, not gzip + base64 (for comparison)")
    args = parser.parse_args(argv)
    if args.raw_plotly:
        import validator.report.html as report_html
        from validator.report.plotly_bundle import plotly_js_source

        source = plotly_js_source()
        if "</script" in source.lower():
            raise SystemExit("the bundle holds '</script': it cannot be inlined as it is")
        raw = source + "\nwindow.PlotlyReady = Promise.resolve(window.Plotly);\n"
        report_html.plotly_js = lambda: raw  # type: ignore[attr-defined,assignment]

    figures = {name: measure(name, RUNS[name], args.workdir, args.repetitions, args.budget_ms)
               for name in args.runs}
    version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, check=False)
    chromium = version.stdout.strip()
    stored: dict[str, Any] = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {}
    stored[args.label] = {**figures, "chromium": chromium, "python": sys.version.split()[0]}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(stored, indent=2) + "\n", encoding="utf-8")
    print(f"{'run':<6} {'report.html':>12} {'charts':>7} {'rows':>5} {'timeline at':>12} "
          f"{'python':>8} {'in page':>9} {'main CPU':>9} {'chromium':>9}")
    for name, f in figures.items():
        print(f"{name:<6} {f['report_html_bytes'] / 1e6:>9.2f} MB {f['charts']:>7} {f['criteria_rows']:>5} "
              f"{f['timeline_top_px']:>9} px {f['python_render_s']:>6.2f} s "
              f"{f['in_page_drawn_ms_median'] / 1000:>7.2f} s "
              f"{f['main_thread_cpu_s_median']:>7.2f} s "
              f"{f['chromium_open_and_draw_s']:>7.2f} s")
    print(f"in page: navigation start to every chart drawn; chromium: open and draw, median of "
          f"{args.repetitions}, less a blank page's "
          f"{figures[next(iter(figures))]['chromium_blank_page_s_median']:.2f} s; written: {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
