"""Agent pods of the simulated platform, and the simulated usage it gives them. Pure: manifests,
patches and numbers only; `cluster_driver` sends them.

Profiles are the brief's (implementation: Rex, Blaze; quality: Cleo; testing: Tess); pools and
annotations are docs/sandbox-contract.md's.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from validator.sandbox.usage import (
    COMPLETE_AFTER,
    CPU,
    MEMORY,
    OOM_KILL,
    PVC,
    PVC_CAPACITY,
    PVC_USED,
    memory_limits,
    parse_quantity,
    usage_patch,
)

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "validator-simulated-platform"
WORKFLOW_LABEL = "workflow-id"
STAGE_LABEL = "workflow-stage"
AGENT_NAME_LABEL = "app.kubernetes.io/name"
COMPONENT_LABEL = "app.kubernetes.io/component"
POOL_LABEL = "node-pool"
STAGE_COMPONENT = "workflow-stage"
AGENT_IMAGE = "ghcr.io/agent-platform/agent-runtime:1.8.2"


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentProfile:
    agent_class: str
    pool: str
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str
    priority_class: str
    cpu_use: float  # mean simulated CPU use, as a share of the request
    memory_use: float  # mean simulated working set, as a share of the request


# Mean shares near the middle of the brief's 60-80% CPU band: the reference platform is sized right.
PROFILES = {
    "implementation": AgentProfile(
        agent_class="implementation",
        pool="implementation",
        cpu_request="2",
        memory_request="8Gi",
        cpu_limit="4",
        memory_limit="16Gi",
        priority_class="agent-high-priority",
        cpu_use=0.72,
        memory_use=0.70,
    ),
    "quality": AgentProfile(
        agent_class="quality",
        pool="quality",
        cpu_request="1",
        memory_request="4Gi",
        cpu_limit="2",
        memory_limit="8Gi",
        priority_class="agent-standard-priority",
        cpu_use=0.70,
        memory_use=0.60,
    ),
    "testing": AgentProfile(
        agent_class="testing",
        pool="testing",
        cpu_request="2",
        memory_request="8Gi",
        cpu_limit="4",
        memory_limit="16Gi",
        priority_class="agent-high-priority",
        cpu_use=0.72,
        memory_use=0.72,
    ),
}
CPU_NOISE = 0.08  # standard deviation of the use share, around the profile's mean
MEMORY_NOISE = 0.05
MEMORY_CEILING = 0.9  # of the limit: the stand-in never OOMs by itself (chaos does that on purpose)


def stage_seconds(duration_s: float, time_factor: float) -> int:
    """How long a stage pod runs: its duration compressed, in whole seconds, at least one."""
    return max(1, math.ceil(duration_s / time_factor))


def complete_after(duration_s: float, time_factor: float) -> str:
    """The `sim.validator.io/complete-after` value of a stage (see `stage_seconds`)."""
    return f"{stage_seconds(duration_s, time_factor)}s"


def cpu_quantity(cores: float) -> str:
    return f"{max(1, round(cores * 1000))}m"


def memory_quantity(bytes_: float) -> str:
    return f"{max(1, round(bytes_ / 2**20))}Mi"


def sample_usage(profile: AgentProfile, rng: random.Random) -> tuple[str, str]:
    """Simulated (cpu, memory) of an agent pod now: the profile's mean share of the request, with noise."""
    cpu_share = min(max(rng.gauss(profile.cpu_use, CPU_NOISE), 0.2), 1.6)
    cpu = min(parse_quantity(profile.cpu_request) * cpu_share, parse_quantity(profile.cpu_limit))
    memory_share = min(max(rng.gauss(profile.memory_use, MEMORY_NOISE), 0.3), 1.5)
    memory = min(
        parse_quantity(profile.memory_request) * memory_share,
        parse_quantity(profile.memory_limit) * MEMORY_CEILING,
    )
    return cpu_quantity(cpu), memory_quantity(memory)


def pod_name(workflow_id: str, agent: str, stage_index: int, attempt: int) -> str:
    return f"{agent}-{workflow_id}-s{stage_index}-a{attempt}"


def agent_pod(
    *,
    workflow_id: str,
    agent: str,
    agent_class: str,
    stage_index: int,
    attempt: int,
    duration_s: float,
    time_factor: float,
    namespace: str,
    rng: random.Random,
    with_priority_class: bool,
) -> dict[str, Any]:
    """The pod of one workflow stage."""
    profile = PROFILES[agent_class]
    cpu, memory = sample_usage(profile, rng)
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "nodeSelector": {POOL_LABEL: profile.pool},
        "terminationGracePeriodSeconds": 5,
        "containers": [
            {
                "name": "agent",
                "image": AGENT_IMAGE,
                "args": [f"--agent={agent}", f"--workflow={workflow_id}"],
                "resources": {
                    "requests": {"cpu": profile.cpu_request, "memory": profile.memory_request},
                    "limits": {"cpu": profile.cpu_limit, "memory": profile.memory_limit},
                },
            }
        ],
    }
    if with_priority_class:
        spec["priorityClassName"] = profile.priority_class
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": pod_name(workflow_id, agent, stage_index, attempt),
            "namespace": namespace,
            "labels": {
                AGENT_NAME_LABEL: agent,
                # not `agent`: the platform's budgets select its standing agents by name+component,
                # and bare stage pods under a budget leave its status undefined (UnmanagedPods)
                COMPONENT_LABEL: STAGE_COMPONENT,
                WORKFLOW_LABEL: workflow_id,
                STAGE_LABEL: str(stage_index),
                MANAGED_BY_LABEL: MANAGED_BY,
                "agent-platform.io/agent-class": agent_class,
            },
            "annotations": {
                COMPLETE_AFTER: complete_after(duration_s, time_factor),
                CPU: cpu,
                MEMORY: memory,
            },
        },
        "spec": spec,
    }


# --------------------------------------------------------------------------- standing agents
# The platform's own agent replicas (the StatefulSets' pods) work on workflows as the stage pods
# do: the same usage profile, plus a workspace claim that is WORKSPACE_USE full (the brief's
# healthy 50-80% band) with a little noise. The profile is the work's need, not the manifest's
# promise: a replica whose memory limit is below its working set is OOM-killed (usage_patch sets
# the trigger), as a real kubelet would; the reference manifests leave 2x headroom.
WORKSPACE_USE = 0.65
WORKSPACE_NOISE = 0.03
RUN_ID_ANNOTATION = "validator.io/run-id"  # a chaos experiment holds the pod: leave its usage alone


def workspace_claim(pod: dict[str, Any]) -> str | None:
    """The pod's first PersistentVolumeClaim volume (a StatefulSet's `<template>-<pod>` claim)."""
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if claim:
            return str(claim)
    return None


def held_by_chaos(pod: dict[str, Any]) -> bool:
    return RUN_ID_ANNOTATION in ((pod.get("metadata") or {}).get("annotations") or {})


def standing_agent_usage(
    pod: dict[str, Any], claim_capacity: str | None, rng: random.Random
) -> dict[str, str] | None:
    """Annotations giving a standing agent pod its profile's usage and its workspace's fill, or None
    when the pod is no agent of a known class."""
    labels = (pod.get("metadata") or {}).get("labels") or {}
    profile = PROFILES.get(labels.get("agent-platform.io/agent-class", ""))
    if profile is None:
        return None
    cpu, memory = sample_usage(profile, rng)
    annotations: dict[str, str] = usage_patch(pod, cpu, memory)["metadata"]["annotations"]
    if OOM_KILL in annotations:  # killed on reaching its limit: the working set it showed is the limit
        annotations[MEMORY] = memory_quantity(min(memory_limits(pod)))
    claim = workspace_claim(pod)
    if claim and claim_capacity:
        share = min(max(rng.gauss(WORKSPACE_USE, WORKSPACE_NOISE), 0.05), 0.95)
        annotations[PVC] = claim
        annotations[PVC_CAPACITY] = claim_capacity
        annotations[PVC_USED] = memory_quantity(parse_quantity(claim_capacity) * share)
    return annotations


# --------------------------------------------------------------------------- controller load
CONTROLLER_BASE_CPU = 0.1  # cores, an idle controller
CONTROLLER_CPU_PER_QUEUED = 0.04  # cores per queued workflow per ready replica
CONTROLLER_CPU_MAX = 1.0  # its limit in platform/base/workflow-controller.yaml
CONTROLLER_BASE_MEMORY = 400 * 2**20
CONTROLLER_MEMORY_PER_QUEUED = 2 * 2**20
CONTROLLER_MEMORY_MAX = 1536 * 2**20


def controller_usage(queue_depth: int, ready_replicas: int) -> tuple[str, str]:
    """Simulated (cpu, memory) of each controller pod: each ready replica shares the queue.

    With the reference requests (500m CPU, 1Gi) the HPA's 70% CPU target is crossed at about six
    queued workflows per ready replica, close to the external metric's 10 per replica."""
    per_replica = queue_depth / max(1, ready_replicas)
    cpu = min(CONTROLLER_BASE_CPU + CONTROLLER_CPU_PER_QUEUED * per_replica, CONTROLLER_CPU_MAX)
    memory = min(CONTROLLER_BASE_MEMORY + CONTROLLER_MEMORY_PER_QUEUED * per_replica, CONTROLLER_MEMORY_MAX)
    return cpu_quantity(cpu), memory_quantity(memory)


def differs_enough(old: str | None, new: str, tolerance: float = 0.05) -> bool:
    """Whether a usage annotation is worth rewriting (bounded API writes)."""
    if old is None:
        return True
    before, after = parse_quantity(old), parse_quantity(new)
    return abs(after - before) > tolerance * max(before, 1e-9)
