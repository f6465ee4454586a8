"""`validator lint`: static checks of Kubernetes manifests against the platform brief.

Pure: every check takes parsed manifests (with the file each came from) and returns findings.
Reading files and running kustomize happen in `validator.commands.lint`.
"""

from validator.lint.findings import Finding, Manifest, Severity
from validator.lint.linter import CHECKS, lint
from validator.lint.options import LintOptions
from validator.lint.peaks import ExpectedPeaks, QuotaPeak, parse_expected_peaks

__all__ = [
    "CHECKS",
    "ExpectedPeaks",
    "Finding",
    "LintOptions",
    "Manifest",
    "QuotaPeak",
    "Severity",
    "lint",
    "parse_expected_peaks",
]
