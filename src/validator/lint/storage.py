"""PVC sizes inside the LimitRange bounds of their namespace."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from validator.lint.findings import Finding, Manifest, Severity, finding
from validator.lint.options import LintOptions
from validator.lint.quantities import try_quantity
from validator.lint.workloads import pod_templates

PVC_CHECK = "pvc-size-bounds"


def _bounds(manifests: list[Manifest]) -> dict[str, tuple[Manifest, Any, Any]]:
    """namespace -> (LimitRange, min storage, max storage) of its PersistentVolumeClaim limit."""
    out: dict[str, tuple[Manifest, Any, Any]] = {}
    for manifest in manifests:
        if manifest.kind != "LimitRange":
            continue
        for limit in (manifest.obj.get("spec") or {}).get("limits") or []:
            if isinstance(limit, dict) and limit.get("type") == "PersistentVolumeClaim":
                low = (limit.get("min") or {}).get("storage")
                high = (limit.get("max") or {}).get("storage")
                out[manifest.namespace] = (manifest, low, high)
    return out


def _claims(manifests: list[Manifest]) -> Iterator[tuple[Manifest, str, dict[str, Any]]]:
    """(manifest, field path of the claim spec, claim spec) for PVCs, StatefulSet volumeClaimTemplates
    and generic ephemeral volumes."""
    for manifest in manifests:
        if manifest.kind == "PersistentVolumeClaim":
            spec = manifest.obj.get("spec")
            if isinstance(spec, dict):
                yield manifest, "spec", spec
        if manifest.kind == "StatefulSet":
            templates = (manifest.obj.get("spec") or {}).get("volumeClaimTemplates") or []
            for index, template in enumerate(templates):
                if isinstance(template, dict) and isinstance(template.get("spec"), dict):
                    yield manifest, f"spec.volumeClaimTemplates[{index}].spec", template["spec"]
    for template in pod_templates(manifests):
        for index, volume in enumerate(template.spec.get("volumes") or []):
            ephemeral = volume.get("ephemeral") if isinstance(volume, dict) else None
            if isinstance(ephemeral, dict):
                claim = (ephemeral.get("volumeClaimTemplate") or {}).get("spec")
                if isinstance(claim, dict):
                    field = template.field(f"spec.volumes[{index}].ephemeral.volumeClaimTemplate.spec")
                    yield template.manifest, field, claim


def check_pvc_size_bounds(manifests: list[Manifest], options: LintOptions) -> list[Finding]:
    bounds = _bounds(manifests)
    findings: list[Finding] = []
    for manifest, path, claim in _claims(manifests):
        field = f"{path}.resources.requests.storage"
        raw = ((claim.get("resources") or {}).get("requests") or {}).get("storage")
        if raw is None:
            findings.append(finding(
                PVC_CHECK, Severity.ERROR, manifest, field,
                "the claim requests no storage size",
                "set resources.requests.storage (agent workspaces: 10Gi, testing agents 50Gi)",
            ))
            continue
        size = try_quantity(raw)
        if size is None:
            findings.append(finding(
                PVC_CHECK, Severity.ERROR, manifest, field, f"{raw!r} is not a valid quantity",
                "write a size such as 10Gi",
            ))
            continue
        bound = bounds.get(manifest.namespace)
        if bound is None:
            continue
        limitrange, low_raw, high_raw = bound
        low: Decimal | None = try_quantity(low_raw) if low_raw is not None else None
        high: Decimal | None = try_quantity(high_raw) if high_raw is not None else None
        if low is not None and size < low:
            findings.append(finding(
                PVC_CHECK, Severity.ERROR, manifest, field,
                f"storage {raw} is below the minimum {low_raw} of {limitrange.ref}: the claim is refused",
                f"request at least {low_raw}, or lower the LimitRange minimum",
            ))
        if high is not None and size > high:
            findings.append(finding(
                PVC_CHECK, Severity.ERROR, manifest, field,
                f"storage {raw} is above the maximum {high_raw} of {limitrange.ref}: the claim is refused",
                f"request at most {high_raw} (clean up workspaces rather than growing them), or raise "
                "the LimitRange maximum if the larger size is intended",
            ))
    return findings
