"""What the linter reads (a manifest and where it came from) and what it reports (a finding)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, kw_only=True)
class Manifest:
    """One Kubernetes object as parsed, with the file (or kustomize build) and document it came from."""

    source: str
    document: int
    obj: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.obj.get("apiVersion", ""))

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.obj.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        """The object's namespace; "" for cluster-scoped objects or when none is written."""
        return str(self.metadata.get("namespace", "") or "")

    @property
    def ref(self) -> str:
        """kind/namespace/name, or kind/name when no namespace is written."""
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One problem: which check, how bad, where (file, object, field), what, and how to fix it."""

    check: str
    severity: Severity
    source: str
    object: str
    field: str
    message: str
    fix: str

    def as_dict(self) -> dict[str, str]:
        return {
            "check": self.check,
            "severity": self.severity.value,
            "file": self.source,
            "object": self.object,
            "field": self.field,
            "message": self.message,
            "fix": self.fix,
        }


def finding(
    check: str, severity: Severity, manifest: Manifest, field: str, message: str, fix: str
) -> Finding:
    return Finding(
        check=check,
        severity=severity,
        source=manifest.source,
        object=manifest.ref,
        field=field,
        message=message,
        fix=fix,
    )
