"""Simulated usage of a sandbox pod: the patch that sets it, and the CPU counter it drives
(docs/sandbox-contract.md).

kwok does not enforce memory limits, so raising a pod's simulated memory to or past a
container's limit also asks the OOM stage to kill it, as the kubelet's OOM killer would.

The CPU counter (`container_cpu_usage_seconds_total`, kwok/metrics.yaml) is a pure function of the
clock and the pod's own annotations and status, so it does not matter when, or how often, it is
read. `cpu_counter` computes it as kwok's CEL does; `cpu_counter_annotations` changes a started
pod's CPU without a jump: the new rate takes over SWITCH_LEAD_S from now, from a base the old rate
reaches then, so the counter stays continuous and never decreases (a decrease would read as a
counter reset). Pure: returns merge patches and numbers; the caller applies them through its own
(gated) client.
"""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime
from typing import Any

from validator.model.quantity import parse_quantity as parse_quantity  # re-exported for its callers

CPU = "sim.validator.io/cpu"
MEMORY = "sim.validator.io/memory"
OOM_KILL = "sim.validator.io/oom-kill"
COMPLETE_AFTER = "sim.validator.io/complete-after"
COMPLETE_AT = "sim.validator.io/complete-at"
NOT_READY = "sim.validator.io/not-ready"
NOT_READY_CONDITION = "sim.validator.io/not-ready-condition"
PVC = "sim.validator.io/pvc"
PVC_CAPACITY = "sim.validator.io/pvc-capacity"
PVC_USED = "sim.validator.io/pvc-used"
# The CPU counter's own annotations (all three or none): at epoch second CPU_SINCE the counter is
# CPU_BASE core-seconds; before that it runs at CPU_BEFORE cores, after it at CPU.
CPU_BASE = "sim.validator.io/cpu-base"
CPU_SINCE = "sim.validator.io/cpu-since"
CPU_BEFORE = "sim.validator.io/cpu-before"
DEFAULT_CPU = "10m"  # a pod without the CPU annotation (kwok/usage.yaml, kwok/metrics.yaml)
# A pod's counter holds still for this long after its start time (whole seconds, as the API keeps
# it), so that Prometheus's first sample of a new pod (scraped every second with the compressed
# timings) still reads 0: rate() never counts what a series had at its first sample. It then runs
# twice as fast for as long, which catches up: from then on it is in step with the clock.
COUNTER_DELAY_S = 3.0
# How far ahead a rate change takes effect: the patch must reach kwok's cache before then, or the
# counter could step back (the old rate would still be read after the switch time).
SWITCH_LEAD_S = 1.0
# A new base is rounded up to the millicore-second and a little more: kwok computes the old
# formula with Quantities truncated to millis, and the base must never be below what it read.
_BASE_MARGIN = 0.0005
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def memory_limits(pod: dict[str, Any]) -> list[float]:
    """The memory limits of a pod's containers, in bytes (those that set one)."""
    limits = []
    for container in (pod.get("spec") or {}).get("containers") or []:
        raw = ((container.get("resources") or {}).get("limits") or {}).get("memory")
        if raw is not None:
            limits.append(parse_quantity(str(raw)))
    return limits


def usage_patch(
    pod: dict[str, Any], cpu: str | None = None, memory: str | None = None, *, now: float | None = None
) -> dict[str, Any]:
    """Merge patch setting a pod's simulated usage; adds the OOM trigger where memory reaches a limit.

    A CPU change on a started pod also carries the counter annotations that keep its CPU counter
    continuous (`cpu_counter_annotations`, at `now`, default the current time); one within
    SWITCH_LEAD_S of the previous change is left out (write it again a moment later)."""
    annotations: dict[str, Any] = {}
    if cpu is not None:
        parse_quantity(cpu)  # reject garbage before it reaches kwok's CEL
        started = pod_start(pod) is not None
        annotations.update(
            cpu_counter_annotations(pod, cpu, time.time() if now is None else now) if started else {CPU: cpu}
        )
    if memory is not None:
        used = parse_quantity(memory)
        annotations[MEMORY] = memory
        if any(used >= limit for limit in memory_limits(pod)):
            annotations[OOM_KILL] = "memory-limit"
    return {"metadata": {"annotations": annotations}}


# --------------------------------------------------------------------------- the CPU counter
def epoch_seconds(text: str) -> float:
    """An RFC 3339 time (`2026-11-28T08:55:48Z`, fractions allowed) as epoch seconds."""
    value = text.strip()
    return datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value).timestamp()


def rfc3339(epoch: float) -> str:
    """Epoch seconds as an RFC 3339 time with microseconds (`sim.validator.io/complete-at`)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _annotations(pod: dict[str, Any]) -> dict[str, str]:
    return dict((pod.get("metadata") or {}).get("annotations") or {})


def pod_start(pod: dict[str, Any]) -> float | None:
    """`status.startTime` in epoch seconds (whole seconds, as the API keeps it), or None before it."""
    status = pod.get("status") or {}
    raw = status.get("startTime") or status.get("start_time")
    if raw is None or status.get("phase") == "Pending":
        return None
    return raw.timestamp() if isinstance(raw, datetime) else epoch_seconds(str(raw))


def duration_seconds(text: str) -> float:
    """A Go duration as kwok's CEL `duration()` reads it (`90s`, `1m30s`, `1500ms`, `2h`)."""
    value = text.strip()
    parts = _DURATION.findall(value)
    if not parts or "".join(number + unit for number, unit in parts) != value:
        raise ValueError(f"not a duration: {text!r}")
    return sum(float(number) * _DURATION_UNITS[unit] for number, unit in parts)


def stage_span(pod: dict[str, Any]) -> float | None:
    """A stage pod's `complete-after` in seconds (None: the pod is no stage pod)."""
    after = _annotations(pod).get(COMPLETE_AFTER)
    return None if after is None else duration_seconds(after)


def counting_clock(pod: dict[str, Any], at: float) -> float | None:
    """The pod's counting clock at epoch second `at` (None before the pod started): its start time
    for COUNTER_DELAY_S, then twice as fast for as long, then `at` itself; a stage pod's stops at
    its start plus `complete-after`."""
    start = pod_start(pod)
    if start is None:
        return None
    x, delay = at - start, COUNTER_DELAY_S
    counted = 0.0 if x <= delay else 2.0 * (x - delay) if x <= 2.0 * delay else x
    span = stage_span(pod)
    return start + (counted if span is None else min(counted, span))


def cpu_counter(pod: dict[str, Any], at: float) -> float:
    """The CPU counter of each of the pod's containers at epoch second `at`, in core-seconds, as
    kwok/metrics.yaml computes it, with t the pod's counting clock (`counting_clock`):

    - 0 before the pod started (Pending), and 0 for a pod that finished without `complete-after`
      (a real container's series disappears; dropping to 0 adds nothing to a rate);
    - without counter annotations: CPU x (t - start);
    - with them: before CPU_SINCE, CPU_BASE - CPU_BEFORE x (CPU_SINCE - t); after, CPU_BASE + CPU
      x (t - CPU_SINCE).

    A stage pod's counter thus stops at CPU x `complete-after` and keeps it, so the scrapes after
    its end still see its last part.
    """
    start, t = pod_start(pod), counting_clock(pod, at)
    if start is None or t is None:
        return 0.0
    annotations = _annotations(pod)
    if (pod.get("status") or {}).get("phase") != "Running" and COMPLETE_AFTER not in annotations:
        return 0.0
    rate = parse_quantity(annotations.get(CPU, DEFAULT_CPU))
    if CPU_SINCE not in annotations:
        return rate * (t - start)
    since, base = float(annotations[CPU_SINCE]), float(annotations[CPU_BASE])
    if t < since:
        return base - parse_quantity(annotations[CPU_BEFORE]) * (since - t)
    return base + rate * (t - since)


def cpu_counter_annotations(
    pod: dict[str, Any], cpu: str, now: float, lead_s: float = SWITCH_LEAD_S
) -> dict[str, str]:
    """Annotations giving a started pod the CPU rate `cpu` from `now + lead_s` on (or once its
    counter has caught up with the clock, if later), its counter continuous and monotonic: until
    then it keeps its current rate, and the new base is what that rate reaches at the switch
    (rounded up a little, never down).

    While a switch is pending (one written less than `lead_s` ago, or before the counter caught up),
    this returns no annotation: the change waits for the next write. (Changing the pending rate
    could step the counter back if the write reached kwok after the switch; two pending switches
    do not fit the annotations.)"""
    parse_quantity(cpu)
    start = pod_start(pod)
    if start is None:
        raise ValueError("the pod has not started: set its CPU annotation alone")
    annotations = _annotations(pod)
    current = annotations.get(CPU, DEFAULT_CPU)
    if CPU_SINCE in annotations and float(annotations[CPU_SINCE]) > now:
        return {}
    # from start + 2 x COUNTER_DELAY_S on, the counting clock is the clock (or stopped)
    since = max(round(now + lead_s, 3), start + 2 * COUNTER_DELAY_S)
    if CPU_SINCE in annotations:
        old_since, old_base = float(annotations[CPU_SINCE]), float(annotations[CPU_BASE])
        base = old_base + parse_quantity(current) * (since - old_since)
    else:
        base = parse_quantity(current) * (since - start)
    if base > 0:
        base = math.ceil((base + _BASE_MARGIN) * 1000) / 1000
    return {CPU: cpu, CPU_BASE: f"{base:.3f}", CPU_SINCE: f"{since:.3f}", CPU_BEFORE: current}
