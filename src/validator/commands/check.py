"""`validator check`: judge a past window of any Prometheus, with no cluster and no run.

Every criterion that Prometheus alone can answer (`PROMETHEUS_ONLY`) is evaluated over
[--start, --end]; the others are listed as *not evaluated*, with what they need, in the console
table, summary.json, junit.xml and report.html. Not-evaluated criteria do not count towards the
overall verdict (it is computed over the evaluated criteria only: docs/criteria.md, "validator
check"), so a clean Prometheus-only window can pass.

The output directory is a run directory (docs/run-directory.md) holding manifest.json and
evidence/metrics.json, so `validator evaluate DIR` / `validator report DIR` can redo it offline.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from validator.collect.prometheus import DEFAULT_AGENT_LABEL, DEFAULT_TOKEN_ENV, RetryPolicy, collect_metrics
from validator.commands import Subcommands, add_regressions_option
from validator.commands.export_options import add_export_arguments, export_targets
from validator.config.criteria_file import load_criteria_file
from validator.criteria.registry import (
    CRITERIA,
    build_specs,
    prometheus_measures,
    prometheus_only_ids,
)
from validator.errors import ConfigError
from validator.export import export_results
from validator.export.series import CHECK_SUITE
from validator.history import default_history_path, judge_against_history, record_run, regression_lines
from validator.history.evidence import history_evidence
from validator.model import (
    CriterionOverride,
    CriterionSpec,
    Evidence,
    MetricsEvidence,
    NotEvaluated,
    RegressionPolicy,
    RunManifest,
    SourceName,
    Summary,
    TimeWindow,
    parse_rfc3339,
)
from validator.redaction import redact_url, strip_url_credentials
from validator.report.console_table import overall_verdict_line, print_verdicts
from validator.report.publish import evaluate_and_report, exit_code_for
from validator.run_directory.manifest import load_manifest, write_manifest
from validator.run_directory.metrics import load_metrics

# What each criterion `check` cannot judge would need (shown as the not-evaluated reason).
NEEDS: dict[str, str] = {
    "pdb_respected": "the Kubernetes watch (evictions and PDB status during drains)",
    "maintenance_disruption": "Locust's history and the planned-maintenance windows of a run",
    "recovery_time": "the fault windows of a run (chaos/faults.jsonl) and the Kubernetes watch",
    "graceful_degradation": "Locust's history during the fault windows of a run",
    "resource_isolation": "the Kubernetes watch (quota and admission rejections are Events)",
    "alert_accuracy": "the fault windows and expected alerts of a run",
}
NOT_EVALUATED_NOTE = "needs {needs}; `validator check` reads Prometheus only, `validator run` judges it"


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "check",
        help="judge a past window of any Prometheus (no cluster needed)",
        description=(
            "Evaluate every criterion that Prometheus alone can answer over a past window. The others "
            "are listed as not evaluated (they do not change the verdict). Writes summary.json, "
            "junit.xml and report.html. A bearer token, if Prometheus needs one, is read from "
            f"${DEFAULT_TOKEN_ENV} (never pass it on the command line); user:pass@ in the URL also works "
            "and is never written out."
        ),
    )
    parser.add_argument(
        "--prometheus-url",
        required=True,
        metavar="URL",
        help="e.g. http://127.0.0.1:9090 (a port-forward to the cluster's Prometheus)",
    )
    parser.add_argument(
        "--start", required=True, metavar="RFC3339", help="window start, e.g. 2026-11-20T02:00:00Z"
    )
    parser.add_argument(
        "--end", required=True, metavar="RFC3339", help="window end, e.g. 2026-11-20T04:00:00Z"
    )
    parser.add_argument(
        "--criteria", type=Path, metavar="FILE", help="YAML file of threshold/query overrides"
    )
    parser.add_argument(
        "--history",
        type=Path,
        default=None,
        metavar="PATH",
        help="the history file this is recorded into (default: history.sqlite beside the run directory)",
    )
    parser.add_argument(
        "--name",
        default=CHECK_SUITE,
        metavar="NAME",
        help=f"the name the history keeps this check under (default {CHECK_SUITE}): a check is compared "
        "with the earlier checks of the same name against the same Prometheus",
    )
    add_regressions_option(parser, default_text="warn")
    parser.add_argument(
        "--output",
        type=Path,
        metavar="DIR",
        help="output directory (default: reports/check-<UTC timestamp>/)",
    )
    parser.add_argument(
        "--step", type=float, default=15.0, metavar="SECONDS", help="range-query step in seconds (default 15)"
    )
    parser.add_argument(
        "--namespace",
        action="append",
        default=[],
        metavar="NS",
        dest="namespaces",
        help="restrict to this namespace (repeatable; default: all namespaces)",
    )
    parser.add_argument(
        "--agent-label",
        default=DEFAULT_AGENT_LABEL,
        metavar="KEY",
        help=f"pod label naming the agent type (default {DEFAULT_AGENT_LABEL})",
    )
    parser.add_argument(
        "--insecure-skip-tls-verify", action="store_true", help="do not verify Prometheus's TLS certificate"
    )
    parser.add_argument(
        "--bearer-token-env",
        default=DEFAULT_TOKEN_ENV,
        metavar="VAR",
        help=f"environment variable holding a bearer token (default {DEFAULT_TOKEN_ENV})",
    )
    add_export_arguments(parser)
    parser.set_defaults(handler=run_check)


def _parse_time(text: str, flag: str) -> float:
    try:
        return parse_rfc3339(text)
    except ValueError:
        raise ConfigError(
            f"{flag} {text!r} is not an RFC 3339 timestamp",
            where=flag,
            fix=f"write it as e.g. {flag} 2026-11-20T02:00:00Z (UTC, trailing Z, or with an offset)",
        ) from None


def parse_window(start: str, end: str) -> TimeWindow:
    """The window of --start/--end, or ConfigError naming the argument at fault."""
    lo = _parse_time(start, "--start")
    hi = _parse_time(end, "--end")
    if hi <= lo:
        raise ConfigError(
            f"--end {end} is not after --start {start}",
            where="--start/--end",
            fix="give a window whose end follows its start",
        )
    now = datetime.now(UTC).timestamp()
    if lo > now:
        raise ConfigError(
            f"--start {start} is in the future",
            where="--start",
            fix="`validator check` judges a past window; give a start before now",
        )
    return TimeWindow(start=lo, end=hi)


def check_queries(specs: Mapping[str, CriterionSpec], ids: Sequence[str]) -> dict[str, str]:
    """The query keys the evaluated criteria read. An overridden query wins over a default of the same key."""
    out: dict[str, str] = {}
    overridden: set[str] = set()
    for cid in ids:
        defaults = CRITERIA[cid].QUERIES
        for key, promql in specs[cid].queries.items():
            is_override = promql != defaults.get(key)
            if key in overridden and not is_override:
                continue
            out[key] = promql
            if is_override:
                overridden.add(key)
    return out


def _not_evaluated(summary: Summary) -> Summary:
    notes = tuple(
        NotEvaluated(
            id=n.id,
            measure=n.measure,
            reason=NOT_EVALUATED_NOTE.format(needs=NEEDS.get(n.id, "evidence of a run")),
        )
        for n in summary.not_evaluated
    )
    return replace(summary, not_evaluated=notes)


def _print_table(console: Console, summary: Summary, out_dir: Path) -> None:
    print_verdicts(console, summary, f"validator check {summary.run_id}")
    console.print(
        f"{overall_verdict_line(summary)} ({len(summary.criteria)} evaluated, {len(summary.not_evaluated)} "
        f"not evaluated, which do not count)\nreports: {out_dir}"
    )


def _new_check_dir(reports: Path) -> Path:
    """reports/check-<UTC timestamp>/, with -2, -3 ... when a check of the same second has it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    candidate = reports / f"check-{stamp}"
    n = 1
    while candidate.exists():
        n += 1
        candidate = reports / f"check-{stamp}-{n}"
    return candidate


def history_context(prometheus_url: str) -> str:
    """What a check records as its context: the Prometheus it read (no credentials), so that checks of
    different clusters recorded into one history are never compared with each other."""
    clean, _ = strip_url_credentials(prometheus_url)
    return f"prometheus {redact_url(clean).rstrip('/')}"


def run_check(args: argparse.Namespace) -> int:
    window = parse_window(args.start, args.end)
    if not args.name.strip():
        raise ConfigError(
            "--name is blank", where="--name", fix=f"give the check a name, e.g. --name {CHECK_SUITE}"
        )
    if not math.isfinite(args.step) or args.step <= 0:
        raise ConfigError(
            f"--step {args.step:g} must be a positive number of seconds",
            where="--step",
            fix="e.g. --step 15 (the scrape interval is a good choice)",
        )
    overrides = load_criteria_file(args.criteria) if args.criteria is not None else {}
    specs = build_specs(overrides)
    ids = prometheus_only_ids()
    # a criterion Prometheus answers only in part (resource_isolation's throttling) is judged on that
    # part; the rest is listed as not evaluated
    specs = {cid: replace(spec, measures=prometheus_measures(cid)) if cid in ids else spec
             for cid, spec in specs.items()}
    out_dir = args.output if args.output is not None else _new_check_dir(Path("reports"))
    # the directory names the run, as for `validator run --output`: two checks started in the same
    # second are two runs of the history, not one recorded over the other
    run_id = out_dir.resolve().name
    namespaces = tuple(dict.fromkeys(args.namespaces))
    write_manifest(
        out_dir,
        RunManifest(
            run_id=run_id,
            window=window,
            suite=args.name,
            context=history_context(args.prometheus_url),
            kind="check",
            namespaces=namespaces,
            agent_label=args.agent_label,
            criteria=overrides,
        ),
    )
    metrics_path = collect_metrics(
        out_dir,
        args.prometheus_url,
        check_queries(specs, ids),
        datetime.fromtimestamp(window.start, UTC),
        datetime.fromtimestamp(window.end, UTC),
        step_seconds=args.step,
        agent_label_key=args.agent_label,
        namespaces=namespaces,
        disable_ssl=args.insecure_skip_tls_verify,
        token_env=args.bearer_token_env,
        retry=RetryPolicy(),
    )
    # Read back what was written, exactly as `validator evaluate DIR` would.
    metrics = load_metrics(metrics_path)
    _reject_bad_override_queries(args.criteria, overrides, metrics)
    manifest = load_manifest(out_dir / "manifest.json")
    evidence = Evidence(
        manifest=manifest,
        metrics=metrics,
        missing={
            SourceName.K8S: "validator check reads Prometheus only",
            SourceName.LOAD: "validator check reads Prometheus only",
            SourceName.CHAOS: "validator check reads Prometheus only",
        },
        history=history_evidence(args.history or default_history_path(out_dir), manifest),
    )
    policy = RegressionPolicy(args.regressions or RegressionPolicy.WARN)
    summary = evaluate_and_report(
        out_dir,
        specs,
        evidence,
        only=ids,
        revise=lambda s: judge_against_history(
            args.history, _not_evaluated(s), evidence.manifest, out_dir, policy=policy
        ),
    )
    recorded = record_run(args.history, summary, evidence.manifest, out_dir, kind="check", evidence=evidence)
    print(f"history: {recorded}")
    export_results(export_targets(args), summary, evidence, kind="check")
    _print_table(Console(), summary, out_dir)
    for line in regression_lines(summary.regressions):
        print(line)
    return exit_code_for(summary.verdict)


def _reject_bad_override_queries(
    source: Path | None, overrides: Mapping[str, CriterionOverride], metrics: MetricsEvidence
) -> None:
    """An overridden query that Prometheus refused as bad (HTTP 400) is bad input: exit 2, naming the key.

    (A default query refused by Prometheus stays an evidence problem: that criterion is inconclusive.)
    """
    problems = []
    for cid, override in overrides.items():
        for key in override.queries:
            result = metrics.queries.get(key)
            if result is not None and not result.ok and "HTTP 400" in result.error:
                problems.append(
                    f"{source}: criteria.{cid}.queries.{key}: Prometheus rejected it: {result.error}"
                )
    if problems:
        raise ConfigError(
            "bad PromQL in the criteria file:\n  " + "\n  ".join(problems),
            where=str(source),
            fix="correct the query (try it in Prometheus's expression browser first), or remove the override",
        )
