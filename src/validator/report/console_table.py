"""The verdict table printed on the console at the end of `validator run` and `validator check`:
one row per result (and its advice), the criteria not evaluated, then the overall verdict."""

from __future__ import annotations

from rich.table import Table

from validator.model import Summary, Verdict
from validator.report.html import format_threshold, format_value

COLOUR = {Verdict.PASS: "green", Verdict.FAIL: "red", Verdict.INCONCLUSIVE: "yellow"}


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
                format_value(r.value, r.unit),
                format_threshold(r.threshold, r.unit),
                r.detail,
            )
            if with_advice:
                for advice in r.advice:
                    table.add_row("", "", "", "", "", f"[cyan]advice:[/] {advice}")
    for n in summary.not_evaluated:
        table.add_row(n.id, "all", "[dim]not evaluated[/]", "—", "—", n.reason)
    return table


def overall_verdict_line(summary: Summary) -> str:
    return f"verdict: [bold {COLOUR[summary.verdict]}]{summary.verdict.value.upper()}[/]"
