"""report.html: one self-contained, printable page rendered from the verdicts and the evidence.

Rendering only: no IO but writing the file. The page holds, top to bottom,

1. the overall verdict, the run's window, and a banner for sandbox or dry runs;
2. the criteria, one compact row each: its verdict, how its scopes fared (`3/4 scopes pass`) and
   its worst scope (value, threshold, detail; see `report.glance`), the other scopes folded
   beneath it (<details>), then the criteria that were not evaluated and why;
3. the timeline, charts on one clock (shared time axis): submission rate and errors, replicas per
   HPA, CPU utilisation, OOM kills, PVC use, with fault windows and recovery spans shaded across
   all rows;
4. for every failed criterion, its advice (which object, what fix), worst scope first;
5. per-scope values against their target band (utilisation per agent type, PVC use, ...).

Charts are plotly figures; plotly.js is inlined once (see `report.plotly_bundle`), so opening the
file fetches nothing. Series are downsampled to a bounded number of points per chart and values
rounded to what a chart shows, so a big run stays light: per-pod detail lives in the evidence
files, not the page.
Every string that reaches the page goes through `validator.redaction` first.
"""

from __future__ import annotations

import gc
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from validator.model import (
    CriterionOutcome,
    Evidence,
    HpaState,
    PodState,
    Result,
    Series,
    Summary,
    Verdict,
    format_rfc3339,
)
from validator.redaction import redact_text, redact_value
from validator.report.glance import glances
from validator.report.plotly_bundle import plotly_js
from validator.report.plotly_figures import Figure, RowsFigure, target_band

# Upper bound on points drawn per chart (over all its traces) and on traces per chart.
MAX_POINTS_PER_CHART = 4000
MAX_TRACES_PER_CHART = 24
MIN_POINTS_PER_TRACE = 60

# A compact row shows its detail on at most two lines; one longer than this is also shown whole, folded.
DETAIL_SHOWN = 80

SANDBOX_NOTE = "simulated nodes: kwok does not enforce memory limits; OOM kills are simulated"
DRY_RUN_NOTE = "dry run: Chaos Toolkit marked skipped activities as succeeded; no fault was injected"


def held_note(held_s: float) -> str:
    """The banner of a run whose load stood still while experiments overran their slots."""
    return (f"the load held its profile for {held_s:.0f} s while experiments ran past their slots "
            "(manifest.json load.held_s): each later fault met the point of the load it was planned for, "
            f"and the load ended {held_s:.0f} s later than planned")


_VERDICT_COLOUR = {
    Verdict.PASS: "#1a7f37",
    Verdict.FAIL: "#cf222e",
    Verdict.INCONCLUSIVE: "#9a6700",
    Verdict.NOT_EXERCISED: "#59636e",
}
_FAULT_FILL = "rgba(207, 34, 46, 0.12)"
_RECOVERY_FILL = "rgba(9, 105, 218, 0.12)"
_BAND_FILL = "rgba(26, 127, 55, 0.12)"
_PLOT_CONFIG = {"displaylogo": False, "responsive": True, "showLink": False,
                "modeBarButtonsToRemove": ["sendDataToCloud"]}

_ENV = Environment(
    loader=PackageLoader("validator.report", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html", "j2", "html.j2"), default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


# -- formatting ---------------------------------------------------------------------------------


NBSP = "\u00a0"  # keeps a number and its unit on one line


def format_value(value: float | None, unit: str) -> str:
    """A value in its unit for people: ratios as %, seconds as s / min, counts as integers."""
    if value is None:
        return "—"
    if not math.isfinite(value):
        return str(value)
    if unit == "ratio":
        return f"{value * 100:.1f}{NBSP}%"
    if unit == "seconds":
        return f"{value:.0f}{NBSP}s" if value < 120 else f"{value:.0f}{NBSP}s ({value / 60:.1f}{NBSP}min)"
    if unit in ("count", "days") and float(value).is_integer():
        return f"{int(value)}" + (f"{NBSP}days" if unit == "days" else "")
    if unit == "days":
        return f"{value:.1f}{NBSP}days"
    return f"{value:.4g}" + (f"{NBSP}{unit}" if unit else "")


def format_threshold(threshold: Mapping[str, float], unit: str) -> str:
    """`60.0 % ≤ v ≤ 80.0 %`, `v < 90.0 %`, `v ≤ 300 s`, `v = 0` from a Result's threshold map."""
    if not threshold:
        return "—"
    fv = {k: format_value(v, unit) for k, v in threshold.items()}
    parts: list[str] = []
    lo = fv.get("min")
    hi = fv.get("max")
    if lo is not None and hi is not None:
        parts.append(f"{lo} ≤ v ≤ {hi}")
    elif lo is not None:
        parts.append(f"v ≥ {lo}")
    elif hi is not None:
        parts.append(f"v ≤ {hi}")
    for key, text in fv.items():
        if key in ("min", "max"):
            continue
        if key == "below":
            parts.append(f"v < {text}")
        elif key == "equals":
            parts.append(f"v = {text}")
        elif key.startswith("min_"):
            parts.append(f"{key[4:].replace('_', ' ')} ≥ {text}")
        elif key.startswith("max_"):
            parts.append(f"{key[4:].replace('_', ' ')} ≤ {text}")
        else:
            parts.append(f"{key}: {text}")
    return "; ".join(parts)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


# -- downsampling ---------------------------------------------------------------------------------


def downsample(points: Sequence[tuple[float, float]], max_points: int) -> list[tuple[float, float]]:
    """At most `max_points` points that keep each bucket's min and max (peaks survive), in time order."""
    n = len(points)
    if n <= max_points or max_points < 4:
        return list(points[: max(max_points, 0)] if max_points < 4 else points)
    buckets = max_points // 2
    out: list[tuple[float, float]] = []
    for b in range(buckets):
        lo = b * n // buckets
        hi = (b + 1) * n // buckets
        chunk = points[lo:hi]
        if not chunk:
            continue
        i_min = min(range(len(chunk)), key=lambda i: chunk[i][1])
        i_max = max(range(len(chunk)), key=lambda i: chunk[i][1])
        for i in sorted({i_min, i_max}):
            out.append(chunk[i])
    return out


def visible(points: Sequence[tuple[float, float]], digits: int = 4) -> list[tuple[float, float]]:
    """The points a chart line shows: values rounded to `digits` significant digits (finer than a
    chart's pixels), and the inner points of every flat stretch dropped (the line through them is
    the same line). The first and last points stay; time order is kept."""
    rounded = [(t, float(f"{v:.{digits}g}") if math.isfinite(v) else v) for t, v in points]
    return [p for i, p in enumerate(rounded)
            if i == 0 or i == len(rounded) - 1 or not (rounded[i - 1][1] == p[1] == rounded[i + 1][1])]


def _per_trace_budget(traces: int) -> int:
    if traces <= 0:
        return MAX_POINTS_PER_CHART
    return max(MIN_POINTS_PER_TRACE, MAX_POINTS_PER_CHART // traces)


# -- what the charts show -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Line:
    name: str
    points: list[tuple[float, float]]
    dash: str = "solid"
    shape: str = "linear"  # "hv" for step functions such as replica counts


@dataclass(frozen=True, slots=True)
class _Span:
    label: str
    start: float
    end: float
    fill: str


def _load_lines(evidence: Evidence) -> list[_Line]:
    if evidence.load is None:
        return []
    rows = evidence.load.aggregated()
    if not rows:
        return []
    return [
        _Line("submissions/s", [(r.timestamp, r.requests_per_s) for r in rows]),
        _Line("failures/s", [(r.timestamp, r.failures_per_s) for r in rows], dash="dot"),
    ]


def _metric_series(evidence: Evidence, metric_names: Iterable[str]) -> list[tuple[str, Series]]:
    """Series of every query whose PromQL reads one of `metric_names` (the criteria's own queries)."""
    if evidence.metrics is None:
        return []
    names = tuple(metric_names)
    found: list[tuple[str, Series]] = []
    for key in sorted(evidence.metrics.queries):
        result = evidence.metrics.queries[key]
        if result.ok and any(n in result.promql for n in names):
            found.extend((key, s) for s in result.series if s.points)
    return found


def _hpa_lines(evidence: Evidence) -> list[_Line]:
    """Desired replicas per HPA, from the watch when it saw HPAs, else from Prometheus."""
    if evidence.k8s is not None:
        by_hpa: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for record in evidence.k8s.of_kind("HorizontalPodAutoscaler"):
            if isinstance(record.state, HpaState):
                by_hpa[record.key].append((record.received, float(record.state.current_replicas)))
        if by_hpa:
            return [_Line(name, sorted(points), shape="hv") for name, points in sorted(by_hpa.items())]
    lines = []
    for key, series in _metric_series(evidence, ("kube_horizontalpodautoscaler_status_current_replicas",
                                                 "kube_horizontalpodautoscaler_status_desired_replicas")):
        hpa = series.label("horizontalpodautoscaler") or series.label("hpa") or key
        ns = series.label("namespace")
        lines.append(_Line(f"{ns}/{hpa}" if ns else hpa, list(series.points), shape="hv"))
    return lines


def _cpu_utilisation_lines(evidence: Evidence) -> list[_Line]:
    """CPU usage / requests per agent type over time, from the cpu_utilization criterion's queries."""
    if evidence.metrics is None:
        return []
    usage = evidence.metrics.queries.get("cpu_usage_by_agent")
    requests = evidence.metrics.queries.get("cpu_requests_by_agent")
    if usage is None or requests is None or not usage.ok or not requests.ok:
        return []
    label = evidence.manifest.agent_metric_label
    asked: dict[str, dict[float, float]] = defaultdict(dict)
    for series in requests.series:
        for t, v in series.points:
            asked[series.label(label)][t] = asked[series.label(label)].get(t, 0.0) + v
    used: dict[str, dict[float, float]] = defaultdict(dict)
    for series in usage.series:
        for t, v in series.points:
            used[series.label(label)][t] = used[series.label(label)].get(t, 0.0) + v
    lines = []
    for agent in sorted(used):
        if not agent:
            continue
        den = asked.get(agent, {})
        points = [(t, v / den[t]) for t, v in sorted(used[agent].items()) if den.get(t)]
        if points:
            lines.append(_Line(agent, points))
    return lines


def _cpu_band(summary: Summary) -> tuple[float, float] | None:
    for outcome in summary.criteria:
        if outcome.id == "cpu_utilization":
            for result in outcome.results:
                lo, hi = result.threshold.get("min"), result.threshold.get("max")
                if lo is not None and hi is not None:
                    return lo, hi
    return None


def _oom_points(evidence: Evidence) -> list[tuple[float, str]]:
    """(time, 'namespace/pod container') of every OOM kill the watch saw, each once."""
    seen: set[tuple[str, str, int]] = set()
    out: list[tuple[float, str]] = []
    if evidence.k8s is None or not evidence.k8s.kind_seen("Pod"):
        return _oom_points_from_prometheus(evidence)
    for record in evidence.k8s.of_kind("Pod"):
        state = record.state
        if not isinstance(state, PodState):
            continue
        for term in state.terminations:
            if term.reason != "OOMKilled":
                continue
            ident = (record.key, term.container, term.restart_count)
            if ident in seen:
                continue
            seen.add(ident)
            out.append((term.finished_at if term.finished_at is not None else record.received,
                        f"{record.key} {term.container}"))
    return sorted(out)


def _oom_points_from_prometheus(evidence: Evidence) -> list[tuple[float, str]]:
    """Restarts (kube-state-metrics) whose last termination reason was OOMKilled at that moment."""
    if evidence.metrics is None:
        return []
    restarts = evidence.metrics.queries.get("container_restarts")
    oom = evidence.metrics.queries.get("container_last_terminated_oom")
    if restarts is None or oom is None or not restarts.ok or not oom.ok:
        return []
    keys = ("namespace", "pod", "container")
    oom_at = {tuple(s.label(k) for k in keys): dict(s.points) for s in oom.series}
    out = []
    for series in restarts.series:
        ident = tuple(series.label(k) for k in keys)
        flags = oom_at.get(ident)
        if not flags:
            continue
        for (_, before), (t, after) in zip(series.points, series.points[1:], strict=False):
            if after > before and flags.get(t, 0.0) >= 1.0:
                out.append((t, f"{ident[0]}/{ident[1]} {ident[2]}"))
    return sorted(out)


def _pvc_lines(evidence: Evidence) -> list[_Line]:
    """Used / capacity per PVC when both are in the evidence, else the ratio query if there is one."""
    used = {_pvc_name(s): s for _, s in _metric_series(evidence, ("kubelet_volume_stats_used_bytes",))}
    capacity = {_pvc_name(s): s
                for _, s in _metric_series(evidence, ("kubelet_volume_stats_capacity_bytes",))}
    lines = []
    for name in sorted(used):
        u = used[name]
        c = capacity.get(name)
        if c is None or c is u:  # one query holding the ratio already
            lines.append(_Line(name, list(u.points)))
            continue
        cap = dict(c.points)
        ratio = [(t, v / cap[t]) for t, v in u.points if cap.get(t)]
        if ratio:
            lines.append(_Line(name, ratio))
    return lines


def _pvc_name(series: Series) -> str:
    pvc = series.label("persistentvolumeclaim") or series.label("pvc") or "pvc"
    ns = series.label("namespace")
    return f"{ns}/{pvc}" if ns else pvc


def _spans(summary: Summary, evidence: Evidence) -> list[_Span]:
    spans: list[_Span] = []
    if evidence.chaos is not None:
        for fault in evidence.chaos.faults:
            end = fault.end if fault.end is not None else evidence.window.end
            spans.append(_Span(f"fault: {fault.fault}", fault.start, end, _FAULT_FILL))
            recovered = _recovery_seconds(summary, fault.fault)
            if recovered is not None and fault.recovery_from is not None:
                spans.append(_Span(f"recovery: {fault.fault} ({recovered:.0f} s)", fault.recovery_from,
                                   fault.recovery_from + recovered, _RECOVERY_FILL))
    return spans


def _recovery_seconds(summary: Summary, fault: str) -> float | None:
    for outcome in summary.criteria:
        if outcome.id != "recovery_time":
            continue
        for result in outcome.results:
            if result.value is not None and fault in result.scope.values():
                return result.value
    return None


# -- figures -------------------------------------------------------------------------------------


def _add_lines(fig: RowsFigure, lines: list[_Line], row: int, *, group: str) -> int:
    """Add at most MAX_TRACES_PER_CHART lines (downsampled); returns how many were left out."""
    shown = lines[:MAX_TRACES_PER_CHART]
    budget = _per_trace_budget(len(shown))
    for line in shown:
        pts = visible(downsample(sorted(line.points), budget))
        fig.add_trace(
            {"type": "scatter", "x": [_iso(t) for t, _ in pts], "y": [v for _, v in pts], "name": line.name,
             "mode": "lines", "line": {"dash": line.dash, "width": 1.5, "shape": line.shape},
             "legendgroup": group, "legendgrouptitle": {"text": group}},
            row,
        )
    return len(lines) - len(shown)


def timeline_figure(summary: Summary, evidence: Evidence) -> tuple[RowsFigure | None, list[str]]:
    """The charts on one clock; returns the figure (None when there is nothing to draw) and notes."""
    rows: list[tuple[str, str]] = []
    load = _load_lines(evidence)
    cpu = _cpu_utilisation_lines(evidence)
    hpas = _hpa_lines(evidence)
    ooms = _oom_points(evidence)
    pvcs = _pvc_lines(evidence)
    spans = _spans(summary, evidence)
    notes: list[str] = []
    if load:
        rows.append(("load", "Workflow submissions per second (Locust)"))
    if hpas:
        rows.append(("hpa", "Replicas per HPA"))
    if cpu:
        rows.append(("cpu", "CPU utilisation per agent type (usage / requests), target band shaded"))
    if ooms:
        rows.append(("oom", "OOM kills"))
    if pvcs:
        rows.append(("pvc", "PVC use (used / capacity)"))
    if not rows and not spans:
        return None, ["no time series in the evidence: no Locust history, HPA, OOM or PVC data"]
    if not rows:
        rows.append(("faults", "Fault windows"))
    fig = RowsFigure.stacked([title for _, title in rows], spacing=0.06)
    for index, (kind, _) in enumerate(rows, start=1):
        left_out = 0
        if kind == "load":
            left_out = _add_lines(fig, load, index, group="load")
            fig.y_axis(index, title={"text": "per s"}, rangemode="tozero")
        elif kind == "hpa":
            left_out = _add_lines(fig, hpas, index, group="HPA")
            fig.y_axis(index, title={"text": "replicas"}, rangemode="tozero")
        elif kind == "cpu":
            left_out = _add_lines(fig, cpu, index, group="CPU")
            fig.y_axis(index, title={"text": "of requests"}, tickformat=".0%", rangemode="tozero")
            band = _cpu_band(summary)
            if band is not None:
                fig.band(index, band[0], band[1], _BAND_FILL)
        elif kind == "oom":
            shown = ooms[: MAX_POINTS_PER_CHART]
            fig.add_trace(
                {"type": "scatter", "x": [_iso(t) for t, _ in shown], "y": [1] * len(shown),
                 "text": [name for _, name in shown], "mode": "markers",
                 "marker": {"symbol": "x", "size": 10, "color": "#cf222e"}, "name": "OOM kill",
                 "hovertemplate": "%{x}<br>%{text}<extra></extra>"},
                index,
            )
            fig.y_axis(index, visible=False)
            left_out = len(ooms) - len(shown)
        elif kind == "pvc":
            left_out = _add_lines(fig, pvcs, index, group="PVC")
            fig.y_axis(index, title={"text": "used"}, tickformat=".0%", rangemode="tozero")
        elif kind == "faults":
            fig.add_trace(
                {"type": "scatter", "x": [_iso(evidence.window.start), _iso(evidence.window.end)],
                 "y": [0, 0], "mode": "lines", "line": {"width": 0}, "showlegend": False},
                index,
            )
            fig.y_axis(index, visible=False)
        if left_out:
            notes.append(f"{dict(rows)[kind]}: {left_out} more series not drawn (the chart keeps the first "
                         f"{MAX_TRACES_PER_CHART})")
    for span in spans:
        fig.span(_iso(span.start), _iso(span.end), span.fill)
    # One legend entry per kind of span, so the shading is explained.
    for fill, label in ((_FAULT_FILL, "fault window"), (_RECOVERY_FILL, "recovery span")):
        if any(s.fill == fill for s in spans):
            marker = {"size": 14, "symbol": "square", "color": fill.replace("0.12", "0.5")}
            fig.add_trace({"type": "scatter", "x": [None], "y": [None], "mode": "markers", "name": label,
                           "marker": marker}, 1)
    fig.x_axes(range=[_iso(evidence.window.start), _iso(evidence.window.end)], type="date")
    fig.x_axis(len(rows), title={"text": "UTC"})
    fig.layout.update(height=220 * len(rows) + 120, margin={"l": 60, "r": 20, "t": 40, "b": 40},
                      hovermode="x unified", legend={"groupclick": "toggleitem", "font": {"size": 11}})
    return fig, notes


def band_figures(summary: Summary) -> list[tuple[str, Figure]]:
    """One bar chart per criterion whose results are ratios: value per scope against its band."""
    figures = []
    for outcome in summary.criteria:
        results = [r for r in outcome.results if r.unit == "ratio" and r.value is not None]
        if len(results) == 0:
            continue
        results = results[:200]
        names = [r.scope_text for r in results]
        colours = [_VERDICT_COLOUR[r.verdict] for r in results]
        fig = Figure(data=[{"type": "bar", "x": names, "y": [r.value for r in results],
                            "marker": {"color": colours},
                            "text": [format_value(r.value, "ratio") for r in results],
                            "textposition": "outside", "name": outcome.id}])
        band = results[0].threshold
        lo, hi = band.get("min"), band.get("max", band.get("below"))
        shapes, annotations = [], []
        if lo is not None or hi is not None:
            shape, note = target_band(lo if lo is not None else 0, hi if hi is not None else 1, _BAND_FILL,
                                      "target")
            shapes.append(shape)
            annotations.append(note)
        top = max([*(r.value or 0 for r in results), hi or 0, 1.0]) * 1.15
        fig.layout.update(yaxis={"tickformat": ".0%", "range": [0, top]}, shapes=shapes,
                          annotations=annotations, height=300,
                          margin={"l": 60, "r": 20, "t": 30, "b": 60}, showlegend=False)
        figures.append((outcome.id, fig))
    return figures


def _finite(values: list[Any]) -> list[Any]:
    """A trace's numbers with NaN and infinities as null (a gap), as JSON and plotly.js want them."""
    return [None if isinstance(v, float) and not math.isfinite(v) else v for v in values]


def _figure_json(fig: Figure) -> Markup:
    """The figure as JSON safe inside a <script> element."""
    for trace in fig.data:
        for key in ("x", "y"):
            if key in trace:
                trace[key] = _finite(trace[key])
    text = redact_text(json.dumps(fig.to_dict(), separators=(",", ":"), allow_nan=False))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


# -- the page -------------------------------------------------------------------------------------


def _result_row(outcome: CriterionOutcome, result: Result) -> dict[str, Any]:
    return {
        "id": outcome.id,
        "info": outcome.info,
        "scope": result.scope_text,
        "verdict": result.verdict.value,
        "value": format_value(result.value, result.unit)
        + (
            f" ({format_value(result.compressed.value, 'seconds')} at {result.compressed.time_factor:g}x)"
            if result.compressed is not None
            else ""
        ),
        "threshold": format_threshold(result.threshold, result.unit),
        "detail": result.detail,
    }


def _failure(outcome: CriterionOutcome, result: Result) -> dict[str, Any]:
    return {"id": outcome.id, "scope": result.scope_text,
            "value": format_value(result.value, result.unit),
            "threshold": format_threshold(result.threshold, result.unit),
            "detail": result.detail,
            "advice": list(result.advice) or ["no advice recorded for this result: see the detail"]}


def report_context(summary: Summary, evidence: Evidence) -> dict[str, Any]:
    """Everything the template shows, as plain (redacted) data.

    `criteria` holds one compact row per criterion (its worst scope, see `report.glance`) and every
    scope, worst first, with its whole detail, to fold beneath it; `failures` one entry per failed
    criterion, its worst failing scope first and the other failing scopes after it."""
    criteria: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    for outcome, seen in zip(summary.criteria, glances(summary), strict=True):
        worst: dict[str, Any] = _result_row(outcome, seen.worst) if seen.worst is not None else {
            "id": outcome.id, "info": outcome.info, "scope": "all", "verdict": outcome.verdict.value,
            "value": "—", "threshold": "—", "detail": "no results"}
        criteria.append({"id": outcome.id, "info": outcome.info, "verdict": outcome.verdict.value,
                         "scopes": seen.counts_text(), "worst": worst,
                         "scope_rows": [_result_row(outcome, r) for r in (seen.worst, *seen.others)
                                        if r is not None],
                         "folded": seen.scopes > 1 or len(str(worst["detail"])) > DETAIL_SHOWN})
        failed = [r for r in (seen.worst, *seen.others) if r is not None and r.verdict is Verdict.FAIL]
        if failed:
            failures.append({"id": outcome.id, "info": outcome.info, "first": _failure(outcome, failed[0]),
                             "more": [_failure(outcome, r) for r in failed[1:]]})
    counts = {v.value: 0 for v in Verdict}
    for outcome in summary.criteria:
        counts[outcome.verdict.value] += 1
    manifest = evidence.manifest
    banners = []
    if summary.aborted:
        banners.append(f"The run aborted itself, so its verdict is fail: {summary.aborted}")
    if manifest.sandbox:
        banners.append(SANDBOX_NOTE)
    if evidence.chaos is not None and any(run.dry for run in evidence.chaos.runs):
        banners.append(DRY_RUN_NOTE)
    load = manifest.load
    if load is not None and load.held_s > 0:
        banners.append(held_note(load.held_s))
    by_reason: dict[str, list[str]] = defaultdict(list)
    for source, reason in sorted(evidence.missing.items()):
        by_reason[reason].append(source.value)
    missing = [f"{', '.join(sources)}: {reason}" for reason, sources in by_reason.items()]
    context = {
        "run_id": summary.run_id,
        "verdict": summary.verdict.value,
        "window": {"start": format_rfc3339(summary.window.start), "end": format_rfc3339(summary.window.end)},
        "duration_min": f"{summary.window.duration / 60:.1f}",
        "suite": manifest.suite,
        "context": manifest.context,
        "namespaces": ", ".join(manifest.namespaces),
        "load": (f"{load.profile}, {load.max_users} users, {load.duration_s:g} s"
                 + (f" + {load.held_s:.0f} s held" if load.held_s > 0 else "")
                 if load is not None and load.profile else ""),
        "prometheus_url": evidence.metrics.prometheus_url if evidence.metrics else "",
        "banners": banners,
        "criteria": criteria,
        "counts": counts,
        "failures": failures,
        "not_evaluated": [
            {"id": n.id + (f" ({n.measure})" if n.measure else ""), "reason": n.reason}
            for n in summary.not_evaluated
        ],
        "missing": missing,
        "history": _history_context(summary),
        "faults": [{"fault": f.fault, "start": format_rfc3339(f.start),
                    "end": format_rfc3339(f.end) if f.end is not None else "never reported",
                    "status": f.status, "targets": ", ".join(f.targets)}
                   for f in (evidence.chaos.faults if evidence.chaos else ())],
        "generated": format_rfc3339(float(int(datetime.now(UTC).timestamp()))),
    }
    redacted: dict[str, Any] = redact_value(context)
    return redacted


def _history_context(summary: Summary) -> dict[str, Any] | None:
    """The run against its history (regressions), for the page; None: not checked."""
    check = summary.regressions
    if check is None:
        return None
    return {
        "policy": check.policy.value,
        "earlier_runs": check.earlier_runs,
        "note": check.note,
        "found": [
            {"criterion": r.criterion, "scope": r.scope, "started_run": r.started_run,
             "method": r.method, "detail": r.detail}
            for r in check.found
        ],
    }


def render_report_html(summary: Summary, evidence: Evidence) -> str:
    """The page as a string (see the module doc for what it holds)."""
    # As while the evidence is read and judged: the cyclic collector would walk the evidence of a big
    # run (hundreds of thousands of objects) again and again while plotly allocates (a fifth of the
    # page's time at 10,000 pods); it pauses, and collects whatever cycles the figures left after.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _render(summary, evidence)
    finally:
        if collecting:
            gc.enable()


def _render(summary: Summary, evidence: Evidence) -> str:
    context = report_context(summary, evidence)
    timeline, notes = timeline_figure(summary, evidence)
    timeline_chart = None
    if timeline is not None:
        timeline_chart = {"id": "timeline", "title": "Timeline (UTC, one clock for every row)",
                          "json": _figure_json(timeline)}
    bands = [{"id": f"band-{criterion}", "title": f"{criterion}: value per scope against its target",
              "json": _figure_json(fig)} for criterion, fig in band_figures(summary)]
    template = _ENV.get_template("report.html.j2")
    return template.render(
        **context,
        chart_notes=[redact_text(n) for n in notes],
        timeline=timeline_chart,
        bands=bands,
        plotly_js=Markup(plotly_js()),
        plot_config=Markup(json.dumps(_PLOT_CONFIG)),
        verdict_colour=_VERDICT_COLOUR[summary.verdict],
    )


def write_report_html(run_dir: Path, summary: Summary, evidence: Evidence) -> Path:
    """Render report.html into `run_dir` (written whole, then moved into place) and return its path."""
    path = run_dir / "report.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_report_html(summary, evidence), encoding="utf-8")
    tmp.replace(path)
    return path
