"""HorizontalPodAutoscalers with explicit scale-up and scale-down behaviour."""

from __future__ import annotations

from validator.lint.findings import Finding, Manifest, Severity, finding
from validator.lint.options import LintOptions

HPA_CHECK = "hpa-behavior"


def check_hpa_behavior(manifests: list[Manifest], options: LintOptions) -> list[Finding]:
    findings: list[Finding] = []
    for hpa in manifests:
        if hpa.kind != "HorizontalPodAutoscaler":
            continue
        if hpa.api_version == "autoscaling/v1":
            findings.append(finding(
                HPA_CHECK, Severity.ERROR, hpa, "apiVersion",
                "autoscaling/v1 has no scaling behaviour: the HPA scales up and down at the "
                "default rates, which thrash under bursty workflow load",
                "use autoscaling/v2 and set spec.behavior.scaleUp and spec.behavior.scaleDown "
                "(brief: up after 300 s, +100% at most; down after 900 s, -50% at most)",
            ))
            continue
        spec = hpa.obj.get("spec") or {}
        behavior = spec.get("behavior") or {}
        for direction, example in (
            ("scaleUp", "stabilizationWindowSeconds: 300 and a Percent policy of 100"),
            ("scaleDown", "stabilizationWindowSeconds: 900 and a Percent policy of 50"),
        ):
            rules = behavior.get(direction) if isinstance(behavior, dict) else None
            if not isinstance(rules, dict) or not rules:
                findings.append(finding(
                    HPA_CHECK, Severity.ERROR, hpa, f"spec.behavior.{direction}",
                    f"no {direction} behaviour: the HPA uses the defaults, with no gradual policy "
                    "of the platform's own",
                    f"set spec.behavior.{direction} with {example}",
                ))
            elif "stabilizationWindowSeconds" not in rules:
                findings.append(finding(
                    HPA_CHECK, Severity.WARNING, hpa, f"spec.behavior.{direction}.stabilizationWindowSeconds",
                    f"{direction} has no stabilisation window of its own",
                    f"set spec.behavior.{direction}.stabilizationWindowSeconds ({example})",
                ))
        target = spec.get("scaleTargetRef") or {}
        kind, name = target.get("kind"), target.get("name")
        known_kinds = {m.kind for m in manifests}
        if kind in known_kinds and not any(
            m.kind == kind and m.name == name and m.namespace == hpa.namespace for m in manifests
        ):
            findings.append(finding(
                HPA_CHECK, Severity.WARNING, hpa, "spec.scaleTargetRef",
                f"targets {kind}/{name}, which is not among the linted manifests of namespace "
                f"{hpa.namespace!r}",
                "point scaleTargetRef at the workload's kind and name",
            ))
    return findings
