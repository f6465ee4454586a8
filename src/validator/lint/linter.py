"""The registry of checks and the one entry point, `lint(manifests, options)`."""

from __future__ import annotations

from collections.abc import Callable

from validator.lint.autoscalers import HPA_CHECK, check_hpa_behavior
from validator.lint.disruption_budgets import PDB_CHECK, check_pdb_drainable
from validator.lint.findings import Finding, Manifest, Severity
from validator.lint.labels import LABELS_CHECK, check_validator_labels
from validator.lint.options import LintOptions
from validator.lint.priority_classes import PRIORITY_CHECK, check_priority_class_exists
from validator.lint.quotas import QUOTA_CHECK, check_quota_buffer
from validator.lint.resources import (
    RATIO_CHECK,
    RESOURCES_CHECK,
    check_container_resources,
    check_limit_request_ratio,
)
from validator.lint.storage import PVC_CHECK, check_pvc_size_bounds

Check = Callable[[list[Manifest], LintOptions], list[Finding]]

CHECKS: dict[str, Check] = {
    RESOURCES_CHECK: check_container_resources,
    RATIO_CHECK: check_limit_request_ratio,
    QUOTA_CHECK: check_quota_buffer,
    PDB_CHECK: check_pdb_drainable,
    HPA_CHECK: check_hpa_behavior,
    PRIORITY_CHECK: check_priority_class_exists,
    PVC_CHECK: check_pvc_size_bounds,
    LABELS_CHECK: check_validator_labels,
}


def lint(manifests: list[Manifest], options: LintOptions | None = None) -> list[Finding]:
    """Every finding of every check, errors first, then by file and object."""
    opts = options or LintOptions()
    findings: list[Finding] = []
    for check in CHECKS.values():
        findings.extend(check(manifests, opts))
    order = {Severity.ERROR: 0, Severity.WARNING: 1}
    return sorted(findings, key=lambda f: (order[f.severity], f.source, f.object, f.field, f.check))
