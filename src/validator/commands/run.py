"""`validator run SUITE --context CTX`: a whole run (preflight, recorder, load, experiments, metrics,
evaluation, reports), see validator.run.

Suite-specific options:

- `maintenance-rehearsal --node N | --pool P`: first a dry-run eviction of every pod on the target
  (pod, budget, would it be refused); then a real drain under load that passes only with zero
  disruption. `--dry-run` stops after the first part and changes nothing.
- `on-demand --experiment PATH --profile NAME [--at DURATION]`: any experiment under any load profile.

`--dry-run` on another suite plans every experiment (server-side dry-run evictions) and writes nothing.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

from validator.commands import Subcommands, add_regressions_option
from validator.commands.export_options import add_export_arguments, export_targets
from validator.config.suite_file import PROFILES, ExperimentSpec, Suite, load_suite_file, parse_duration
from validator.errors import ConfigError
from validator.model import RegressionPolicy
from validator.resources import bundled_suites, suite_path
from validator.run import RehearsalTarget, RunRequest, run_suite

REHEARSAL = "maintenance-rehearsal"
ON_DEMAND = "on-demand"


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "run",
        help="run a suite: load + experiments on a cluster, then evaluate and report",
        description="Run SUITE (suites/nightly.yaml, maintenance-rehearsal.yaml, on-demand.yaml "
        "or your own) against --context, which must be in the allow-list (validator allow). "
        "Everything lands in reports/<run-id>/. Exit codes: 0 pass, 1 a criterion failed, 2 "
        "invalid input, 3 inconclusive or an evidence source unreachable, 4 refused for safety, "
        "5 a rollback failed, 130 interrupted.",
    )
    parser.add_argument(
        "suite",
        metavar="SUITE",
        type=Path,
        help="a suite file (YAML), or the name of a bundled suite: " + ", ".join(bundled_suites()),
    )
    parser.add_argument(
        "--context",
        default=os.environ.get("VALIDATOR_CONTEXT"),
        help="kubeconfig context, named explicitly (or $VALIDATOR_CONTEXT); must be allow-listed",
    )
    parser.add_argument(
        "--kubeconfig",
        default=os.environ.get("VALIDATOR_KUBECONFIG"),
        help="kubeconfig file (default: the sandbox's for a sandbox context, else $KUBECONFIG)",
    )
    parser.add_argument(
        "--allowlist",
        type=Path,
        default=None,
        help="allow-list file (default: $VALIDATOR_ALLOWLIST or ~/.config/validator/allowlist.yaml)",
    )
    parser.add_argument(
        "--history",
        type=Path,
        default=None,
        metavar="PATH",
        help="the history file the run is recorded into (default: history.sqlite beside the run directory)",
    )
    add_regressions_option(parser, default_text="the suite's regressions.policy, else warn")
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        metavar="DIR",
        help="run directory (default: reports/<UTC timestamp>-<suite>/)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="change nothing: the rehearsal's dry-run evictions, or every experiment's plan",
    )
    parser.add_argument(
        "--timing",
        choices=("auto", "sandbox", "real"),
        default="auto",
        help="the suite's timings to use (auto: sandbox when the context is the sandbox's)",
    )
    parser.add_argument(
        "--prometheus-url",
        default="",
        metavar="URL",
        help="Prometheus (default: $VALIDATOR_PROMETHEUS_URL, or the sandbox's)",
    )
    parser.add_argument(
        "--workflow-api-url",
        default="",
        metavar="URL",
        help="the platform's submission API for the load (default: $VALIDATOR_WORKFLOW_API_URL, "
        "or the sandbox's simulated platform)",
    )
    rehearsal = parser.add_argument_group("maintenance-rehearsal")
    target = rehearsal.add_mutually_exclusive_group()
    target.add_argument("--node", default="", help="the node to rehearse draining")
    target.add_argument("--pool", default="", help="the node pool (label node-pool) to rehearse draining")
    demand = parser.add_argument_group("on-demand")
    demand.add_argument(
        "--experiment", type=Path, default=None, metavar="PATH", help="Chaos Toolkit experiment"
    )
    demand.add_argument("--profile", default="", choices=("", *PROFILES), help="load profile")
    demand.add_argument(
        "--at",
        default="",
        metavar="DURATION",
        help="when the experiment starts, from the load's start (default: the suite's)",
    )
    add_export_arguments(parser)
    parser.set_defaults(handler=run_command)


def apply_options(args: argparse.Namespace, suite: Suite) -> tuple[Suite, RehearsalTarget | None]:
    problems: list[str] = []
    is_rehearsal = suite.name == REHEARSAL
    is_demand = suite.name == ON_DEMAND
    target: RehearsalTarget | None = None
    if is_rehearsal:
        if not (args.node or args.pool):
            problems.append("--node N or --pool P: the maintenance rehearsal needs a target")
        else:
            target = RehearsalTarget(node=args.node, pool=args.pool)
    elif args.node or args.pool:
        problems.append(
            f"--node/--pool: only the {REHEARSAL} suite takes a drain target (this suite is {suite.name!r})"
        )
    if not is_demand and (args.experiment or args.profile or args.at):
        problems.append(
            f"--experiment/--profile/--at: only the {ON_DEMAND} suite takes them "
            f"(this suite is {suite.name!r})"
        )
    if problems:
        raise ConfigError(
            "invalid options:\n    " + "\n    ".join(problems),
            where=f"validator run {args.suite}",
            fix="see `validator run --help`",
        )
    if target is not None:
        experiments = tuple(
            replace(
                e,
                env={**e.env, "VALIDATOR_DRAIN_NODE_SELECTOR": target.selector, "VALIDATOR_DRAIN_COUNT": "1"},
            )
            for e in suite.experiments
        )
        suite = replace(suite, experiments=experiments)
    if is_demand:
        if args.profile:
            suite = replace(suite, load=replace(suite.load, profile=args.profile))
        if args.experiment or args.at:
            base = suite.experiments[0] if suite.experiments else None
            path = args.experiment or (base.path if base else None)
            if path is None or not Path(path).is_file():
                raise ConfigError(
                    f"experiment {path} does not exist",
                    where="--experiment",
                    fix="give a Chaos Toolkit experiment file, e.g. experiments/node-failure.json",
                )
            at = dict(base.at_s) if base else {"sandbox": 30.0, "real": 300.0}
            if args.at:
                seconds = parse_duration(args.at)
                if seconds is None:
                    raise ConfigError(
                        f"--at {args.at!r} is not a duration", where="--at", fix="e.g. --at 60s"
                    )
                at = {"sandbox": seconds, "real": seconds}
            name = Path(path).stem
            suite = replace(
                suite,
                experiments=(
                    ExperimentSpec(
                        name=name,
                        path=Path(path).resolve(),
                        at_s=at,
                        env=base.env if base and not args.experiment else {},
                        expected_alerts=(),
                        hold_s=dict(base.hold_s) if base else {},
                    ),
                ),
            )
    return suite, target


def run_command(args: argparse.Namespace) -> int:
    suite = load_suite_file(suite_path(args.suite))
    suite, target = apply_options(args, suite)
    request = RunRequest(
        suite=suite,
        context=args.context or "",
        kubeconfig=args.kubeconfig,
        allowlist=args.allowlist,
        output=args.output,
        mode=None if args.timing == "auto" else args.timing,
        prometheus_url=args.prometheus_url,
        workflow_api_url=args.workflow_api_url,
        dry_run=args.dry_run,
        rehearsal_target=target,
        history=args.history,
        regressions=RegressionPolicy(args.regressions) if args.regressions else None,
        export=export_targets(args),
    )
    return run_suite(request)
