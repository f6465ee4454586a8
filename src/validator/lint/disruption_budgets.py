"""PodDisruptionBudgets that select something and can never block every drain."""

from __future__ import annotations

import math
import re

from validator.lint.findings import Finding, Manifest, Severity, finding
from validator.lint.options import LintOptions
from validator.lint.workloads import SCALABLE_KINDS, pod_templates
from validator.model.label_selector import selects

PDB_CHECK = "pdb-drainable"
_PERCENT = re.compile(r"^(\d+)%$")


def minimum_replicas(workload: Manifest, manifests: list[Manifest]) -> int:
    """The fewest replicas the workload can run with: an HPA's minReplicas if one targets it,
    else spec.replicas (default 1). DaemonSets, Jobs and bare Pods count as 1."""
    for hpa in manifests:
        if hpa.kind != "HorizontalPodAutoscaler" or hpa.namespace != workload.namespace:
            continue
        spec = hpa.obj.get("spec") or {}
        target = spec.get("scaleTargetRef") or {}
        if target.get("kind") == workload.kind and target.get("name") == workload.name:
            minimum = spec.get("minReplicas", 1)
            return minimum if isinstance(minimum, int) else 1
    if workload.kind in SCALABLE_KINDS:
        replicas = (workload.obj.get("spec") or {}).get("replicas", 1)
        return replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else 1
    return 1


def _hpa_for(workload: Manifest, manifests: list[Manifest]) -> bool:
    for hpa in manifests:
        target = (hpa.obj.get("spec") or {}).get("scaleTargetRef") or {}
        if (hpa.kind == "HorizontalPodAutoscaler" and hpa.namespace == workload.namespace
                and target.get("kind") == workload.kind and target.get("name") == workload.name):
            return True
    return False


def _resolve(value: object, replicas: int) -> int | None:
    """An int-or-percent budget field as a pod count; percentages round up, as the disruption
    controller rounds both minAvailable and maxUnavailable (10% of 3 pods is 1)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        match = _PERCENT.match(value.strip())
        if match:
            scaled = int(match.group(1)) * replicas / 100
            return math.ceil(scaled)
        if value.strip().isdigit():
            return int(value.strip())
    return None


def check_pdb_drainable(manifests: list[Manifest], options: LintOptions) -> list[Finding]:
    findings: list[Finding] = []
    for pdb in manifests:
        if pdb.kind != "PodDisruptionBudget":
            continue
        spec = pdb.obj.get("spec") or {}
        selector = spec.get("selector")
        if selector is None:
            findings.append(finding(
                PDB_CHECK, Severity.ERROR, pdb, "spec.selector",
                "the budget has no selector, so it protects no pod",
                "add spec.selector.matchLabels with the labels of the pods it should protect",
            ))
            continue
        workloads = [
            t.manifest for t in pod_templates(manifests)
            if t.manifest.namespace == pdb.namespace and selects(selector, t.labels)
        ]
        if not workloads:
            findings.append(finding(
                PDB_CHECK, Severity.ERROR, pdb, "spec.selector",
                f"the selector matches no workload's pods in namespace {pdb.namespace!r} among the "
                "linted manifests, so the budget protects nothing",
                "make spec.selector match the pod template labels of the workload it should protect "
                "(or delete the budget)",
            ))
            continue
        replicas = sum(minimum_replicas(w, manifests) for w in workloads)
        names = ", ".join(f"{w.kind}/{w.name}" for w in workloads)
        if any(_hpa_for(w, manifests) for w in workloads):
            names += " (at its HPA's minReplicas)"
        if "minAvailable" in spec:
            wanted = _resolve(spec["minAvailable"], replicas)
            if wanted is not None and wanted >= replicas:
                findings.append(finding(
                    PDB_CHECK, Severity.ERROR, pdb, "spec.minAvailable",
                    f"minAvailable {spec['minAvailable']} >= the {replicas} replica(s) of {names}: "
                    "every eviction is refused, so a node drain blocks forever",
                    "use maxUnavailable: 1, or keep minAvailable below the minimum replica count "
                    f"(at most {replicas - 1})" if replicas > 1 else
                    "use maxUnavailable: 1 (with a single replica, any minAvailable >= 1 blocks drains)",
                ))
        if "maxUnavailable" in spec:
            allowed = _resolve(spec["maxUnavailable"], replicas)
            if allowed is not None and allowed <= 0:
                findings.append(finding(
                    PDB_CHECK, Severity.ERROR, pdb, "spec.maxUnavailable",
                    f"maxUnavailable {spec['maxUnavailable']} allows no disruption of {names}: "
                    "every eviction is refused, so a node drain blocks forever",
                    "set maxUnavailable: 1 (or a percentage above 0%)",
                ))
    return findings
