"""Pod actions. `evict_pods` goes through the eviction API (budgets honoured, refusals retried until
a deadline). `delete_pods` and `kill_controllers` delete pods (graceful, never forced) and so
bypass budgets: they exist only as separately named actions for faults that mean it."""

from __future__ import annotations

import random
from typing import Any

from chaoslib.exceptions import ActivityFailed

from validator.chaos.eviction import evict_with_retry
from validator.chaos.targets import is_finished, is_terminating, list_pods, ref, sample
from validator.errors import ConfigError
from validator.safety.guard import owner_key, require_matches
from validator.safety.mutator import Mutator
from validator.safety.session import mutator_for

Configuration = dict[str, Any] | None
Secrets = dict[str, Any] | None


def _select(mutator: Mutator, namespace: str, label_selector: str, count: int,
            rng: random.Random | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if not label_selector:
        raise ConfigError("a pod label selector is required", where="label_selector",
                          fix="e.g. app.kubernetes.io/name=rex")
    if count < 1:
        raise ConfigError(f"count must be at least 1, not {count}", where="count")
    mutator.guard.check_namespace(namespace)
    matching = [p for p in list_pods(mutator, namespace, label_selector)
                if not is_finished(p) and not is_terminating(p)]
    require_matches(matching, f"running pods in namespace {namespace}", label_selector, "label_selector")
    chosen = sample(matching, count, rng)
    population = list_pods(mutator, namespace)
    mutator.guard.check_pods(chosen, population)
    return chosen, population


def evict_pods(namespace: str, label_selector: str, count: int = 1, timeout_s: float = 60.0,
               backoff_s: float = 1.0, configuration: Configuration = None,
               secrets: Secrets = None) -> dict[str, Any]:
    """Evict `count` pods chosen (without replacement) by selector; budgets are honoured."""
    mutator = mutator_for(configuration)
    chosen, _ = _select(mutator, namespace, label_selector, int(count))
    report = evict_with_retry(mutator, chosen, timeout_s=float(timeout_s), backoff_s=float(backoff_s))
    result = {"targets": [ref(p) for p in chosen], **report.as_dict()}
    if report.timed_out:
        raise ActivityFailed(f"eviction timed out after {timeout_s}s: {report.refusal_summary()}")
    return result


def delete_pods(namespace: str, label_selector: str, count: int = 1, configuration: Configuration = None,
                secrets: Secrets = None) -> dict[str, Any]:
    """Delete `count` pods by selector (graceful). Bypasses PodDisruptionBudgets, on purpose."""
    mutator = mutator_for(configuration)
    chosen, _ = _select(mutator, namespace, label_selector, int(count))
    for pod in chosen:
        mutator.delete_pod(pod)
    return {"targets": [ref(p) for p in chosen]}


def kill_controllers(namespace: str, label_selector: str = "app.kubernetes.io/component=controller",
                     per_workload: int = 1, configuration: Configuration = None,
                     secrets: Secrets = None) -> dict[str, Any]:
    """Controller failure: delete `per_workload` pod(s) of every controller workload matching."""
    mutator = mutator_for(configuration)
    mutator.guard.check_namespace(namespace)
    matching = [p for p in list_pods(mutator, namespace, label_selector)
                if not is_finished(p) and not is_terminating(p)]
    require_matches(matching, f"controller pods in namespace {namespace}", label_selector, "label_selector")
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for pod in matching:
        by_owner.setdefault(owner_key(pod), []).append(pod)
    chosen = [p for pods in by_owner.values() for p in sample(pods, int(per_workload))]
    mutator.guard.check_pods(chosen, list_pods(mutator, namespace))
    for pod in chosen:
        mutator.delete_pod(pod)
    return {"targets": [ref(p) for p in chosen], "workloads": sorted(by_owner)}
