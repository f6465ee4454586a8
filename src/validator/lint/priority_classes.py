"""References to PriorityClasses that exist (in the linted set, or built in)."""

from __future__ import annotations

from validator.lint.findings import Finding, Manifest, Severity, finding
from validator.lint.options import LintOptions
from validator.lint.workloads import pod_templates

PRIORITY_CHECK = "priority-class-exists"
BUILT_IN = {"system-cluster-critical", "system-node-critical"}


def check_priority_class_exists(manifests: list[Manifest], options: LintOptions) -> list[Finding]:
    defined = {m.name for m in manifests if m.kind == "PriorityClass"}
    known = defined | BUILT_IN
    findings: list[Finding] = []
    for template in pod_templates(manifests):
        name = template.spec.get("priorityClassName")
        if not name or name in known:
            continue
        choices = ", ".join(sorted(defined)) or "none defined"
        findings.append(finding(
            PRIORITY_CHECK, Severity.ERROR, template.manifest, template.field("spec.priorityClassName"),
            f"PriorityClass {name!r} does not exist in the linted manifests nor among the built-in "
            "system-* classes: the API server refuses the pods",
            f"use one of the defined classes ({choices}) or add a PriorityClass named {name!r}",
        ))
    return findings
