"""The verdict table printed on the console at the end of `validator run` and `validator check`:
one row per result (and its advice), the criteria not evaluated, then the overall verdict."""

from __future__ import annotations

from rich.table import Table

from validator.model import Result, Summary, Verdict
from validator.report.html import format_threshold, format_value

COLOUR = {
    Verdict.PASS: "green",
    Verdict.FAIL: "red",
    Verdict.INCONCLUSIVE: "yellow",
    Verdict.NOT_EXERCISED: "dim",
}


def verdict_markup(verdict: Verdict) -> str:
    return f"[{COLOUR[verdict]}]{verdict.value}[/]"


def verdict_table(summary: Summary, title: str, *, with_advice: bool = True) -> Table:
    table = Table(title=title)
    for column in ("criterion", "scope", "verdict", "value", "threshold", "detail"):
        table.add_column(column, overflow="fold")
    for outcome in summary.criteria:
        for r in outcome.results:
            table.add_row(
                outcome.id + (" (info)" if outcome.info else ""),
                r.scope_text,
                verdict_markup(r.verdict),
                format_value(r.value, r.unit) + _compressed(r),
                format_threshold(r.threshold, r.unit),
                r.detail,
            )
            if with_advice:
                for advice in r.advice:
                    table.add_row("", "", "", "", "", f"[cyan]advice:[/] {advice}")
    for n in summary.not_evaluated:
        scope = f"measure={n.measure}" if n.measure else "all"
        table.add_row(n.id, scope, "[dim]not evaluated[/]", "—", "—", n.reason)
    return table


def _compressed(result: Result) -> str:
    if result.compressed is None:
        return ""
    return f" ({format_value(result.compressed.value, 'seconds')} at {result.compressed.time_factor:g}x)"


def overall_verdict_line(summary: Summary) -> str:
    line = f"verdict: [bold {COLOUR[summary.verdict]}]{summary.verdict.value.upper()}[/]"
    return f"{line} (the run aborted itself: {summary.aborted})" if summary.aborted else line
