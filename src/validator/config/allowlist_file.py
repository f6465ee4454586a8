"""The allow-list's shape: which kubeconfig contexts may be written to, and what inside them.

The file itself is found, read and written by `validator.safety.allowlist`; this module declares
what it may contain (schemas/allowlist.schema.json is generated from `AllowlistDocument`) and turns
an already-parsed document into entries. Pure: no IO at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ConfigDict, Field, ValidationError

from validator.config.document import NonBlank, StrictModel, problem_lines
from validator.errors import ConfigError


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    max_cordoned_nodes: int = 1
    max_workload_share: float = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextEntry:
    name: str
    server: str
    ca_sha256: str
    kube_system_uid: str = ""
    namespaces: tuple[str, ...] = ()
    node_pools: tuple[str, ...] = ()
    pod_labels: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)


class LimitsBlock(StrictModel):
    """The blast radius a run may reach in this context."""

    max_cordoned_nodes: int = Field(default=1, ge=0, description="nodes cordoned at once, at most")
    max_workload_share: float = Field(
        default=0.5, ge=0, le=1, description="the share of one workload's pods disrupted at once (0..1)"
    )


class ContextBlock(StrictModel):
    """One allowed context: the cluster it must be (its identity) and what faults may touch there."""

    server: NonBlank = Field(
        description="give the apiserver URL the context must point at (the cluster's identity)"
    )
    ca_sha256: NonBlank = Field(
        description="give the sha256 of the cluster's CA bytes in the kubeconfig (the cluster's identity)"
    )
    kube_system_uid: str | None = Field(default=None, description="the cluster's kube-system namespace UID")
    namespaces: list[str] | None = Field(
        default=None, description="namespaces faults may touch (fnmatch patterns); never kube-system"
    )
    node_pools: list[str] | None = Field(
        default=None, description="values of the `node-pool` label faults may touch"
    )
    pod_labels: list[str] | None = Field(
        default=None, description="a targeted pod must carry one of these (key or key=value); empty: any"
    )
    limits: LimitsBlock | None = None

    def entry(self, name: str) -> ContextEntry:
        limits = self.limits or LimitsBlock()
        return ContextEntry(
            name=name,
            server=self.server.rstrip("/"),
            ca_sha256=self.ca_sha256.lower(),
            kube_system_uid=self.kube_system_uid or "",
            namespaces=tuple(self.namespaces or ()),
            node_pools=tuple(self.node_pools or ()),
            pod_labels=tuple(self.pod_labels or ()),
            limits=Limits(
                max_cordoned_nodes=limits.max_cordoned_nodes, max_workload_share=limits.max_workload_share
            ),
        )


class AllowlistDocument(StrictModel):
    """The validator's allow-list: the kubeconfig contexts it may write to (`validator allow` records one)."""

    model_config = ConfigDict(title="validator allow-list")

    contexts: dict[str, ContextBlock] | None = Field(default=None, description="allowed contexts by name")


def parse_allowlist(raw: object, *, source: str) -> dict[str, ContextEntry]:
    """Every allowed context of an already-parsed allow-list (None: an empty file, nothing allowed)."""
    if raw is None:
        return {}
    try:
        document = AllowlistDocument.model_validate(raw)
    except ValidationError as exc:
        problems = problem_lines(exc, AllowlistDocument, source=source, root="(file)")
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        raise ConfigError(
            f"invalid allow-list ({count}):\n  " + "\n  ".join(problems),
            where=source,
            fix="correct the entries listed (schemas/allowlist.schema.json is the file's schema), "
            "or record them with `validator allow`",
        ) from None
    return {name: block.entry(name) for name, block in (document.contexts or {}).items()}
