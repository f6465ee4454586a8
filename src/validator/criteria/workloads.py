"""Workloads as the criteria see them: Deployments, StatefulSets and DaemonSets from the watch, and
which workload a pod belongs to (a Deployment's pod through its ReplicaSet)."""

from __future__ import annotations

from validator.criteria.watch_timeline import Timeline, timelines
from validator.model import WORKLOAD_KINDS, Evidence, K8sEvidence, PodState, ReplicaSetState, WorkloadState


def key(kind: str, object_key: str) -> str:
    """`StatefulSet/agents/tess`: a workload's key, unique across kinds."""
    return f"{kind}/{object_key}"


def describe(workload_key: str) -> str:
    """`StatefulSet agents/tess` for details and advice."""
    kind, _, rest = workload_key.partition("/")
    return f"{kind} `{rest}`"


def namespace_of(workload_key: str) -> str:
    return workload_key.split("/", 2)[1] if workload_key.count("/") >= 2 else ""


def name_of(workload_key: str) -> str:
    return workload_key.rsplit("/", 1)[-1]


def workload_timelines(k8s: K8sEvidence) -> dict[str, Timeline[WorkloadState]]:
    """Every watched workload's states over time, keyed `Kind/namespace/name`."""
    out: dict[str, Timeline[WorkloadState]] = {}
    for kind in WORKLOAD_KINDS:
        for object_key, line in timelines(k8s, kind, WorkloadState).items():
            out[key(kind, object_key)] = line
    return out


def seen_kinds(k8s: K8sEvidence) -> bool:
    return any(k8s.kind_seen(kind) for kind in WORKLOAD_KINDS)


class Owners:
    """Which workload owns a pod: its controller reference, through the ReplicaSet for a Deployment."""

    def __init__(self, k8s: K8sEvidence) -> None:
        self._replicasets: dict[str, str] = {}
        for rs_key, line in timelines(k8s, "ReplicaSet", ReplicaSetState).items():
            owner = next((s for _, s in line if s is not None and s.owner_name), None)
            if owner is not None and (owner.owner_kind or "Deployment") == "Deployment":
                namespace = rs_key.split("/", 1)[0]
                self._replicasets[rs_key] = key("Deployment", f"{namespace}/{owner.owner_name}")

    def of(self, namespace: str, pod: PodState) -> str:
        """The workload key owning `pod` ("" for a bare pod or an unknown owner kind)."""
        if pod.owner_kind in ("StatefulSet", "DaemonSet", "Deployment"):
            return key(pod.owner_kind, f"{namespace}/{pod.owner_name}")
        if pod.owner_kind == "ReplicaSet":
            return self._replicasets.get(f"{namespace}/{pod.owner_name}", "")
        return ""


def of_agent(evidence: Evidence, agent: str) -> list[str]:
    """The workloads whose pod template carries the agent label `agent` (the manifest's
    agent_label), described for advice: where that type's requests and limits are configured."""
    if evidence.k8s is None or not agent:
        return []
    label = evidence.manifest.agent_label
    found = []
    for workload_key, line in workload_timelines(evidence.k8s).items():
        last = next((s for _, s in reversed(line) if s is not None), None)
        if last is not None and last.pod_labels.get(label) == agent:
            found.append(describe(workload_key))
    return sorted(found)


def configured_in(evidence: Evidence, agent: str) -> str:
    """`StatefulSet `agents/cleo`: ` (the workloads configuring agent type `agent`), or "" when the
    watch saw none: the prefix of advice that names where to make the change."""
    names = of_agent(evidence, agent)
    return f"{', '.join(names)}: " if names else ""
