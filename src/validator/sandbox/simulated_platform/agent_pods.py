"""Agent pods of the simulated platform, and the simulated usage it gives them. Pure: manifests,
patches and numbers only; `cluster_driver` sends them.

Profiles are the brief's (implementation: Rex, Blaze; quality: Cleo; testing: Tess); pools and
annotations are docs/sandbox-contract.md's.

A profile is the work's *need* (cores, bytes of working set, bytes of workspace), not the manifest's
promise: a stage pod takes its requests and limits from its agent's StatefulSet template, as the
platform's controller does, and the need meets whatever the platform configured there. A CPU limit
near the need throttles (`throttled_share`), a memory limit under the need (or under a large
workflow's transient peak) OOM-kills, an oversized workspace sits mostly empty: the sandbox shows a
misconfiguration by its effect, never by an annotation that states the verdict.
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
# Which stand-in process created a stage pod: a new process (each `sandbox deploy` starts one)
# deletes the pods of earlier ones, so no workflow of an earlier run works on in the next.
INSTANCE_LABEL = "sim.validator.io/platform-instance"
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
    cpu_use: float  # mean CPU need, as a share of the profile's request
    memory_use: float  # mean working set, as a share of the profile's request
    workspace: str  # the workspace the profile's claim asks for (the brief's sizes)
    # a large workflow's transient peak working set, as a share of the profile's memory request
    # (builds and test runs; a review has none): shorter than a scrape, so no sample shows it,
    # but a limit under it OOM-kills the stage
    memory_peak: float | None


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
        workspace="10Gi",
        memory_peak=1.5,
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
        workspace="10Gi",
        memory_peak=None,
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
        workspace="50Gi",
        memory_peak=1.5,
    ),
}
CPU_NOISE = 0.08  # standard deviation of the use share, around the profile's mean
MEMORY_NOISE = 0.05
NOISE_BOUND = 2.0  # memory noise is clipped at this many standard deviations: a need is bounded
# Workflow sizes with a memory peak (loadprofiles/workflow_mix.py's refactors).
LARGE_WORKFLOWS = frozenset({"service-refactor", "multi-service-refactor"})
# CPU demand within one 100 ms CFS period is bursty: lognormal around the mean need, with this
# coefficient of variation. The share of periods whose demand exceeds the limit is throttled.
CPU_BURST_CV = 0.5
CPU_THROTTLED = "sim.validator.io/cpu-throttled-ratio"  # kwok/metrics.yaml


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


def sample_usage(
    profile: AgentProfile, rng: random.Random, cpu_limit: float | None = None
) -> tuple[str, str]:
    """Simulated (cpu, memory) of an agent pod now: the profile's mean need, with noise. CPU never
    exceeds the pod's limit (`cpu_limit` cores, default the profile's); memory is the need, which
    the caller holds against the pod's own memory limit (`usage.usage_patch`)."""
    cpu_share = min(max(rng.gauss(profile.cpu_use, CPU_NOISE), 0.2), 1.6)
    limit = parse_quantity(profile.cpu_limit) if cpu_limit is None else cpu_limit
    cpu = min(parse_quantity(profile.cpu_request) * cpu_share, limit)
    deviation = min(max(rng.gauss(0.0, 1.0), -NOISE_BOUND), NOISE_BOUND)
    memory = parse_quantity(profile.memory_request) * (profile.memory_use + MEMORY_NOISE * deviation)
    return cpu_quantity(cpu), memory_quantity(memory)


def most_memory(profile: AgentProfile) -> float:
    """The largest working set `sample_usage` gives the profile, in bytes."""
    return parse_quantity(profile.memory_request) * (profile.memory_use + MEMORY_NOISE * NOISE_BOUND)


def memory_peak(profile: AgentProfile, size: str) -> float | None:
    """A workflow stage's transient peak working set in bytes (large workflows only), or None."""
    if profile.memory_peak is None or size not in LARGE_WORKFLOWS:
        return None
    return parse_quantity(profile.memory_request) * profile.memory_peak


def throttled_share(need_cores: float, limit_cores: float | None) -> float:
    """Share of CFS periods throttled: P(demand > limit) for a lognormal demand of mean
    `need_cores` and coefficient of variation CPU_BURST_CV. No limit: never throttled.

    The brief's 2x limit leaves a mean need of 70% of the request at about 0.8% of periods; a limit
    equal to the request (need 72% of it) at about 17%."""
    if limit_cores is None or need_cores <= 0:
        return 0.0
    sigma = math.sqrt(math.log(1.0 + CPU_BURST_CV**2))
    mu = math.log(need_cores) - sigma**2 / 2.0
    z = (math.log(limit_cores) - mu) / sigma
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def container_limit(pod: dict[str, Any], resource: str) -> float | None:
    """The smallest limit of `resource` among a pod's containers, or None when none sets one."""
    values = [
        parse_quantity(str(raw))
        for c in (pod.get("spec") or {}).get("containers") or []
        if (raw := ((c.get("resources") or {}).get("limits") or {}).get(resource)) is not None
    ]
    return min(values) if values else None


def throttling_annotation(profile: AgentProfile, pod: dict[str, Any]) -> str:
    """The pod's `sim.validator.io/cpu-throttled-ratio`: constant for its life, so the throttled
    periods counter (ratio x periods) only ever grows."""
    need = parse_quantity(profile.cpu_request) * profile.cpu_use
    return f"{throttled_share(need, container_limit(pod, 'cpu')):.4f}"


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentTemplate:
    """What a stage pod takes from its agent's StatefulSet pod template."""

    resources: dict[str, Any]  # the agent container's `resources` (requests, limits)
    priority_class: str | None


def agent_template(statefulset: dict[str, Any]) -> AgentTemplate:
    """The stage-pod template of an agent StatefulSet: its container named `agent` (else its first)."""
    spec = ((statefulset.get("spec") or {}).get("template") or {}).get("spec") or {}
    containers = spec.get("containers") or []
    chosen = next((c for c in containers if c.get("name") == "agent"), containers[0] if containers else {})
    return AgentTemplate(
        resources=dict(chosen.get("resources") or {}), priority_class=spec.get("priorityClassName")
    )


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
    template: AgentTemplate | None = None,
    instance: str = "",
) -> dict[str, Any]:
    """The pod of one workflow stage: its agent's StatefulSet template's resources and priority
    class when known (as the platform's controller builds it), else the brief's profile."""
    profile = PROFILES[agent_class]
    resources = (
        template.resources
        if template is not None and template.resources
        else {
            "requests": {"cpu": profile.cpu_request, "memory": profile.memory_request},
            "limits": {"cpu": profile.cpu_limit, "memory": profile.memory_limit},
        }
    )
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "nodeSelector": {POOL_LABEL: profile.pool},
        "terminationGracePeriodSeconds": 5,
        "containers": [
            {
                "name": "agent",
                "image": AGENT_IMAGE,
                "args": [f"--agent={agent}", f"--workflow={workflow_id}"],
                "resources": resources,
            }
        ],
    }
    if template is not None and template.priority_class:
        spec["priorityClassName"] = template.priority_class
    elif with_priority_class:
        spec["priorityClassName"] = profile.priority_class
    cpu, memory = sample_usage(profile, rng, container_limit({"spec": spec}, "cpu"))
    annotations = {
        COMPLETE_AFTER: complete_after(duration_s, time_factor),
        CPU: cpu,
        MEMORY: memory,
        CPU_THROTTLED: throttling_annotation(profile, {"spec": spec}),
    }
    memory_limit = container_limit({"spec": spec}, "memory")
    if memory_limit is not None and parse_quantity(memory) >= memory_limit:  # its need: OOM-killed
        annotations[MEMORY], annotations[OOM_KILL] = memory_quantity(memory_limit), "memory-limit"
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
                INSTANCE_LABEL: instance,
                "agent-platform.io/agent-class": agent_class,
            },
            "annotations": annotations,
        },
        "spec": spec,
    }


# --------------------------------------------------------------------------- standing agents
# The platform's own agent replicas (the StatefulSets' pods) work on workflows as the stage pods
# do: the same need, plus a workspace claim holding WORKSPACE_USE of the profile's workspace size
# (the brief's healthy 50-80% band of a claim sized as the brief says) with a little noise. A
# replica whose memory limit is below its working set is OOM-killed (usage_patch sets the trigger),
# as a real kubelet would; the reference manifests leave 2x headroom. A claim larger than the
# profile's size holds the same data, so it shows mostly empty.
WORKSPACE_USE = 0.65
WORKSPACE_NOISE = 0.03
WORKSPACE_CEILING = 0.98  # of the claim's capacity: a full disk stops there
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
    cpu, memory = sample_usage(profile, rng, container_limit(pod, "cpu"))
    annotations: dict[str, str] = usage_patch(pod, cpu, memory)["metadata"]["annotations"]
    if OOM_KILL in annotations:  # killed on reaching its limit: the working set it showed is the limit
        annotations[MEMORY] = memory_quantity(min(memory_limits(pod)))
    if CPU_THROTTLED not in ((pod.get("metadata") or {}).get("annotations") or {}):
        annotations[CPU_THROTTLED] = throttling_annotation(profile, pod)
    claim = workspace_claim(pod)
    if claim and claim_capacity:
        share = min(max(rng.gauss(WORKSPACE_USE, WORKSPACE_NOISE), 0.05), 0.95)
        capacity = parse_quantity(claim_capacity)
        used = min(parse_quantity(profile.workspace) * share, capacity * WORKSPACE_CEILING)
        annotations[PVC] = claim
        annotations[PVC_CAPACITY] = claim_capacity
        annotations[PVC_USED] = memory_quantity(used)
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
