"""trends.html: the history's one offline page, night after night (`validator history report`).

Rendering only, from plain data (`TrendsInput`): the commands layer reads the history store and runs
the change-point detector, this module never touches either. The page holds, top to bottom,

1. a resilience overview per criterion: the share of nights it passed (every scope judged that
   night passed), the scopes whose latest trend is a regression and the run where it started, and
   the scopes inconclusive too often (more than INCONCLUSIVE_LIMIT of the nights that judged them);
2. per criterion, one small chart per scope: the value over the nights, its band (the threshold
   recorded each night, drawn per stretch of nights it held), failed and inconclusive nights marked,
   detected change points as vertical lines; clicking a point opens that run's report.html.

Size: the nights are one shared run table (id, time, verdict, link) and each scope's series is
an array of rounded values, a string of one verdict letter per night and its threshold changes;
the charts are built in the browser from that. 365 nights x 60 scopes stay a few hundred kB
besides plotly.js (benchmarks/history_backfill.py measures it). Every string from the runs goes
through `validator.redaction` first.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from validator.model import format_rfc3339
from validator.redaction import redact_text
from validator.report.plotly_bundle import plotly_js

# A scope is "inconclusive too often" when more than this share of the nights that judged it were
# inconclusive: one night in five means its evidence is not reliable enough to trust its passes.
INCONCLUSIVE_LIMIT = 0.2
SIGNIFICANT_DIGITS = 4  # values on the page; the store keeps them whole

_VERDICT_LETTER = {"pass": "p", "fail": "f", "inconclusive": "i", "not_exercised": "n"}
# small multiples: no mode bar over the change-point labels; drag zooms, a double click resets
_PLOT_CONFIG = {"displayModeBar": False, "responsive": True, "showLink": False}

_ENV = Environment(
    loader=PackageLoader("validator.report", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html", "j2", "html.j2"), default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


# -- the input: plain data ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class TrendRun:
    """One night (a run of the suite), in window order."""

    run_id: str
    end: float  # window end, epoch seconds
    verdict: str
    report_href: str = ""  # its report.html, relative to the page where possible; "" when it has none


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeMark:
    """A detected change point: `index` is the first night after the change (into TrendsInput.runs)."""

    index: int
    before: float
    after: float
    pvalue: float
    worse: bool
    method: str = "change point"  # or "step": the latest night against the ones before it

    @property
    def how(self) -> str:
        return "a step on the latest night" if self.method == "step" else f"p={self.pvalue:.2g}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrendSeries:
    """One criterion and scope over the nights: one entry per run in TrendsInput.runs (None: the
    night did not judge it)."""

    criterion: str
    scope: str
    unit: str
    values: tuple[float | None, ...]
    verdicts: tuple[str | None, ...]
    thresholds: tuple[Mapping[str, float] | None, ...]
    trend: str  # steady, improved, regressed, inconclusive (validator.history.Trend's values)
    changes: tuple[ChangeMark, ...] = ()
    reason: str = ""  # why the trend is inconclusive


@dataclass(frozen=True, slots=True, kw_only=True)
class TrendsInput:
    suite: str
    history: str  # the history file, as the user named it
    runs: tuple[TrendRun, ...]
    series: tuple[TrendSeries, ...]
    nights_limit: int | None = None  # --nights, when the page shows only the latest ones


# -- the overview ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Regression:
    scope: str
    since_run: str
    since_href: str
    since_end: float
    before: float
    after: float
    how: str  # "p=1e-05" for a change point, or "a step on the latest night"


@dataclass(frozen=True, slots=True, kw_only=True)
class CriterionOverview:
    criterion: str
    unit: str
    scopes: int
    nights_judged: int
    nights_passed: int
    nights_failed: int
    regressed: tuple[Regression, ...] = ()
    too_often_inconclusive: tuple[tuple[str, float], ...] = field(default=())  # (scope, share)

    @property
    def passed_share(self) -> float | None:
        return self.nights_passed / self.nights_judged if self.nights_judged else None


def overview(data: TrendsInput) -> list[CriterionOverview]:
    """Per criterion (in the order the series come): how often it passed, what regressed, what is
    inconclusive too often. A night passed a criterion when it judged at least one scope of it and
    every judged scope passed (a scope not exercised that night neither passes nor fails it)."""
    by_criterion: dict[str, list[TrendSeries]] = {}
    for s in data.series:
        by_criterion.setdefault(s.criterion, []).append(s)
    out: list[CriterionOverview] = []
    nights = len(data.runs)
    for criterion, series in by_criterion.items():
        judged = passed = failed = 0
        for n in range(nights):
            verdicts = [s.verdicts[n] for s in series if s.verdicts[n] is not None]
            if not verdicts:
                continue
            judged += 1
            failed += "fail" in verdicts
            counted = [v for v in verdicts if v != "not_exercised"]
            passed += bool(counted) and all(v == "pass" for v in counted)
        regressed = []
        inconclusive = []
        for s in series:
            latest = s.changes[-1] if s.changes else None
            if s.trend == "regressed" and latest is not None:
                run = data.runs[latest.index]
                regressed.append(
                    Regression(
                        scope=s.scope,
                        since_run=run.run_id,
                        since_href=run.report_href,
                        since_end=run.end,
                        before=latest.before,
                        after=latest.after,
                        how=latest.how,
                    )
                )
            seen = [v for v in s.verdicts if v is not None]
            share = sum(v == "inconclusive" for v in seen) / len(seen) if seen else 0.0
            if share > INCONCLUSIVE_LIMIT:
                inconclusive.append((s.scope, share))
        out.append(
            CriterionOverview(
                criterion=criterion,
                unit=series[0].unit,
                scopes=len(series),
                nights_judged=judged,
                nights_passed=passed,
                nights_failed=failed,
                regressed=tuple(regressed),
                too_often_inconclusive=tuple(inconclusive),
            )
        )
    return out


# -- the compact chart data -----------------------------------------------------------------------


def _rounded(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


def _band(threshold: Mapping[str, float] | None) -> tuple[float | None, float | None]:
    """The band a threshold draws: its lower and upper edge (None: open on that side)."""
    if not threshold:
        return None, None
    low = threshold.get("min")
    high = threshold.get("max", threshold.get("below"))
    if "equals" in threshold:
        low = high = threshold["equals"]
    return _rounded(low), _rounded(high)


def _band_segments(thresholds: Sequence[Mapping[str, float] | None]) -> list[list[float | None]]:
    """[[first night, low, high], ...]: a new segment wherever the recorded band changes; nights that
    did not judge the scope keep the band before them."""
    segments: list[list[float | None]] = []
    current: tuple[float | None, float | None] | None = None
    for n, threshold in enumerate(thresholds):
        if threshold is None:
            continue
        band = _band(threshold)
        if band != current:
            segments.append([n, *band])
            current = band
    return segments


def _iso_minutes(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M")


def chart_data(data: TrendsInput) -> dict[str, Any]:
    """What the page's script draws from: the shared run table and one compact entry per series
    (redacted; `s` is the series' position in TrendsInput.series and its chart's id)."""
    runs = [
        [
            redact_text(r.run_id),
            _iso_minutes(r.end),
            _VERDICT_LETTER.get(r.verdict, "-"),
            redact_text(r.report_href),
        ]
        for r in data.runs
    ]
    series = []
    for s in data.series:
        series.append(
            {
                "u": s.unit,
                "v": [_rounded(v) for v in s.values],
                "k": "".join("-" if v is None else _VERDICT_LETTER.get(v, "-") for v in s.verdicts),
                "b": _band_segments(s.thresholds),
                "x": [
                    [c.index, _rounded(c.before), _rounded(c.after), c.how, int(c.worse)]
                    for c in s.changes
                ],
            }
        )
    return {"runs": runs, "series": series}


def _script_json(value: Any) -> Markup:
    """Compact JSON safe inside a <script> element."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


# -- the page -------------------------------------------------------------------------------------


def _format(value: float, unit: str) -> str:
    if unit == "ratio":
        return f"{value * 100:.1f}\u00a0%"
    return f"{value:.4g}" + (f"\u00a0{unit}" if unit else "")


def _latest(s: TrendSeries) -> str:
    for value, verdict in zip(reversed(s.values), reversed(s.verdicts), strict=True):
        if verdict is not None:
            return f"{_format(value, s.unit)} ({verdict})" if value is not None else verdict
    return "—"


def page_context(data: TrendsInput) -> dict[str, Any]:
    """Everything the template shows besides the chart data, as plain (redacted) strings."""
    sections: list[dict[str, Any]] = []
    index = {id(s): n for n, s in enumerate(data.series)}
    by_criterion: dict[str, list[TrendSeries]] = {}
    for s in data.series:
        by_criterion.setdefault(s.criterion, []).append(s)
    rows: list[dict[str, Any]] = []
    for o in overview(data):
        share = o.passed_share
        rows.append(
            {
                "criterion": redact_text(o.criterion),
                "scopes": o.scopes,
                "judged": o.nights_judged,
                "passed": "—" if share is None else f"{share * 100:.0f}\u00a0%",
                "passed_count": o.nights_passed,
                "failed": o.nights_failed,
                "regressed": [
                    {
                        "scope": redact_text(r.scope),
                        "run": redact_text(r.since_run),
                        "href": redact_text(r.since_href),
                        "date": _iso_minutes(r.since_end),
                        "change": f"{_format(r.before, o.unit)} → {_format(r.after, o.unit)}",
                        "how": r.how,
                    }
                    for r in o.regressed
                ],
                "inconclusive": [
                    {"scope": redact_text(scope), "share": f"{part * 100:.0f}\u00a0%"}
                    for scope, part in o.too_often_inconclusive
                ],
            }
        )
        sections.append(
            {
                "criterion": redact_text(o.criterion),
                "charts": [
                    {
                        "n": index[id(s)],
                        "scope": redact_text(s.scope),
                        "trend": s.trend,
                        "latest": redact_text(_latest(s)),
                        "reason": redact_text(s.reason),
                    }
                    for s in by_criterion[o.criterion]
                ],
            }
        )
    first = data.runs[0].end if data.runs else None
    last = data.runs[-1].end if data.runs else None
    passed_runs = sum(r.verdict == "pass" for r in data.runs)
    return {
        "suite": redact_text(data.suite),
        "history": redact_text(data.history),
        "nights": len(data.runs),
        "nights_limit": data.nights_limit,
        "first": _iso_minutes(first) if first is not None else "",
        "last": _iso_minutes(last) if last is not None else "",
        "runs_passed": passed_runs,
        "rows": rows,
        "sections": sections,
        "regressed_total": sum(len(r["regressed"]) for r in rows),
        "inconclusive_limit": f"{INCONCLUSIVE_LIMIT * 100:.0f}\u00a0%",
        "generated": format_rfc3339(float(int(datetime.now(UTC).timestamp()))),
    }


def render_trends_html(data: TrendsInput) -> str:
    """The page as a string (see the module doc for what it holds)."""
    return _ENV.get_template("trends.html.j2").render(
        **page_context(data),
        chart_data=_script_json(chart_data(data)),
        plotly_js=Markup(plotly_js()),
        plot_config=Markup(json.dumps(_PLOT_CONFIG)),
    )


def write_trends_html(path: Path, data: TrendsInput) -> Path:
    """Render the page to `path` (written whole, then moved into place) and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_trends_html(data), encoding="utf-8")
    tmp.replace(path)
    return path
