"""`validator history import DIR...`, `validator history show` and `validator compare RUN`: the runs
recorded night after night (validator.history), and what changed."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from rich.console import Console
from rich.table import Table

from validator.commands import Subcommands
from validator.criteria.platform_measures import platform_measures
from validator.errors import ConfigError, ExitCode
from validator.history import HistoryStore, Trend, detect
from validator.history.changes import Method, Shift
from validator.history.store import DEFAULT_NAME, Point, RunRow
from validator.model import Evidence, Measure, RunManifest
from validator.report.summary import summary_from_document
from validator.report.trends_page import ChangeMark, TrendRun, TrendSeries, TrendsInput, write_trends_html
from validator.run_directory import load_manifest
from validator.run_directory.layout import MANIFEST, METRICS, SUMMARY
from validator.run_directory.metrics import load_metrics

TREND_COLOUR = {
    Trend.STEADY: "green",
    Trend.IMPROVED: "green",
    Trend.REGRESSED: "red",
    Trend.INCONCLUSIVE: "yellow",
}


def register(sub: Subcommands) -> None:
    history = sub.add_parser("history", help="the runs recorded night after night, and their trends")
    actions = history.add_subparsers(dest="history_action", metavar="ACTION")
    backfill = actions.add_parser(
        "import", help="record existing run directories (their summary.json) into the history"
    )
    backfill.add_argument("run_dirs", metavar="RUN_DIR", nargs="+", type=Path)
    _history_option(backfill, required=True)
    backfill.set_defaults(handler=run_import)
    show = actions.add_parser("show", help="every criterion and scope of a suite: its trend over the runs")
    _history_option(show, required=True)
    show.add_argument("--suite", default="nightly", help="the suite's runs (default: %(default)s)")
    show.set_defaults(handler=run_show)
    pin = actions.add_parser(
        "pin",
        help="pin a recorded run as its suite's baseline (compare --baseline pinned, cost_efficiency)",
    )
    pin.add_argument("run", metavar="RUN", help="a run id or run directory in the history")
    _history_option(pin, required=True)
    pin.set_defaults(handler=run_pin)
    unpin = actions.add_parser(
        "unpin", help="remove a suite's pinned baseline (its first recorded run is the baseline again)"
    )
    unpin.add_argument("run", metavar="RUN", help="the pinned run (its id or run directory)")
    _history_option(unpin, required=True)
    unpin.set_defaults(handler=run_unpin)
    page = actions.add_parser(
        "report",
        help="write the trends page: every criterion and scope over the nights, one offline HTML file",
        description="One self-contained HTML page (plotly.js inlined): a resilience overview, then per "
        "criterion and scope the value over the nights with its band, failed and inconclusive nights "
        "and detected change points marked; each point links to its run's report.html.",
    )
    _history_option(page, required=True)
    page.add_argument("--suite", default="nightly", help="the suite's runs (default: %(default)s)")
    page.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="where to write the page (default: trends.html beside the history)",
    )
    page.add_argument("--nights", type=_positive, metavar="N", help="only the latest N nights (default: all)")
    page.set_defaults(handler=run_report)
    history.set_defaults(handler=lambda _args: _usage(history))
    compare = sub.add_parser(
        "compare",
        help="what changed in a run: its values against a baseline run, and the trends up to it",
        description="Compare RUN (a run id or run directory in the history) with --baseline (a run id, "
        "`last-pass`: the latest earlier run that passed, `pinned`: the suite's pinned run, or `previous`). "
        "Exit 1 when a criterion-scope regressed (a significant change point the bad way), else 0.",
    )
    compare.add_argument("run", metavar="RUN")
    compare.add_argument(
        "--baseline", default="previous", help="run id, last-pass, pinned or previous (default)"
    )
    _history_option(compare, required=True)
    compare.set_defaults(handler=run_compare)


def _history_option(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--history",
        type=Path,
        required=required,
        metavar="PATH",
        help=f"the history file (validator run keeps one beside its reports: reports/{DEFAULT_NAME})",
    )


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return int(ExitCode.INVALID_INPUT)


def run_import(args: argparse.Namespace) -> int:
    store = HistoryStore(args.history)
    for run_dir in args.run_dirs:
        summary_path = run_dir / SUMMARY
        if not summary_path.is_file():
            raise ConfigError(
                f"{summary_path} not found",
                where=str(run_dir),
                fix="evaluate the run first (`validator evaluate RUN_DIR`), then import it",
            )
        summary = summary_from_document(
            json.loads(summary_path.read_text(encoding="utf-8")), source=str(summary_path)
        )
        manifest = load_manifest(run_dir / MANIFEST)
        kind = manifest.kind
        store.record(summary, manifest, run_dir, kind=kind, measures=_measures(run_dir, manifest))
        print(f"recorded {summary.run_id} ({manifest.suite or 'check'}, {summary.verdict.value})")
    print(f"history: {args.history} ({len(store.runs())} runs)")
    return 0


def _how(shift: Shift) -> str:
    return "a step on the latest run" if shift.method is Method.STEP else f"p={shift.pvalue:.1g}"


def _measures(run_dir: Path, manifest: RunManifest) -> tuple[Measure, ...]:
    """The platform's requests and quota use the run's metrics evidence holds (none without it)."""
    path = run_dir / METRICS
    if not path.is_file():
        return ()
    try:
        metrics = load_metrics(path)
    except ValueError as exc:
        print(f"validator: note: {path}: {exc}: recorded without its requests and quota use")
        return ()
    return platform_measures(Evidence(manifest=manifest, metrics=metrics))


def run_pin(args: argparse.Namespace) -> int:
    store = HistoryStore(args.history)
    before = None
    found = store.find_run(str(args.run))
    if found is not None:
        before = store.pinned(found.suite)
    run = store.pin(str(args.run))
    replaced = f" (replacing {before})" if before not in (None, run.run_id) else ""
    print(f"pinned {run.run_id} as the baseline of suite {run.suite or '(checks)'}{replaced}")
    return 0


def run_unpin(args: argparse.Namespace) -> int:
    store = HistoryStore(args.history)
    run = store.find_run(str(args.run))
    pinned = store.pinned(run.suite) if run is not None else None
    if run is None or pinned != run.run_id:
        raise ConfigError(
            f"run {args.run!r} is not a pinned baseline in {args.history}"
            + (f" (suite {run.suite}'s pinned run is {pinned})" if run is not None and pinned else ""),
            where=str(args.history),
            fix="name the pinned run (`validator history pin` printed it), or leave the pin as it is",
        )
    store.unpin(run.suite)
    print(f"unpinned {run.run_id}: suite {run.suite or '(checks)'} has no pinned baseline")
    return 0


def _pinned(store: HistoryStore, suite: str) -> RunRow:
    pinned = store.pinned(suite)
    run = store.find_run(pinned) if pinned is not None else None
    if run is None:
        raise ConfigError(
            f"suite {suite!r} has no pinned baseline"
            + (f" (its pinned run {pinned} is no longer recorded)" if pinned is not None else ""),
            where="--baseline pinned",
            fix="pin one: validator history pin RUN --history PATH",
        )
    return run


def _values(points: list[Point | None]) -> list[float | None]:
    return [p.value if p is not None else None for p in points]


def run_show(args: argparse.Namespace) -> int:
    store = HistoryStore(args.history)
    runs = store.runs(args.suite)
    table = Table(title=f"{args.suite}: {len(runs)} runs in {args.history}")
    for column in ("criterion", "scope", "trend", "latest", "change"):
        table.add_column(column, overflow="fold")
    for (criterion, scope), points in store.all_series(args.suite).items():
        last = next((p for p in reversed(points) if p is not None), None)
        finding = detect(_values(points), last.threshold if last else {})
        shift = finding.latest
        change = (
            f"{shift.before:.4g} -> {shift.after:.4g} from {runs[shift.index].run_id} ({_how(shift)})"
            if shift
            else finding.reason
        )
        latest = "—" if last is None or last.value is None else f"{last.value:.4g} {last.unit}"
        table.add_row(
            criterion, scope, f"[{TREND_COLOUR[finding.trend]}]{finding.trend.value}[/]", latest, change
        )
    Console().print(table)
    return 0


def run_compare(args: argparse.Namespace) -> int:
    store = HistoryStore(args.history)
    target = str(args.run)
    everything = store.runs()
    run = next(
        (r for r in everything if r.run_id == target or r.run_dir == str(Path(target).resolve())), None
    )
    if run is None:
        raise ConfigError(
            f"run {target!r} is not in {args.history}",
            where=str(args.history),
            fix="record it first: validator history import RUN_DIR",
        )
    runs = [r for r in store.runs(run.suite) if r.window_end <= run.window_end]
    earlier = runs[:-1]
    if args.baseline == "previous":
        baseline = earlier[-1] if earlier else None
    elif args.baseline == "last-pass":
        baseline = next((r for r in reversed(earlier) if r.verdict == "pass"), None)
    elif args.baseline == "pinned":
        baseline = _pinned(store, run.suite)
    else:
        baseline = next((r for r in everything if r.run_id == args.baseline), None)
    if baseline is None:
        raise ConfigError(
            f"no baseline {args.baseline!r} for {run.run_id}",
            where="--baseline",
            fix="name a recorded run id, or record earlier runs of the suite",
        )
    table = Table(title=f"{run.run_id} against {baseline.run_id} ({len(runs)} runs of {run.suite})")
    for column in ("criterion", "scope", "baseline", "run", "trend"):
        table.add_column(column, overflow="fold")
    regressed = 0
    started: list[str] = []
    for (criterion, scope), every_point in store.all_series(run.suite).items():
        points = every_point[: len(runs)]
        by_run = {p.run_id: p for p in points if p is not None}
        now, then = by_run.get(run.run_id), by_run.get(baseline.run_id)
        finding = detect(_values(points), now.threshold if now else {})
        shift = finding.latest
        if finding.trend is Trend.REGRESSED and shift is not None:
            regressed += 1
            since = runs[shift.index].run_id
            started.append(
                f"{criterion} {scope}: {shift.before:.4g} -> {shift.after:.4g} since {since} ({_how(shift)})"
            )
        table.add_row(
            criterion,
            scope,
            "—" if then is None or then.value is None else f"{then.value:.4g} ({then.verdict})",
            "—" if now is None or now.value is None else f"{now.value:.4g} ({now.verdict})",
            f"[{TREND_COLOUR[finding.trend]}]{finding.trend.value}[/]",
        )
    Console().print(table)
    for line in started:
        print(f"regressed: {line}")
    print(f"{regressed} criterion-scope(s) regressed")
    return int(ExitCode.FAIL if regressed else ExitCode.PASS)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"--nights must be a whole number of nights, at least 1 (got {text!r})"
        )
    return value


def _report_href(run_dir: str, page_dir: Path) -> str:
    """The run's report.html, relative to the page's folder when both are on one file system tree
    (a file: URI otherwise); "" when the run directory holds no report."""
    report = Path(run_dir) / "report.html"
    if not report.is_file():
        return ""
    try:
        return Path(os.path.relpath(report, page_dir.resolve())).as_posix()
    except ValueError:  # another drive (Windows): no relative path exists
        return report.resolve().as_uri()


def trends_input(
    store: HistoryStore, suite: str, *, page_dir: Path, nights: int | None = None
) -> TrendsInput:
    """The trends page's data from the history: the suite's runs (the latest `nights` of them), each
    criterion-scope's series over them and its change points (detected over the nights shown)."""
    runs: list[RunRow] = store.runs(suite)
    first = max(len(runs) - nights, 0) if nights else 0
    runs = runs[first:]
    series = []
    for (criterion, scope), points in store.all_series(suite).items():
        points = points[first:]
        if all(p is None for p in points):
            continue  # judged only before the nights shown
        last = next(p for p in reversed(points) if p is not None)
        finding = detect(_values(points), last.threshold)
        series.append(
            TrendSeries(
                criterion=criterion,
                scope=scope,
                unit=last.unit,
                values=tuple(_values(points)),
                verdicts=tuple(p.verdict if p is not None else None for p in points),
                thresholds=tuple(p.threshold if p is not None else None for p in points),
                trend=finding.trend.value,
                changes=tuple(
                    ChangeMark(
                        index=c.index, before=c.before, after=c.after, pvalue=c.pvalue, worse=c.worse,
                        method=c.method.value,
                    )
                    for c in finding.shifts
                ),
                reason=finding.reason,
            )
        )
    return TrendsInput(
        suite=suite,
        history=str(store.path),
        runs=tuple(
            TrendRun(
                run_id=r.run_id,
                end=r.window_end,
                verdict=r.verdict,
                report_href=_report_href(r.run_dir, page_dir),
            )
            for r in runs
        ),
        series=tuple(series),
        nights_limit=nights,
    )


def run_report(args: argparse.Namespace) -> int:
    if not args.history.is_file():
        raise ConfigError(
            f"history {args.history} not found",
            where="--history",
            fix="name the history file a run wrote (reports/history.sqlite), or import run directories first",
        )
    store = HistoryStore(args.history)
    output: Path = args.output or args.history.parent / "trends.html"
    data = trends_input(store, args.suite, page_dir=output.parent, nights=args.nights)
    if not data.runs:
        raise ConfigError(
            f"no run of suite {args.suite!r} in {args.history}",
            where="--suite",
            fix="name a suite the history holds (`validator history show` lists them), or import runs first",
        )
    write_trends_html(output, data)
    regressed = sum(s.trend == "regressed" for s in data.series)
    print(
        f"trends page: {output} ({len(data.runs)} nights, {len(data.series)} criterion-scopes, "
        f"{regressed} regressed)"
    )
    return 0
