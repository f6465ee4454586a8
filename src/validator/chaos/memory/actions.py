"""Memory pressure with two mechanisms, chosen by configuration (one experiment file for both).

- `chaos-mesh` (a real cluster): creates a Chaos Mesh `StressChaos` with a unique name, labelled
  with the run id; `remove_memory_pressure` deletes it (and `validator recover` finds it by label).
- `sandbox` (kwok): raises the targets' simulated memory (`sim.validator.io/memory`) through
  `validator.sandbox.usage.usage_patch`, which also sets the OOM trigger where usage reaches a
  limit; the original annotations are remembered on the pod and restored by the rollback.
"""

from __future__ import annotations

import secrets as _secrets
from typing import Any

from validator.chaos.pod.actions import _select
from validator.chaos.targets import meta, ref, require_simulated
from validator.errors import ConfigError
from validator.safety import marks
from validator.safety.mutator import STRESSCHAOS
from validator.safety.session import mutator_for
from validator.sandbox.usage import MEMORY, OOM_KILL, parse_quantity, usage_patch

Configuration = dict[str, Any] | None
Secrets = dict[str, Any] | None
MECHANISMS = ("sandbox", "chaos-mesh")


def memory_for(pod: dict[str, Any], memory: str) -> str:
    """`memory` as a Quantity; "110%" means 110% of the pod's smallest container memory limit."""
    if not memory.endswith("%"):
        parse_quantity(memory)
        return memory
    limits = []
    for container in (pod.get("spec") or {}).get("containers") or []:
        raw = ((container.get("resources") or {}).get("limits") or {}).get("memory")
        if raw is not None:
            limits.append(parse_quantity(str(raw)))
    if not limits:
        raise ConfigError(f"{ref(pod)} has no memory limit, so {memory} of it means nothing",
                          where="memory", fix="give an absolute quantity such as 6Gi")
    return str(int(min(limits) * float(memory[:-1]) / 100))


def apply_memory_pressure(namespace: str, label_selector: str, memory: str = "110%", count: int = 1,
                          mechanism: str = "chaos-mesh", duration: str = "120s", workers: int = 1,
                          configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Raise memory use of `count` pods chosen by selector (`chaos-mesh` by default; `sandbox` only
    on the sandbox's simulated nodes)."""
    if mechanism not in MECHANISMS:
        raise ConfigError(f"unknown memory pressure mechanism {mechanism!r}", where="mechanism",
                          fix=f"use one of {list(MECHANISMS)}")
    mutator = mutator_for(configuration)
    chosen, _ = _select(mutator, namespace, label_selector, int(count))
    if mechanism == "sandbox":
        require_simulated(mutator, [str((p.get("spec") or {}).get("nodeName") or "") for p in chosen],
                          "memory pressure")
        for pod in chosen:
            patch = usage_patch(pod, None, memory_for(pod, memory))
            mutator.patch_pod_annotations(pod, patch["metadata"]["annotations"], "memory-pressure")
        return {"targets": [ref(p) for p in chosen], "mechanism": mechanism}
    # Chaos Mesh's stressor takes a size; a share of the limit becomes the smallest target's bytes
    size = f"{max(1, int(min(float(memory_for(p, memory)) for p in chosen)) // 2**20)}MB" \
        if memory.endswith("%") else memory
    name = f"validator-memory-{_secrets.token_hex(4)}"
    body = {
        "apiVersion": f"{STRESSCHAOS[0]}/{STRESSCHAOS[1]}",
        "kind": "StressChaos",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "mode": "all",
            "selector": {"namespaces": [namespace],
                         "pods": {namespace: [str(meta(p).get("name")) for p in chosen]}},
            "stressors": {"memory": {"workers": int(workers), "size": size}},
            "duration": duration,
        },
    }
    mutator.create_stresschaos(namespace, body)
    return {"targets": [ref(p) for p in chosen], "mechanism": mechanism, "stresschaos": name}


def remove_memory_pressure(namespace: str, mechanism: str = "chaos-mesh", configuration: Configuration = None,
                           secrets: Secrets = None) -> dict[str, Any]:
    """Rollback: restore the pods' simulated memory, or delete this run's StressChaos (idempotent)."""
    mutator = mutator_for(configuration)
    done: list[str] = []
    if mechanism == "chaos-mesh":
        from kubernetes.client.exceptions import ApiException

        group, version, plural = STRESSCHAOS
        try:
            found = mutator.custom().list_namespaced_custom_object(
                group, version, namespace, plural, label_selector=f"{marks.RUN_ID}={mutator.run_id}")
        except ApiException as exc:
            if exc.status == 404:
                return {"targets": []}
            raise
        for item in found.get("items", []):
            if mutator.delete_stresschaos(namespace, str(item["metadata"]["name"])):
                done.append(f"stresschaos/{namespace}/{item['metadata']['name']}")
        return {"targets": done}
    core = mutator.core()
    for pod in core.list_namespaced_pod(namespace).items:
        data = mutator.to_dict(pod)
        annotations = meta(data).get("annotations") or {}
        if annotations.get(marks.RUN_ID) == mutator.run_id and mutator.restore_pod_annotations(data):
            done.append(ref(data))
    return {"targets": done}


__all__ = ["MEMORY", "OOM_KILL", "apply_memory_pressure", "remove_memory_pressure"]
