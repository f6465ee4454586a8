"""RBAC preflight: ask the apiserver (SelfSubjectAccessReview) for every verb a run needs, up front,
and list every missing one in a single error."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kubernetes.client import ApiClient

from validator.errors import UnsafeOperation


@dataclass(frozen=True, slots=True, kw_only=True)
class Need:
    verb: str
    resource: str
    group: str = ""
    subresource: str = ""
    namespace: str = ""  # "" = cluster scope

    def describe(self) -> str:
        res = self.resource + (f"/{self.subresource}" if self.subresource else "")
        grp = f"{self.group}/" if self.group else ""
        where = f" in namespace {self.namespace}" if self.namespace else " (cluster-wide)"
        return f"{self.verb} {grp}{res}{where}"


RECORDED = (
    ("pods", ""),
    ("nodes", ""),
    ("events", ""),
    ("deployments", "apps"),
    ("replicasets", "apps"),
    ("statefulsets", "apps"),
    ("daemonsets", "apps"),
    ("horizontalpodautoscalers", "autoscaling"),
    ("poddisruptionbudgets", "policy"),
)


def run_needs(namespaces: Iterable[str], *, chaos_mesh: bool = False) -> list[Need]:
    """Everything a chaos run may do: the reads of probes and planning, and the writes of faults."""
    needs = [
        Need(verb=v, resource="nodes") for v in ("get", "list", "patch")
    ] + [Need(verb=v, resource="pods") for v in ("get", "list")] + [
        Need(verb="get", resource="namespaces"),
        Need(verb="list", resource="poddisruptionbudgets", group="policy"),
        Need(verb="list", resource="deployments", group="apps"),
        Need(verb="list", resource="horizontalpodautoscalers", group="autoscaling"),
    ]
    # the recorder lists and watches every kind the criteria read (a refused watch is a gap in the
    # evidence, found only after the run: ask first)
    for resource, group in RECORDED:
        needs += [Need(verb=v, resource=resource, group=group) for v in ("list", "watch")]
    for ns in namespaces:
        needs += [
            Need(verb="create", resource="pods", subresource="eviction", namespace=ns),
            Need(verb="patch", resource="pods", namespace=ns),
            Need(verb="delete", resource="pods", namespace=ns),
        ]
        if chaos_mesh:
            needs += [Need(verb=v, resource="stresschaos", group="chaos-mesh.org", namespace=ns)
                      for v in ("get", "create", "delete")]
    return needs


def missing_verbs(api: ApiClient, needs: Iterable[Need]) -> list[Need]:
    from kubernetes import client

    authz = client.AuthorizationV1Api(api)
    missing = []
    for need in needs:
        review = client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(
                    verb=need.verb, resource=need.resource, group=need.group,
                    subresource=need.subresource or None, namespace=need.namespace or None,
                )
            )
        )
        status = authz.create_self_subject_access_review(review).status
        if not (status and status.allowed):
            missing.append(need)
    return missing


def preflight(api: ApiClient, needs: Iterable[Need], *, context: str) -> None:
    """Raise UnsafeOperation listing every verb the current identity lacks."""
    missing = missing_verbs(api, needs)
    if missing:
        lines = "\n    ".join(n.describe() for n in missing)
        raise UnsafeOperation(
            f"the identity of context {context!r} lacks {len(missing)} permission(s) this run needs:"
            f"\n    {lines}",
            where=f"context {context}",
            fix="bind the runner role (platform/base/rbac-validator-runner.yaml, ClusterRole and Role "
                "validator-runner) to this identity",
        )
