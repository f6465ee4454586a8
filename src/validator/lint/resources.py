"""Container requests and limits: present, and limit/request within a ratio bound."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from validator.lint.findings import Finding, Manifest, Severity, finding
from validator.lint.options import LintOptions
from validator.lint.quantities import try_quantity
from validator.lint.workloads import containers, pod_templates

RESOURCES_CHECK = "container-resources"
RATIO_CHECK = "limit-request-ratio"
_RESOURCES = ("cpu", "memory")


def _limitrange_defaults(manifests: list[Manifest]) -> dict[str, dict[str, set[str]]]:
    """namespace -> {"requests": resources defaulted, "limits": resources defaulted} from LimitRanges."""
    out: dict[str, dict[str, set[str]]] = {}
    for manifest in manifests:
        if manifest.kind != "LimitRange":
            continue
        entry = out.setdefault(manifest.namespace, {"requests": set(), "limits": set()})
        for limit in (manifest.obj.get("spec") or {}).get("limits") or []:
            if not isinstance(limit, dict) or limit.get("type") != "Container":
                continue
            entry["limits"] |= set((limit.get("default") or {}).keys())
            # a default limit also becomes the request when no defaultRequest is given
            entry["requests"] |= set((limit.get("defaultRequest") or {}).keys())
            entry["requests"] |= set((limit.get("default") or {}).keys())
    return out


def _section(container: dict[str, Any], kind: str) -> dict[str, Any]:
    resources = container.get("resources")
    if not isinstance(resources, dict):
        return {}
    section = resources.get(kind)
    return section if isinstance(section, dict) else {}


def check_container_resources(manifests: list[Manifest], options: LintOptions) -> list[Finding]:
    defaults = _limitrange_defaults(manifests)
    findings: list[Finding] = []
    for template in pod_templates(manifests):
        namespace_defaults = defaults.get(template.manifest.namespace, {"requests": set(), "limits": set()})
        for path, container in containers(template):
            name = container.get("name", "?")
            for kind in ("requests", "limits"):
                section = _section(container, kind)
                for resource in _RESOURCES:
                    if resource in section:
                        continue
                    field = f"{path}.resources.{kind}.{resource}"
                    if resource in namespace_defaults[kind]:
                        findings.append(finding(
                            RESOURCES_CHECK, Severity.WARNING, template.manifest, field,
                            f"container {name!r} has no {resource} {kind[:-1]}; it relies on the "
                            f"LimitRange default of namespace {template.manifest.namespace!r}",
                            f"write {kind}.{resource} on the container so its profile is explicit",
                        ))
                    else:
                        findings.append(finding(
                            RESOURCES_CHECK, Severity.ERROR, template.manifest, field,
                            f"container {name!r} has no {resource} {kind[:-1]}"
                            + (" (it can grow until the node runs out)" if kind == "limits"
                               else " (the scheduler and the HPA cannot account for it)"),
                            f"set resources.{kind}.{resource} (the brief's agent profiles: "
                            "requests 1-2 CPU / 4-8Gi, limits twice that)",
                        ))
    return findings


def check_limit_request_ratio(manifests: list[Manifest], options: LintOptions) -> list[Finding]:
    findings: list[Finding] = []
    for template in pod_templates(manifests):
        for path, container in containers(template):
            name = container.get("name", "?")
            requests, limits = _section(container, "requests"), _section(container, "limits")
            for resource in _RESOURCES:
                if resource not in requests or resource not in limits:
                    continue
                request, limit = try_quantity(requests[resource]), try_quantity(limits[resource])
                if request is None or limit is None:
                    bad = "requests" if request is None else "limits"
                    findings.append(finding(
                        RATIO_CHECK, Severity.ERROR, template.manifest, f"{path}.resources.{bad}.{resource}",
                        f"container {name!r}: {bad}.{resource} is not a valid quantity",
                        "write a Kubernetes quantity such as 500m, 2, 512Mi or 8Gi",
                    ))
                    continue
                field = f"{path}.resources.limits.{resource}"
                if request <= 0:
                    continue
                if limit < request:
                    findings.append(finding(
                        RATIO_CHECK, Severity.ERROR, template.manifest, field,
                        f"container {name!r}: {resource} limit {limits[resource]} is below its "
                        f"request {requests[resource]}",
                        f"raise limits.{resource} to at least the request",
                    ))
                    continue
                ratio = limit / request
                if ratio > options.max_ratio:
                    findings.append(finding(
                        RATIO_CHECK, Severity.ERROR, template.manifest, field,
                        f"container {name!r}: {resource} limit/request ratio is {_fmt(ratio)} "
                        f"({limits[resource]} / {requests[resource]}), above the bound "
                        f"{_fmt(options.max_ratio)}",
                        f"raise requests.{resource} or lower limits.{resource} so that "
                        f"limit <= {_fmt(options.max_ratio)} x request (over-commit turns load into "
                        "throttling and OOM kills)",
                    ))
    return findings


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral_value() else f"{value:.2f}"
