"""`validator evaluate RUN_DIR` and `validator report RUN_DIR`: the offline half of a run.

`evaluate` recomputes every verdict from the run directory's evidence and writes summary.json,
junit.xml and report.html into it; its exit code is the verdict's (0 pass, 1 fail, 3 inconclusive).
`report` re-renders junit.xml and report.html from the summary.json already there (evaluating first
when there is none) and exits 0 once they are written.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

from validator.commands import Subcommands, add_regressions_option
from validator.commands.export_options import add_export_arguments, export_targets
from validator.config.criteria_file import load_criteria_file
from validator.criteria.registry import build_specs
from validator.errors import ConfigError, EvidenceUnavailable, ExitCode
from validator.export import export_results
from validator.history import default_history_path, judge_against_history, record_run, regression_lines
from validator.history.evidence import history_evidence
from validator.model import CriterionOverride, Evidence, RegressionPolicy, SourceName, Summary
from validator.report.console_table import plain_verdict_lines
from validator.report.publish import evaluate_and_report, exit_code_for, write_reports
from validator.report.summary import summary_from_document
from validator.run_directory import load_run_directory


def register(sub: Subcommands) -> None:
    evaluate = sub.add_parser(
        "evaluate",
        help="recompute the verdicts of a run directory, offline",
        description="Recompute every criterion from RUN_DIR's evidence and write summary.json, junit.xml "
        "and report.html into it. Exit 0 pass, 1 a criterion failed, 2 invalid input, 3 inconclusive.",
    )
    evaluate.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="a run directory (reports/<run-id>/)")
    evaluate.add_argument(
        "--history",
        type=Path,
        default=None,
        metavar="PATH",
        help="the history file this is recorded into (default: history.sqlite beside the run directory)",
    )
    add_regressions_option(evaluate, default_text="warn")
    evaluate.add_argument(
        "--criteria",
        metavar="FILE",
        type=Path,
        help="YAML file of threshold overrides (applied after the manifest's own), see docs/criteria.md",
    )
    add_export_arguments(evaluate)
    evaluate.set_defaults(handler=run_evaluate)
    report = sub.add_parser(
        "report",
        help="re-render junit.xml and report.html of a run directory",
        description="Re-render RUN_DIR's junit.xml and report.html from its summary.json (evaluating "
        "first when there is none). Exit 0 once written.",
    )
    report.add_argument("run_dir", metavar="RUN_DIR", type=Path, help="a run directory (reports/<run-id>/)")
    report.set_defaults(handler=run_report)


def evaluate_run(
    run_dir: Path,
    criteria_file: Path | None = None,
    *,
    history: Path | None = None,
    regressions: RegressionPolicy | None = None,
) -> tuple[Summary, Evidence]:
    """Load, judge (against the history too, when `regressions` is given) and write summary.json +
    junit.xml + report.html. Raises ConfigError on bad input. The earlier runs of the suite come
    from `history` (default: beside the run directory)."""
    file_overrides: dict[str, CriterionOverride] = load_criteria_file(criteria_file) if criteria_file else {}
    rewritten = sorted(cid for cid, o in file_overrides.items() if o.queries)
    if rewritten:
        print(
            f"validator: note: query overrides ({', '.join(rewritten)}) take effect when metrics are "
            f"collected "
            "(`validator run` / `check`); `evaluate` reads evidence/metrics.json as it was collected"
        )
    evidence = load_run_directory(run_dir)
    evidence = replace(
        evidence, history=history_evidence(history or default_history_path(run_dir), evidence.manifest)
    )
    policy = regressions
    summary = evaluate_and_report(
        run_dir,
        build_specs(evidence.manifest.criteria, file_overrides),
        evidence,
        revise=None
        if policy is None
        else lambda s: judge_against_history(history, s, evidence.manifest, run_dir, policy=policy),
    )
    return summary, evidence


def run_evaluate(args: argparse.Namespace) -> int:
    run_dir: Path = args.run_dir
    summary, evidence = evaluate_run(
        run_dir,
        args.criteria,
        history=args.history,
        regressions=RegressionPolicy(args.regressions or RegressionPolicy.WARN),
    )
    _print_summary(summary, run_dir)
    for line in regression_lines(summary.regressions):
        print(line)
    kind = evidence.manifest.kind
    recorded = record_run(args.history, summary, evidence.manifest, run_dir, kind=kind, evidence=evidence)
    print(f"history: {recorded}")
    export_results(export_targets(args), summary, evidence, kind=kind)
    if len(evidence.missing) == len(SourceName):
        raise EvidenceUnavailable(
            f"{run_dir} holds no evidence at all; every criterion is inconclusive",
            where=", ".join(f"{s.value}: {evidence.missing[s]}" for s in SourceName),
            fix="run `validator run` to completion, or copy the run's evidence/, load/ and chaos/ folders",
        )
    return exit_code_for(summary.verdict)


def run_report(args: argparse.Namespace) -> int:
    run_dir: Path = args.run_dir
    summary_path = run_dir / "summary.json"
    evidence = load_run_directory(run_dir)
    if not summary_path.is_file():
        print(f"validator: {summary_path} not found: evaluating the run first")
        summary, evidence = evaluate_run(run_dir)
    else:
        try:
            document = json.loads(summary_path.read_text(encoding="utf-8"))
            summary = summary_from_document(document, source=str(summary_path))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"{summary_path} cannot be read back: {exc}",
                where=str(summary_path),
                fix="run `validator evaluate RUN_DIR` to rewrite it",
            ) from None
        write_reports(run_dir, summary, evidence, summary_json=False)
    print(f"reports written to {run_dir} (verdict {summary.verdict.value})")
    return int(ExitCode.PASS)


def _print_summary(summary: Summary, run_dir: Path) -> None:
    print(f"run {summary.run_id}: {summary.verdict.value.upper()}")
    for line in plain_verdict_lines(summary):
        print(line)
    print(f"written: {run_dir / 'summary.json'}, {run_dir / 'junit.xml'}, {run_dir / 'report.html'}")
