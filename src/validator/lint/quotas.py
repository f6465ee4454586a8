"""ResourceQuotas sized 20-30% above the expected peak, with object counts for pods and PVCs."""

from __future__ import annotations

from decimal import Decimal

from validator.lint.findings import Finding, Manifest, Severity, finding
from validator.lint.options import LintOptions
from validator.lint.quantities import try_quantity

QUOTA_CHECK = "quota-buffer"
_OBJECT_COUNTS = (("pods", "count/pods"), ("persistentvolumeclaims", "count/persistentvolumeclaims"))


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f}"


def check_quota_buffer(manifests: list[Manifest], options: LintOptions) -> list[Finding]:
    findings: list[Finding] = []
    for manifest in manifests:
        if manifest.kind != "ResourceQuota":
            continue
        hard = (manifest.obj.get("spec") or {}).get("hard") or {}
        if not isinstance(hard, dict):
            hard = {}
        for plain, counted in _OBJECT_COUNTS:
            if plain not in hard and counted not in hard:
                findings.append(finding(
                    QUOTA_CHECK, Severity.WARNING, manifest, f"spec.hard.{plain}",
                    f"the quota sets no object count for {plain}",
                    f"add spec.hard.{plain}: the expected peak count x 1.2-1.3, so runaway "
                    "workflows cannot create unbounded objects",
                ))
        if options.peaks is None:
            continue
        entry = options.peaks.for_quota(manifest.namespace, manifest.name)
        if entry is None:
            findings.append(finding(
                QUOTA_CHECK, Severity.WARNING, manifest, "spec.hard",
                f"no expected peak for this quota in {options.peaks.source}, so its buffer is unchecked",
                f"add an entry (namespace {manifest.namespace!r}, name {manifest.name!r}) with the "
                f"expected peak to {options.peaks.source}",
            ))
            continue
        for resource, peak in sorted(entry.peak.items()):
            field = f"spec.hard.{resource}"
            if resource not in hard:
                findings.append(finding(
                    QUOTA_CHECK, Severity.WARNING, manifest, field,
                    f"{options.peaks.source} gives a peak for {resource} but the quota does not limit it",
                    f"add {field}: between {_fmt(peak * options.buffer_min)} and "
                    f"{_fmt(peak * options.buffer_max)} (expected peak {_fmt(peak)} x "
                    f"{_fmt(options.buffer_min)}-{_fmt(options.buffer_max)})",
                ))
                continue
            value = try_quantity(hard[resource])
            if value is None:
                findings.append(finding(
                    QUOTA_CHECK, Severity.ERROR, manifest, field,
                    f"{hard[resource]!r} is not a valid quantity",
                    "write a Kubernetes quantity such as 22500m, 90Gi or 13",
                ))
                continue
            low, high = peak * options.buffer_min, peak * options.buffer_max
            if value < low:
                findings.append(finding(
                    QUOTA_CHECK, Severity.ERROR, manifest, field,
                    f"{resource} hard {hard[resource]} is below the expected peak {_fmt(peak)} x "
                    f"{_fmt(options.buffer_min)} = {_fmt(low)}: the peak itself would be refused admission",
                    f"raise {field} to between {_fmt(low)} and {_fmt(high)} (base units), or lower the "
                    f"peak in {options.peaks.source} if it is overstated",
                ))
            elif value > high:
                findings.append(finding(
                    QUOTA_CHECK, Severity.WARNING, manifest, field,
                    f"{resource} hard {hard[resource]} is above the expected peak {_fmt(peak)} x "
                    f"{_fmt(options.buffer_max)} = {_fmt(high)}: the quota no longer protects against "
                    "runaway usage",
                    f"lower {field} to between {_fmt(low)} and {_fmt(high)} (base units), or raise the "
                    f"peak in {options.peaks.source} if demand grew",
                ))
    return findings
