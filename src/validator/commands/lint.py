"""`validator lint PATH...`: static checks of manifests against the platform brief.

Exit 0 when there is no error (warnings allowed), 1 when there is one, 2 on unreadable input.
"""

from __future__ import annotations

import argparse
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path

from validator.commands import Subcommands
from validator.commands.lint_inputs import find_peaks_file, load_sets, read_peaks_file
from validator.errors import ConfigError, ExitCode
from validator.lint import CHECKS, Finding, LintOptions, Severity, lint, parse_expected_peaks
from validator.lint.options import DEFAULT_MAX_RATIO
from validator.lint.output import render_json, render_table


def _ratio(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from exc
    if value < 1:
        raise argparse.ArgumentTypeError("the ratio bound must be >= 1")
    return value


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "lint",
        help="check manifests against the platform brief (requests/limits, quotas, PDBs, HPAs, ...)",
        description=(
            "Static checks of Kubernetes manifests against the platform brief. PATH is a file, a "
            "directory (kustomizations inside are built with `kubectl kustomize`; other YAML files "
            "are read as they are), or `-` for kustomize output on stdin. Checks: "
            + ", ".join(CHECKS)
            + "."
        ),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH")
    parser.add_argument(
        "--peaks", type=Path, default=None,
        help="expected-peaks profile for the quota check (default: expected-peaks.yaml in PATH or a parent)",
    )
    parser.add_argument(
        "--max-ratio", type=_ratio, default=DEFAULT_MAX_RATIO,
        help=f"largest allowed limit/request ratio (default {DEFAULT_MAX_RATIO})",
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--kubectl", default=None, help="kubectl to build kustomizations with")
    parser.set_defaults(handler=run_lint)


def run_lint(args: argparse.Namespace) -> int:
    peaks_path: Path | None = args.peaks
    if peaks_path is not None and not peaks_path.is_file():
        raise ConfigError(f"{peaks_path} does not exist", where="--peaks", fix="pass an existing file")
    if peaks_path is None:
        peaks_path = find_peaks_file(args.paths)
    peaks = None
    if peaks_path is not None:
        peaks = parse_expected_peaks(read_peaks_file(peaks_path), str(peaks_path))
    options = LintOptions(max_ratio=args.max_ratio, peaks=peaks)
    findings: list[Finding] = []
    labels: list[str] = []
    for manifest_set in load_sets(args.paths, args.kubectl):
        labels.append(manifest_set.label)
        findings.extend(lint(manifest_set.manifests, options))
    render = render_json if args.format == "json" else render_table
    sys.stdout.write(render(findings, labels))
    if peaks_path is not None and args.format == "table":
        print(f"quota peaks from {peaks_path}", file=sys.stderr)
    has_error = any(f.severity is Severity.ERROR for f in findings)
    return int(ExitCode.FAIL if has_error else ExitCode.PASS)
