"""Evict pods as `kubectl drain` does: through the eviction API, retrying budget refusals (HTTP 429)
with backoff until a deadline, recording every refusal with its budget; never force-deleting."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from validator.chaos.targets import Obj, meta, ref
from validator.safety.mutator import Mutator


@dataclass
class Refusal:
    pod: str
    budget: str
    ts_ms: int


@dataclass
class EvictionReport:
    evicted: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    gone_wait_timed_out: list[str] = field(default_factory=list)
    timed_out: bool = False

    def refusal_summary(self) -> str:
        counts: dict[tuple[str, str], int] = {}
        for r in self.refusals:
            counts[(r.pod, r.budget)] = counts.get((r.pod, r.budget), 0) + 1
        return "; ".join(f"{pod} refused {n}x by budget {budget}"
                         for (pod, budget), n in sorted(counts.items()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "evicted": self.evicted,
            "pending": self.pending,
            "refusals": [{"pod": r.pod, "budget": r.budget, "ts_ms": r.ts_ms} for r in self.refusals],
            "timed_out": self.timed_out,
        }


def evict_with_retry(mutator: Mutator, pods: Sequence[Obj], *, timeout_s: float, backoff_s: float = 1.0,
                     max_backoff_s: float = 5.0, wait_gone: bool = True,
                     clock: Callable[[], float] = time.monotonic,
                     sleep: Callable[[float], None] = time.sleep) -> EvictionReport:
    """Evict every pod, retrying refusals until `timeout_s`. In plan mode: one dry-run pass."""
    report = EvictionReport()
    pending = list(pods)
    if mutator.plan_mode:
        for pod in pending:
            outcome = mutator.evict(pod)
            if outcome.refused_by:
                report.refusals.append(Refusal(pod=ref(pod), budget=outcome.refused_by,
                                               ts_ms=int(time.time() * 1000)))
                report.pending.append(ref(pod))
        return report
    deadline = clock() + timeout_s
    delay = backoff_s
    while pending:
        still: list[Obj] = []
        for pod in pending:
            outcome = mutator.evict(pod)
            if outcome.evicted:
                report.evicted.append(ref(pod))
            else:
                report.refusals.append(Refusal(pod=ref(pod), budget=outcome.refused_by or outcome.message,
                                               ts_ms=int(time.time() * 1000)))
                still.append(pod)
        pending = still
        if not pending:
            break
        remaining = deadline - clock()
        if remaining <= 0:
            report.timed_out = True
            break
        sleep(min(delay, remaining))
        delay = min(delay * 2, max_backoff_s)
    report.pending = [ref(p) for p in pending]
    if wait_gone and report.evicted:
        report.gone_wait_timed_out = _wait_gone(mutator, [p for p in pods if ref(p) in report.evicted],
                                                deadline, clock, sleep)
    return report


def _wait_gone(mutator: Mutator, pods: Sequence[Obj], deadline: float, clock: Callable[[], float],
               sleep: Callable[[float], None]) -> list[str]:
    """Wait (until the deadline) for evicted pods to be deleted; the ones still there are returned."""
    from kubernetes.client.exceptions import ApiException

    core = mutator.core()
    waiting = list(pods)
    while waiting:
        left = []
        for pod in waiting:
            m = meta(pod)
            try:
                current = core.read_namespaced_pod(str(m["name"]), str(m["namespace"]))
            except ApiException as exc:
                if exc.status == 404:
                    continue
                raise
            if current.metadata and current.metadata.uid != m.get("uid"):
                continue  # a new pod of the same name
            left.append(pod)
        waiting = left
        if not waiting or clock() >= deadline:
            break
        sleep(0.5)
    return [ref(p) for p in waiting]
