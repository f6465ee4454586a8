"""report.html in headless Chromium: it renders its charts, shows the verdict, and logs no errors.

Chromium runs with no network (every host name resolves to nothing), so a report that tried to
fetch a script or a font would log a failed load. Console errors are caught two ways: a hook
injected before the report's own scripts records `console.error` calls and uncaught errors into
the DOM (read back with --dump-dom), and Chromium's own log (--enable-logging=stderr) is searched
for "Uncaught" and failed loads.

Set VALIDATOR_UPDATE_SCREENSHOT=1 to refresh docs/report-screenshot.png from the same run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.support.synthetic_run import summary_and_evidence
from validator.report.html import write_report_html

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT = Path(__file__).resolve().parents[3] / "docs" / "report-screenshot.png"

ERROR_HOOK = """<script>
window.__errors = [];
(function () {
  var original = console.error;
  console.error = function () {
    window.__errors.push(Array.prototype.map.call(arguments, String).join(' '));
    return original.apply(console, arguments);
  };
  window.addEventListener('error', function (e) {
    window.__errors.push('uncaught: ' + (e.message || (e.target && (e.target.src || e.target.href)) || e));
  }, true);
  window.addEventListener('unhandledrejection', function (e) {
    window.__errors.push('rejection: ' + e.reason);
  });
  window.addEventListener('load', function () {
    setTimeout(function () {
      var out = document.createElement('pre');
      out.id = '__console_errors';
      out.textContent = JSON.stringify(window.__errors);
      document.body.appendChild(out);
    }, 500);
  });
})();
</script>"""


def _chromium(tmp_path: Path, url: str, *extra: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "chromium-profile"
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
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=10000",
        *extra,
        url,
    ]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def _console_problems(stderr: str) -> list[str]:
    return [
        line
        for line in stderr.splitlines()
        if ":CONSOLE" in line and re.search(r"Uncaught|Failed to load|net::ERR|Refused to", line)
    ]


def _rendered(tmp_path: Path) -> Path:
    summary, evidence = summary_and_evidence()
    return write_report_html(tmp_path / "run", summary, evidence)


def test_report_renders_in_chromium_without_console_errors_and_shows_verdict(tmp_path: Path) -> None:
    report = _rendered(tmp_path)
    html = report.read_text(encoding="utf-8")
    probe = tmp_path / "run" / "report-probe.html"
    probe.write_text(html.replace("<head>", "<head>\n" + ERROR_HOOK, 1), encoding="utf-8")

    done = _chromium(tmp_path, probe.as_uri(), "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    errors = re.search(r'<pre id="__console_errors">(.*?)</pre>', dom, re.DOTALL)
    assert errors is not None, "the error hook never reported: the page did not finish loading"
    assert errors.group(1) == "[]"
    assert _console_problems(done.stderr) == []
    # the verdict is in the DOM, and every chart was drawn by plotly (one SVG root each)
    assert re.search(r'id="verdict"[^>]*>FAIL<', dom)
    charts = len(re.findall(r'<div class="chart">', html))
    assert charts >= 3
    assert len(re.findall(r'class="main-svg"', dom)) >= charts
    assert "OOM kills" in dom
    # every trace type the report draws is in the inlined plotly.js bundle (one missing from it
    # leaves empty axes and no console error): the timeline's lines, the per-scope bars
    assert 'class="trace scatter' in dom
    assert 'class="trace bars' in dom


def test_chromium_probe_does_see_a_broken_page(tmp_path: Path) -> None:
    """The checks above are not blind: a page with a JS error and a remote script is caught."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<html><head>" + ERROR_HOOK + '<script src="https://cdn.example.invalid/x.js"></script></head>'
        '<body><div id="verdict">PASS</div>'
        '<script>console.error("boom"); notDefined();</script></body></html>',
        encoding="utf-8",
    )
    done = _chromium(tmp_path, bad.as_uri(), "--dump-dom")
    errors = re.search(r'<pre id="__console_errors">(.*?)</pre>', done.stdout, re.DOTALL)
    assert errors is not None
    assert "boom" in errors.group(1)
    assert "notDefined" in errors.group(1)
    assert any("Uncaught" in line for line in _console_problems(done.stderr))


def test_screenshot_of_a_realistic_run(tmp_path: Path) -> None:
    report = _rendered(tmp_path)
    shot = tmp_path / "report.png"
    done = _chromium(tmp_path, report.as_uri(), "--hide-scrollbars", "--window-size=1280,2300",
                     f"--screenshot={shot}")
    assert done.returncode == 0, done.stderr[-2000:]
    assert shot.stat().st_size > 50_000  # a page with charts, not a blank one
    if os.environ.get("VALIDATOR_UPDATE_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOT)


def test_report_prints_to_pdf(tmp_path: Path) -> None:
    """Printable: Chromium's print path lays it out on several pages with the charts drawn."""
    report = _rendered(tmp_path)
    pdf = tmp_path / "report.pdf"
    done = _chromium(tmp_path, report.as_uri(), "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    assert done.returncode == 0, done.stderr[-2000:]
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page\b", data))
    assert pages >= 2
    assert len(data) > 50_000  # charts and table, not a blank page
