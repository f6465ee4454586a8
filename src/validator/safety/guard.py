"""The guard: may this run write to this cluster, to this object, this much?

Two halves. `open_guard` decides whether a context may be used at all: it must be named
explicitly, be in the allow-list, and point at the cluster recorded there (apiserver URL and CA
fingerprint from the kubeconfig, before any API call; then the kube-system namespace UID, with one
read). The pure `*_refusal` functions decide about single objects and return the reason for a
refusal, or None; `Guard` wraps them and raises `UnsafeOperation` (exit 4).
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes.client import ApiClient

from validator.errors import ConfigError, UnsafeOperation
from validator.kube import api_client
from validator.safety import marks
from validator.safety.allowlist import ContextEntry, default_path, load_allowlist, read_identity

POOL_LABEL = "node-pool"
ALWAYS_REFUSED_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease")
CONTROL_PLANE_LABELS = (
    "node-role.kubernetes.io/control-plane",
    "node-role.kubernetes.io/master",
)

Obj = Mapping[str, Any]


# --------------------------------------------------------------------------- pure decisions


def _labels(obj: Obj) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}


def _annotations(obj: Obj) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("annotations") or {}


def _name(obj: Obj) -> str:
    return str((obj.get("metadata") or {}).get("name") or "?")


def namespace_refusal(namespace: str, entry: ContextEntry) -> str | None:
    if not namespace:
        return "no namespace given: cluster-wide pod selection is never allowed"
    if namespace in ALWAYS_REFUSED_NAMESPACES:
        return f"namespace {namespace!r} is a system namespace and is always refused"
    if not any(fnmatch.fnmatchcase(namespace, pattern) for pattern in entry.namespaces):
        return (f"namespace {namespace!r} is not in the allow-list of context {entry.name!r} "
                f"(allowed: {list(entry.namespaces) or 'none'})")
    return None


def _label_matches(labels: Mapping[str, str], pattern: str) -> bool:
    if "=" in pattern:
        key, value = pattern.split("=", 1)
        return labels.get(key) == value
    return pattern in labels


def pod_refusal(pod: Obj, entry: ContextEntry) -> str | None:
    namespace = str((pod.get("metadata") or {}).get("namespace") or "")
    reason = namespace_refusal(namespace, entry)
    if reason:
        return f"pod {namespace}/{_name(pod)}: {reason}"
    if entry.pod_labels and not any(_label_matches(_labels(pod), p) for p in entry.pod_labels):
        return (f"pod {namespace}/{_name(pod)} carries none of the allowed labels "
                f"{list(entry.pod_labels)}")
    return None


def is_control_plane(node: Obj) -> bool:
    labels = _labels(node)
    return any(key in labels for key in CONTROL_PLANE_LABELS)


def is_schedulable(node: Obj) -> bool:
    if (node.get("spec") or {}).get("unschedulable"):
        return False
    if _labels(node).get("sim.validator.io/not-ready") == "true":
        return False
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return str(cond.get("status")) == "True"
    return False


def disrupted_by_validator(node: Obj) -> bool:
    reverts = marks.parse_reverts(_annotations(node).get(marks.REVERT))
    return marks.UNCORDON in reverts or marks.CLEAR_NOT_READY in reverts


def node_refusal(node: Obj, all_nodes: Iterable[Obj], entry: ContextEntry,
                 also_disrupting: Iterable[str] = ()) -> str | None:
    """May `node` be taken out of scheduling (cordon, drain, NotReady) now?

    `also_disrupting` names nodes this action is about to disrupt as well (chosen together).
    """
    name = _name(node)
    if is_control_plane(node):
        return f"node {name} is a control-plane node and is always refused"
    pool = _labels(node).get(POOL_LABEL)
    if not pool:
        return f"node {name} has no {POOL_LABEL!r} label, so its pool's capacity cannot be protected"
    if entry.node_pools and pool not in entry.node_pools:
        return (f"node {name} is in pool {pool!r}, not in the allow-list of context {entry.name!r} "
                f"(allowed: {list(entry.node_pools)})")
    nodes = list(all_nodes)
    others = set(also_disrupting) - {name}
    remaining = [n for n in nodes if _labels(n).get(POOL_LABEL) == pool and _name(n) != name
                 and _name(n) not in others and is_schedulable(n)]
    if not remaining:
        return (f"node {name} is the last schedulable node of pool {pool!r}: taking it out would leave "
                f"the pool without capacity")
    disrupted = {_name(n) for n in nodes if disrupted_by_validator(n)} | others | {name}
    if len(disrupted) > entry.limits.max_cordoned_nodes:
        return (f"taking node {name} out would disrupt {len(disrupted)} nodes at once "
                f"({sorted(disrupted)}), above the limit of {entry.limits.max_cordoned_nodes}")
    return None


def allowed_disruptions(total: int, share: float) -> int:
    """Pods of one workload that may be disrupted at once: floor(share x total), at least one."""
    if total <= 0:
        return 0
    return max(1, math.floor(share * total + 1e-9))


def owner_key(pod: Obj) -> str:
    meta = pod.get("metadata") or {}
    for ref in meta.get("ownerReferences") or []:
        if ref.get("controller"):
            return f"{ref.get('kind')}/{meta.get('namespace')}/{ref.get('name')}"
    return f"Pod/{meta.get('namespace')}/{meta.get('name')}"


def share_refusal(targets: Iterable[Obj], population: Iterable[Obj], share: float) -> str | None:
    """Would disrupting `targets` take more than `share` of any workload's pods at once?"""
    totals: dict[str, int] = {}
    for pod in population:
        key = owner_key(pod)
        totals[key] = totals.get(key, 0) + 1
    hits: dict[str, int] = {}
    for pod in targets:
        key = owner_key(pod)
        hits[key] = hits.get(key, 0) + 1
    for key, count in sorted(hits.items()):
        total = max(totals.get(key, 0), count)
        allowed = allowed_disruptions(total, share)
        if count > allowed:
            return (f"disrupting {count} of the {total} pods of {key} exceeds the blast-radius limit "
                    f"({share:.0%} of a workload, at least one: {allowed} pods)")
    return None


# --------------------------------------------------------------------------- the gate


@dataclass(frozen=True, slots=True)
class Guard:
    """An allowed context, its entry, and a client for it."""

    entry: ContextEntry
    api: ApiClient
    kubeconfig: str

    @property
    def context(self) -> str:
        return self.entry.name

    def refuse(self, reason: str | None, *, fix: str = "") -> None:
        if reason:
            raise UnsafeOperation(f"refused: {reason}", where=f"context {self.entry.name}",
                                  fix=fix or "change the experiment's targets or the allow-list")

    def check_namespace(self, namespace: str) -> None:
        self.refuse(namespace_refusal(namespace, self.entry),
                    fix="target a namespace listed in the allow-list (validator allow --namespace)")

    def check_pods(self, targets: Sequence[Obj], population: Sequence[Obj]) -> None:
        for pod in targets:
            self.refuse(pod_refusal(pod, self.entry))
        self.refuse(share_refusal(targets, population, self.entry.limits.max_workload_share),
                    fix="disrupt fewer pods at once, or raise limits.max_workload_share in the allow-list")

    def check_node(self, node: Obj, all_nodes: Sequence[Obj], also: Iterable[str] = ()) -> None:
        self.refuse(node_refusal(node, all_nodes, self.entry, also),
                    fix="pick a pool with spare schedulable nodes, or raise limits.max_cordoned_nodes")


def require_matches(items: list[Any], what: str, selector: str, where: str) -> None:
    """A selector that matches nothing is an error, not a no-op."""
    if not items:
        raise ConfigError(f"selector {selector!r} matched no {what}", where=where,
                          fix="check the label selector and namespace; nothing was changed")


def open_guard(context: str | None, kubeconfig: str | None = None,
               allowlist: Path | None = None) -> Guard:
    """Check the context against the allow-list and the cluster's identity; return a guarded client.

    Every refusal happens before any API call, except the kube-system UID comparison, which is a
    single read made only after the name, URL and CA fingerprint all match.
    """
    if not context:
        raise UnsafeOperation(
            "no kubeconfig context named: the suite never falls back to the current context",
            where="--context / VALIDATOR_CONTEXT / configuration validator_context",
            fix="name the context explicitly, e.g. --context kwok-validator-sandbox",
        )
    allowlist = allowlist or default_path()
    entries = load_allowlist(allowlist)
    entry = entries.get(context)
    if entry is None:
        raise UnsafeOperation(
            f"context {context!r} is not in the allow-list; nothing was sent to its cluster",
            where=str(allowlist),
            fix=f"if this cluster may be disrupted, record it: validator allow --context {context} "
                "--namespace NS",
        )
    identity, path = read_identity(context, kubeconfig)
    if identity.server != entry.server:
        raise UnsafeOperation(
            f"context {context!r} points at {identity.server}, but the allow-list recorded {entry.server}",
            where=f"{path} vs {allowlist}",
            fix="the context now names another cluster; re-record it with validator allow if intended",
        )
    if identity.ca_sha256 != entry.ca_sha256:
        raise UnsafeOperation(
            f"context {context!r}'s cluster CA fingerprint differs from the allow-list's",
            where=f"{path} vs {allowlist}",
            fix="the context now names another cluster; re-record it with validator allow if intended",
        )
    from kubernetes import client

    api = api_client(path, context)
    if entry.kube_system_uid:
        from kubernetes.client.exceptions import ApiException

        try:
            meta = client.CoreV1Api(api).read_namespace("kube-system").metadata
        except ApiException as exc:
            api.close()
            raise UnsafeOperation(
                f"cannot verify the identity of context {context!r}: reading namespace kube-system "
                f"answered HTTP {exc.status}",
                where=f"context {context}",
                fix="the runner needs `get namespaces` (ClusterRole validator-runner) and a reachable "
                "apiserver",
            ) from None
        uid = meta.uid if meta else None
        if uid != entry.kube_system_uid:
            api.close()
            raise UnsafeOperation(
                f"context {context!r}'s kube-system namespace UID differs from the allow-list's",
                where=str(allowlist),
                fix="the cluster was rebuilt or replaced; re-record it with validator allow if intended",
            )
    return Guard(entry, api, str(path))
