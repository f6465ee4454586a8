"""The labels the validator relies on: the agent type and the component of every workload's pods."""

from __future__ import annotations

from validator.lint.findings import Finding, Manifest, Severity, finding
from validator.lint.options import LintOptions
from validator.lint.workloads import pod_templates

LABELS_CHECK = "validator-labels"


def check_validator_labels(manifests: list[Manifest], options: LintOptions) -> list[Finding]:
    findings: list[Finding] = []
    for template in pod_templates(manifests):
        prefix = template.field("metadata.labels")
        if options.agent_label not in template.labels:
            findings.append(finding(
                LABELS_CHECK, Severity.ERROR, template.manifest, f"{prefix}[{options.agent_label}]",
                f"the pods carry no {options.agent_label!r} label: the validator cannot tell their "
                "agent type, so their utilisation, OOM kills and recovery are judged nowhere",
                f"add the label {options.agent_label}: <agent type> (rex, blaze, cleo, tess, or the "
                "workload's name) to the pod template",
            ))
        if options.component_label not in template.labels:
            findings.append(finding(
                LABELS_CHECK, Severity.WARNING, template.manifest, f"{prefix}[{options.component_label}]",
                f"the pods carry no {options.component_label!r} label: the validator cannot tell "
                "agents from controllers",
                f"add the label {options.component_label}: agent (or controller for the workflow "
                "controller) to the pod template",
            ))
    return findings
