"""The verdicts printed on the console at the end of `validator run`, `check` and `evaluate`: one
line per criterion that stays readable in a CI log, e.g.

    FAIL          recovery_time            worst fault=node-drain 412 s (v ≤ 300 s); 1/2 scopes pass
    PASS          cpu_utilization          closest agent=cleo 78.0 % (60.0 % ≤ v ≤ 80.0 %); 4/4 scopes pass
    INCONCLUSIVE  alert_accuracy           all: query `alerts_firing` failed: HTTP 503 from Prometheus…
    NOT EVALUATED pdb_respected            not evaluated: needs the Kubernetes watch

The verdict word first, then the criterion, then its worst scope (see `report.glance`): for a
criterion that passes, the scope closest to its threshold. The criteria come in the summary's fixed
order. A line is cut at LINE_LIMIT characters with an ellipsis where it carries a free-text detail
(report.html has the full text and every scope); the advice for each failed criterion follows in
full, one line each. Nothing is drawn as a table, so nothing wraps at 80 columns, and the lines are
printed with wrapping off whatever width the console believes it has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

from validator.model import Result, Summary, Verdict
from validator.report.glance import Glance, glances
from validator.report.html import NBSP, format_threshold, format_value

COLOUR = {
    Verdict.PASS: "green",
    Verdict.FAIL: "red",
    Verdict.INCONCLUSIVE: "yellow",
    Verdict.NOT_EXERCISED: "dim",
}
LINE_LIMIT = 100
NOT_EVALUATED = "NOT EVALUATED"


@dataclass(frozen=True, slots=True)
class ConsoleLine:
    """One printed line: its leading word (styled when printed in colour) and the rest, plain."""

    word: str
    rest: str
    style: str = ""

    def text(self, width: int) -> str:
        return f"{self.word:<{width}} {self.rest}".rstrip() if self.word else self.rest


def verdict_markup(verdict: Verdict) -> str:
    return f"[{COLOUR[verdict]}]{verdict.value}[/]"


_MINUTES = re.compile(r" \(\d+(?:\.\d+)? min\)")


def _plain(text: str) -> str:
    return text.replace(NBSP, " ")


def _short(text: str) -> str:
    """A formatted value or threshold without the report's minutes aside (`412 s`, not `412 s (6.9 min)`)."""
    return _MINUTES.sub("", _plain(text))


def _value(result: Result) -> str:
    text = _short(format_value(result.value, result.unit))
    if result.compressed is not None:
        compressed = _short(format_value(result.compressed.value, "seconds"))
        text += f" ({compressed} at {result.compressed.time_factor:g}x)"
    threshold = _short(format_threshold(result.threshold, result.unit))
    return text if threshold == "—" else f"{text} ({threshold})"


def _cut(text: str, room: int) -> str:
    return text if len(text) <= room else text[: max(room - 1, 0)].rstrip() + "…"


def _criterion(seen: Glance, room: int) -> str:
    """What follows the verdict word and the id, in at most `room` characters where it can: the
    worst scope and its value, how the scopes fared, then the detail, which alone is ever cut."""
    worst = seen.worst
    if worst is None:
        return "no results"
    several = seen.scopes > 1
    if worst.value is not None:
        lead = ("closest " if worst.verdict is Verdict.PASS else "worst ") if several else ""
        scope = "" if worst.scope_text == "all" and not several else f"{worst.scope_text} "
        facts = [f"{lead}{scope}{_value(worst)}"]
        detail = _plain(worst.detail) if worst.verdict is not Verdict.PASS else ""
    elif several:  # inconclusive or not exercised: the reason is the news
        facts, detail = [f"worst {worst.scope_text}"], _plain(worst.detail)
    else:
        where = f"{worst.scope_text}: " if worst.scope_text != "all" else ""
        facts, detail = [], where + _plain(worst.detail)
    if several:
        facts.append(seen.counts_text())
    head = "; ".join(facts)
    if not detail:
        return head
    if not head:
        return _cut(detail, room)
    if len(head) + 2 >= room:
        return head
    return _cut(f"{head}; {detail}", room)


def verdict_lines(summary: Summary, *, with_advice: bool = True) -> list[ConsoleLine]:
    """The lines (see the module doc), in order: criteria, criteria not evaluated, advice."""
    seen = glances(summary)
    ids = [s.id + (" (info)" if s.info else "") for s in seen] + [
        n.id + (f" ({n.measure})" if n.measure else "") for n in summary.not_evaluated
    ]
    id_width = max((len(i) for i in ids), default=0)
    word_width = len(NOT_EVALUATED) if summary.not_evaluated else max(
        (len(s.verdict.value) for s in seen), default=0)
    room = LINE_LIMIT - (word_width + 1 + id_width + 1)
    lines = [
        ConsoleLine(s.verdict.value.upper(), f"{name:<{id_width}} {_criterion(s, room)}", COLOUR[s.verdict])
        for s, name in zip(seen, ids, strict=False)
    ]
    lines += [
        ConsoleLine(NOT_EVALUATED, _cut(f"{name:<{id_width}} {n.reason}", LINE_LIMIT - word_width - 1), "dim")
        for n, name in zip(summary.not_evaluated, ids[len(seen):], strict=True)
    ]
    if with_advice:
        for s in seen:
            failed = [r for r in (s.worst, *s.others) if r is not None and r.verdict is Verdict.FAIL]
            if not failed:
                continue
            scope = "" if failed[0].scope_text == "all" else f" {failed[0].scope_text}"
            lines += [ConsoleLine("", f"  advice {s.id}{scope}: {_plain(a)}") for a in failed[0].advice]
            if len(failed) > 1:
                lines.append(ConsoleLine("", f"  advice {s.id}: {len(failed) - 1} more failed scope"
                                             f"{'s' if len(failed) > 2 else ''} in report.html"))
    return lines


def verdict_text(summary: Summary, title: str, *, with_advice: bool = True) -> Text:
    """The title, then the lines, the verdict words in colour, for a rich console."""
    lines = verdict_lines(summary, with_advice=with_advice)
    width = max((len(line.word) for line in lines), default=0)
    text = Text(title, style="bold")
    for line in lines:
        text.append("\n")
        if line.word:
            text.append(line.word, style=line.style)
            text.append(" " * (width - len(line.word) + 1) + line.rest)
        else:
            text.append(line.rest)
    return text


def plain_verdict_lines(summary: Summary, *, with_advice: bool = True) -> list[str]:
    """The lines as plain text, for a plain print."""
    lines = verdict_lines(summary, with_advice=with_advice)
    width = max((len(line.word) for line in lines), default=0)
    return [line.text(width) for line in lines]


def print_verdicts(console: Console, summary: Summary, title: str, *, with_advice: bool = True) -> None:
    """Print them with wrapping and cropping off: a CI log keeps every line whole."""
    console.print(verdict_text(summary, title, with_advice=with_advice), soft_wrap=True)


def overall_verdict_line(summary: Summary) -> str:
    line = f"verdict: [bold {COLOUR[summary.verdict]}]{summary.verdict.value.upper()}[/]"
    return f"{line} (the run aborted itself: {summary.aborted})" if summary.aborted else line
