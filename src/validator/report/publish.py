"""Judging evidence and writing the three reports, and the exit code a verdict gives: the one path
every command that ends in a verdict takes (`run`, `check`, `evaluate`, `report`).

    evidence -> evaluate_all -> summary.json, junit.xml, report.html -> exit code (docs/criteria.md)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from validator.criteria.registry import evaluate_all
from validator.errors import ExitCode
from validator.model import CriterionSpec, Evidence, Summary, Verdict
from validator.report.html import write_report_html
from validator.report.junit import write_junit_xml
from validator.report.summary import write_summary_json

EXIT_FOR_VERDICT: Mapping[Verdict, ExitCode] = {
    Verdict.PASS: ExitCode.PASS,
    Verdict.FAIL: ExitCode.FAIL,
    Verdict.INCONCLUSIVE: ExitCode.INCONCLUSIVE,
}


def exit_code_for(verdict: Verdict) -> int:
    """0 pass, 1 a criterion failed, 3 inconclusive (the run adds 5 and 130: run/suite_run.py)."""
    return int(EXIT_FOR_VERDICT[verdict])


def write_reports(out_dir: Path, summary: Summary, evidence: Evidence, *, summary_json: bool = True) -> None:
    """summary.json (unless it is the source being re-rendered), junit.xml and report.html."""
    if summary_json:
        write_summary_json(out_dir, summary)
    write_junit_xml(out_dir, summary)
    write_report_html(out_dir, summary, evidence)


def evaluate_and_report(
    out_dir: Path,
    specs: Mapping[str, CriterionSpec],
    evidence: Evidence,
    *,
    only: Sequence[str] | None = None,
    not_evaluated_reason: str | None = None,
    revise: Callable[[Summary], Summary] | None = None,
) -> Summary:
    """Judge the evidence with `specs` (only the criteria `only` names, when given), let `revise`
    amend the summary (e.g. `check`'s notes on what it cannot judge), and write the three reports."""
    summary = (
        evaluate_all(specs, evidence, only=only)
        if not_evaluated_reason is None
        else evaluate_all(specs, evidence, only=only, not_evaluated_reason=not_evaluated_reason)
    )
    if revise is not None:
        summary = revise(summary)
    write_reports(out_dir, summary, evidence)
    return summary
