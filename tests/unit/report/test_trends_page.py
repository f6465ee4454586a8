"""The trends page from plain data: the overview's counts, the chart data each scope's chart is drawn
from (verdict letters, bands, change points, the shared run table), redaction, and its size for a
year of nights."""

from __future__ import annotations

import json
import re
from typing import Any

from validator.report.plotly_bundle import plotly_js
from validator.report.trends_page import (
    INCONCLUSIVE_LIMIT,
    ChangeMark,
    TrendRun,
    TrendSeries,
    TrendsInput,
    chart_data,
    overview,
    render_trends_html,
)

DAY = 86_400.0
T0 = 1_763_604_000.0


def runs(n: int) -> tuple[TrendRun, ...]:
    return tuple(
        TrendRun(
            run_id=f"night-{i:02d}",
            end=T0 + i * DAY,
            verdict="pass",
            report_href=f"night-{i:02d}/report.html",
        )
        for i in range(n)
    )


def series(
    scope: str,
    verdicts: list[str | None],
    *,
    criterion: str = "recovery_time",
    values: list[float | None] | None = None,
    threshold: dict[str, float] | None = None,
    trend: str = "steady",
    changes: tuple[ChangeMark, ...] = (),
) -> TrendSeries:
    if values is None:
        values = [None if v in (None, "inconclusive") else 40.0 for v in verdicts]
    band = threshold if threshold is not None else {"max": 300.0}
    return TrendSeries(
        criterion=criterion,
        scope=scope,
        unit="seconds",
        values=tuple(values),
        verdicts=tuple(verdicts),
        thresholds=tuple(None if v is None else band for v in verdicts),
        trend=trend,
        changes=changes,
    )


def page_data(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="trends-data">(.*?)</script>', html, re.DOTALL)
    assert found is not None
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def test_overview_counts_passed_nights_failures_regressions_and_too_often_inconclusive() -> None:
    step = ChangeMark(index=3, before=40.0, after=140.0, pvalue=1e-6, worse=True)
    # 5 nights; criterion recovery_time has two scopes
    a = series("fault=drain", ["pass", "pass", "fail", "pass", "pass"], trend="regressed", changes=(step,))
    b = series("fault=kill", ["pass", "inconclusive", "pass", "inconclusive", None])  # 2 of 4: too often
    c = series(
        "agent=rex", ["pass", "pass", "pass", "pass", "inconclusive"], criterion="cpu_utilisation"
    )  # 1 of 5
    data = TrendsInput(suite="nightly", history="h.sqlite", runs=runs(5), series=(a, b, c))
    by_id = {o.criterion: o for o in overview(data)}
    recovery = by_id["recovery_time"]
    assert recovery.nights_judged == 5
    assert recovery.nights_failed == 1  # night 2
    assert recovery.nights_passed == 2  # nights 0 and 4 (night 4: only the drain judged, and it passed)
    assert recovery.passed_share == 2 / 5
    assert [(r.scope, r.since_run, r.since_href) for r in recovery.regressed] == [
        ("fault=drain", "night-03", "night-03/report.html")
    ]
    assert recovery.too_often_inconclusive == (("fault=kill", 0.5),)
    cpu = by_id["cpu_utilisation"]
    assert cpu.nights_passed == 4 and cpu.nights_failed == 0 and cpu.regressed == ()
    assert INCONCLUSIVE_LIMIT >= 1 / 5 and cpu.too_often_inconclusive == ()  # at the limit is not "too often"


def test_an_improvement_or_an_older_regression_is_not_listed_as_regressed() -> None:
    worse = ChangeMark(index=1, before=40.0, after=140.0, pvalue=1e-6, worse=True)
    better = ChangeMark(index=3, before=140.0, after=40.0, pvalue=1e-6, worse=False)
    healed = series("fault=drain", ["pass"] * 5, trend="improved", changes=(worse, better))
    data = TrendsInput(suite="nightly", history="h.sqlite", runs=runs(5), series=(healed,))
    assert overview(data)[0].regressed == ()


def test_chart_data_marks_each_night_its_band_changes_and_change_points() -> None:
    verdicts: list[str | None] = ["pass", "fail", None, "inconclusive", "not_exercised", "pass"]
    values: list[float | None] = [40.123456, 350.0, None, None, None, 41.0]
    s = TrendSeries(
        criterion="recovery_time",
        scope="fault=drain",
        unit="seconds",
        values=tuple(values),
        verdicts=tuple(verdicts),
        thresholds=({"max": 300.0}, {"max": 300.0}, None, {"max": 300.0}, {"max": 200.0}, {"max": 200.0}),
        trend="regressed",
        changes=(ChangeMark(index=1, before=40.0, after=350.0, pvalue=0.000123, worse=True),),
    )
    data = chart_data(TrendsInput(suite="nightly", history="h", runs=runs(6), series=(s,)))
    assert [r[0] for r in data["runs"]] == [f"night-{i:02d}" for i in range(6)]
    assert data["runs"][0][3] == "night-00/report.html"
    entry = data["series"][0]
    assert entry["k"] == "pf-inp"  # one letter per night; "-" a night that did not judge it
    assert entry["v"] == [40.12, 350.0, None, None, None, 41.0]  # 4 significant digits
    assert entry["b"] == [[0, None, 300.0], [4, None, 200.0]]  # a new segment where the limit changed
    assert entry["x"] == [[1, 40.0, 350.0, "p=0.00012", 1]]


def test_bands_of_two_sided_and_equals_thresholds() -> None:
    two = series("agent=rex", ["pass", "pass"], threshold={"min": 0.6, "max": 0.8})
    exact = series("alert=x", ["pass", "pass"], threshold={"equals": 0.0})
    below = series("pvc=a", ["pass", "pass"], threshold={"below": 0.9})
    data = chart_data(TrendsInput(suite="s", history="h", runs=runs(2), series=(two, exact, below)))
    assert [e["b"] for e in data["series"]] == [[[0, 0.6, 0.8]], [[0, 0.0, 0.0]], [[0, None, 0.9]]]


def test_the_page_shows_the_overview_and_one_chart_per_scope_under_its_criterion() -> None:
    step = ChangeMark(index=3, before=40.0, after=140.0, pvalue=1e-6, worse=True)
    a = series("fault=drain", ["pass", "pass", "fail", "pass"], trend="regressed", changes=(step,))
    b = series("agent=rex", ["pass"] * 4, criterion="cpu_utilisation")
    html = render_trends_html(TrendsInput(suite="nightly", history="h.sqlite", runs=runs(4), series=(a, b)))
    assert '<script type="application/json" id="trends-data">' in html
    assert len(re.findall(r'class="plot" id="s\d+" data-series="\d+"', html)) == 2
    overview_table = html.split('<table id="overview">', 1)[1].split("</table>", 1)[0]
    assert re.search(
        r"fault=drain: 40\u00a0seconds → 140\u00a0seconds since\s+"
        r'<a href="night-03/report.html">night-03</a>',
        overview_table,
    )
    assert "regressed (1)" in overview_table
    assert (
        html.index('id="c-1"') < html.index("<h3>fault=drain") < html.index('id="c-2"')
    )  # grouped by criterion
    assert "4 nights" in html and "4 of 4 runs passed" in html


def test_text_from_runs_is_redacted_and_cannot_break_out_of_the_script() -> None:
    s = series("url=https://admin:hunter2@prom.example/</script><script>alert(1)//", ["pass"])
    secret_run = TrendRun(
        run_id="night-00", end=T0, verdict="pass", report_href="../token=s3cr3tvalue/report.html"
    )
    html = render_trends_html(TrendsInput(suite="nightly", history="h", runs=(secret_run,), series=(s,)))
    assert "hunter2" not in html
    assert "s3cr3tvalue" not in html
    assert "</script><script>alert(1)" not in html
    assert page_data(html)["runs"][0][0] == "night-00"


def test_a_year_of_sixty_scopes_stays_under_two_megabytes_with_plotly() -> None:
    nights = runs(365)
    many = tuple(
        series(
            f"agent=agent-{n}",
            ["pass"] * 364 + ["fail"],
            criterion=f"criterion_{n // 10}",
            values=[40.0 + (i % 17) * 0.123456 for i in range(365)],
        )
        for n in range(60)
    )
    html = render_trends_html(TrendsInput(suite="nightly", history="h", runs=nights, series=many))
    assert plotly_js() in html
    assert len(html.encode()) < 2_000_000
    assert len(page_data(html)["series"]) == 60


def test_a_step_is_said_to_be_one_not_given_a_p_value() -> None:
    step = ChangeMark(index=2, before=0.7, after=1.4, pvalue=0.0, worse=True, method="step")
    assert step.how == "a step on the latest night"
    assert ChangeMark(index=2, before=0.7, after=1.4, pvalue=2e-5, worse=True).how == "p=2e-05"
