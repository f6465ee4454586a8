"""The trends page in headless Chromium (no network, like the run report's test): every scope's chart
is drawn, the change point and the overview show, nothing logs an error or is fetched, and clicking a
point opens that night's report.

The click is a real one for plotly: mouse events at night 12's point's pixel position on the chart,
so plotly's own hover finds the point and its click emits plotly_click; window.open is replaced by a
recorder, so the page's handler and the run table it reads are what is tested."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.unit.report.test_report_browser import ERROR_HOOK, _chromium, _console_problems
from validator.report.trends_page import ChangeMark, TrendRun, TrendSeries, TrendsInput, write_trends_html

DAY = 86_400.0
T0 = 1_763_604_000.0

CLICK_PROBE = """<script>
window.__opened = [];
window.open = function (href) { window.__opened.push(href); return null; };
function __mouse(type, x, y) {
  var target = document.elementFromPoint(x, y);
  target.dispatchEvent(new MouseEvent(type, {clientX: x, clientY: y, bubbles: true, cancelable: true,
                                             view: window, button: 0, buttons: type === 'mouseup' ? 0 : 1}));
}
window.addEventListener('load', function () {
  setTimeout(function () {
    var el = document.getElementById('s0');
    el.scrollIntoView();
    var xa = el._fullLayout.xaxis, ya = el._fullLayout.yaxis, trace = el.data[0];
    var box = el.getBoundingClientRect();
    var x = box.left + xa._offset + xa.l2p(xa.d2c(trace.x[12]));
    var y = box.top + ya._offset + ya.l2p(ya.d2c(trace.y[12]));
    __mouse('mousemove', x, y);
    setTimeout(function () {
      __mouse('mousedown', x, y);
      __mouse('mouseup', x, y);
      setTimeout(function () {
        var out = document.createElement('pre');
        out.id = '__opened';
        out.textContent = JSON.stringify(window.__opened);
        document.body.appendChild(out);
      }, 200);
    }, 200);
  }, 400);
});
</script>"""


def _input(nights: int) -> TrendsInput:
    runs = tuple(
        TrendRun(
            run_id=f"night-{n:02d}",
            end=T0 + n * DAY,
            verdict="fail" if n == 5 else "pass",
            report_href=f"runs/night-{n:02d}/report.html",
        )
        for n in range(nights)
    )
    step: list[float | None] = [40.0 + n % 3 for n in range(20)] + [140.0 + n % 3 for n in range(nights - 20)]
    drain = TrendSeries(
        criterion="recovery_time",
        scope="fault=node-drain",
        unit="seconds",
        values=tuple(step),
        verdicts=("pass",) * nights,
        thresholds=({"max": 300.0},) * nights,
        trend="regressed",
        changes=(ChangeMark(index=20, before=41.0, after=141.0, pvalue=1e-9, worse=True),),
    )
    kill_values: list[float | None] = [350.0 if n == 5 else None if n == 7 else 30.0 for n in range(nights)]
    kill = TrendSeries(
        criterion="recovery_time",
        scope="fault=pod-kill",
        unit="seconds",
        values=tuple(kill_values),
        verdicts=tuple("fail" if n == 5 else "inconclusive" if n == 7 else "pass" for n in range(nights)),
        thresholds=({"max": 300.0},) * nights,
        trend="steady",
    )
    cpu = tuple(
        TrendSeries(
            criterion="cpu_utilisation",
            scope=f"agent=agent-{a}",
            unit="ratio",
            values=tuple(0.7 + 0.01 * ((n + a) % 4) for n in range(nights)),
            verdicts=("pass",) * nights,
            thresholds=({"min": 0.6, "max": 0.8},) * nights,
            trend="steady",
        )
        for a in range(4)
    )
    return TrendsInput(
        suite="nightly", history="reports/history.sqlite", runs=runs, series=(drain, kill, *cpu)
    )


@pytest.mark.parametrize("nights", [30, 200])  # a marker per night; a year's line without them
def test_trends_page_draws_every_chart_without_errors_and_a_click_opens_the_report(
    tmp_path: Path, nights: int
) -> None:
    page = write_trends_html(tmp_path / "trends.html", _input(nights))
    html = page.read_text(encoding="utf-8")
    probe = tmp_path / "trends-probe.html"
    probe.write_text(
        html.replace("<head>", "<head>\n" + ERROR_HOOK, 1).replace("</body>", CLICK_PROBE + "\n</body>", 1),
        encoding="utf-8",
    )
    done = _chromium(tmp_path, probe.as_uri(), "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    errors = re.search(r'<pre id="__console_errors">(.*?)</pre>', dom, re.DOTALL)
    assert errors is not None, "the error hook never reported: the page did not finish loading"
    assert errors.group(1) == "[]"
    assert _console_problems(done.stderr) == []
    # all 6 scope charts drawn by plotly, each with its SVG
    assert len(re.findall(r'data-drawn="1"', dom)) == 6
    assert len(re.findall(r'class="main-svg"', dom)) >= 6
    # the change point's label is drawn in the step's chart, the overview names the regression
    assert "regressed 41 seconds → 141 seconds" in dom
    assert re.search(r"fault=node-drain: 41(&nbsp;|\u00a0)seconds → 141(&nbsp;|\u00a0)seconds since", dom)
    # clicking night 12's point opens night 12's report
    opened = re.search(r'<pre id="__opened">(.*?)</pre>', dom, re.DOTALL)
    assert opened is not None
    assert opened.group(1) == '["runs/night-12/report.html"]'
