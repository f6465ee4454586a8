"""Where pod templates live in each workload kind, and which pods a label selector picks."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from validator.lint.findings import Manifest

# kind -> path of its pod template (spec.template, or deeper for CronJob)
TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "Job": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}
SCALABLE_KINDS = {"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"}


@dataclass(frozen=True, slots=True, kw_only=True)
class PodTemplate:
    """A pod spec inside a manifest: a Pod itself, or a workload's template."""

    manifest: Manifest
    path: str  # field path of the pod object ("" for a Pod, "spec.template" for a Deployment)
    labels: Mapping[str, str]
    spec: Mapping[str, Any]

    def field(self, suffix: str) -> str:
        return f"{self.path}.{suffix}" if self.path else suffix


def _dig(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _labels(meta: Any) -> dict[str, str]:
    if not isinstance(meta, dict):
        return {}
    labels = meta.get("labels")
    if not isinstance(labels, dict):
        return {}
    return {str(k): str(v) for k, v in labels.items()}


def pod_template(manifest: Manifest) -> PodTemplate | None:
    if manifest.kind == "Pod" and manifest.api_version == "v1":
        spec = manifest.obj.get("spec")
        return PodTemplate(
            manifest=manifest,
            path="",
            labels=_labels(manifest.metadata),
            spec=spec if isinstance(spec, dict) else {},
        )
    path = TEMPLATE_PATHS.get(manifest.kind)
    if path is None:
        return None
    template = _dig(manifest.obj, path)
    if not isinstance(template, dict):
        return None
    spec = template.get("spec")
    return PodTemplate(
        manifest=manifest,
        path=".".join(path),
        labels=_labels(template.get("metadata")),
        spec=spec if isinstance(spec, dict) else {},
    )


def pod_templates(manifests: list[Manifest]) -> Iterator[PodTemplate]:
    for manifest in manifests:
        template = pod_template(manifest)
        if template is not None:
            yield template


def containers(template: PodTemplate) -> Iterator[tuple[str, dict[str, Any]]]:
    """(field path, container) for every init and app container."""
    for key in ("initContainers", "containers"):
        items = template.spec.get(key)
        if not isinstance(items, list):
            continue
        for index, container in enumerate(items):
            if isinstance(container, dict):
                yield template.field(f"spec.{key}[{index}]"), container


def declared_replicas(manifest: Manifest) -> int:
    """spec.replicas as written; Kubernetes' default of 1 when absent."""
    replicas = _dig(manifest.obj, ("spec", "replicas"))
    return replicas if isinstance(replicas, int) and not isinstance(replicas, bool) else 1
