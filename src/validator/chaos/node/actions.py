"""Node actions: PDB-aware drain and its uncordon rollback; NotReady nodes and their restore.

`drain_nodes` never drains every node by default (a selector is required and must match), picks
nodes without replacement, refuses control-plane nodes, the last schedulable node of a pool, nodes
hosting pods of namespaces outside the allow-list, and more nodes at once than the allow-list's
limit. It cordons, then evicts through the eviction API, retrying budget refusals until
`timeout_s`; it raises `ActivityFailed` on timeout, leaving the uncordon to the rollback.
"""

from __future__ import annotations

import random
import shlex
import subprocess
from typing import Any

from chaoslib.exceptions import ActivityFailed

from validator.chaos.eviction import evict_with_retry
from validator.chaos.targets import drainable, list_pods, meta, name_of, require_simulated
from validator.errors import ConfigError, UnsafeOperation
from validator.model.label_selector import LabelSelector
from validator.safety import marks
from validator.safety.guard import (
    POOL_LABEL,
    is_schedulable,
    namespace_refusal,
    node_refusal,
    require_matches,
)
from validator.safety.mutator import Mutator
from validator.safety.session import mutator_for

Configuration = dict[str, Any] | None
Secrets = dict[str, Any] | None


def _foreign_pods(mutator: Mutator, node: str) -> list[str]:
    """Pods on `node` a drain would evict but the allow-list does not cover."""
    out = []
    for pod in list_pods(mutator, "", field_selector=f"spec.nodeName={node}"):
        ok, _ = drainable(pod)
        ns = str(meta(pod).get("namespace"))
        if ok and namespace_refusal(ns, mutator.guard.entry):
            out.append(f"{ns}/{name_of(pod)}")
    return out


def _drain_weight_per_node(mutator: Mutator) -> dict[str, tuple[int, int]]:
    """Per node: (drainable pods a PodDisruptionBudget selects, drainable pods)."""
    from kubernetes import client

    budgets: dict[str, list[LabelSelector]] = {}
    for pdb in client.PolicyV1Api(mutator.guard.api).list_pod_disruption_budget_for_all_namespaces().items:
        selector = pdb.spec.selector.to_dict() if pdb.spec and pdb.spec.selector else None
        try:
            budgets.setdefault(pdb.metadata.namespace, []).append(LabelSelector.from_api(selector))
        except ValueError:
            continue  # the apiserver validates selectors; a malformed one protects nothing
    weights: dict[str, tuple[int, int]] = {}
    for pod in list_pods(mutator, ""):
        node = str((pod.get("spec") or {}).get("nodeName") or "")
        if not node or not drainable(pod)[0]:
            continue
        labels = dict(meta(pod).get("labels") or {})
        guarded = any(wanted.matches(labels) for wanted in budgets.get(str(meta(pod).get("namespace")), []))
        under_budget, total = weights.get(node, (0, 0))
        weights[node] = (under_budget + int(guarded), total + 1)
    return weights


def choose_nodes(mutator: Mutator, label_selector: str, count: int,
                 rng: random.Random | None = None) -> list[dict[str, Any]]:
    """`count` distinct nodes matching the selector that the guard allows to take out together: first
    those running the most pods under a PodDisruptionBudget, then the busiest."""
    if not label_selector:
        raise ConfigError("a node label selector is required: the suite never drains every node",
                          where="label_selector", fix="e.g. node-pool=implementation")
    if count < 1:
        raise ConfigError(f"count must be at least 1, not {count}", where="count")
    all_nodes = mutator.list_nodes()
    matching = mutator.list_nodes(label_selector)
    require_matches(matching, "nodes", label_selector, "label_selector")
    pools = {((n.get("metadata") or {}).get("labels") or {}).get(POOL_LABEL) for n in matching}
    if len(pools) == 1 and None not in pools:
        pool = next(iter(pools))
        schedulable = [n for n in all_nodes if is_schedulable(n)
                       and ((n.get("metadata") or {}).get("labels") or {}).get(POOL_LABEL) == pool]
        if count >= len(schedulable):
            raise UnsafeOperation(
                f"refused: taking {count} node(s) out of pool {pool!r}, which has {len(schedulable)} "
                f"schedulable, would take the last schedulable node of pool {pool!r}",
                where=f"context {mutator.guard.context}, selector {label_selector!r}",
                fix=f"ask for at most {max(len(schedulable) - 1, 0)} node(s) of this pool",
            )
    order = list(matching)
    (rng or random.Random()).shuffle(order)
    # the nodes whose drain meets the most budgets first, then the busiest (ties in random order):
    # draining a node that runs nothing tests no budget
    weight = _drain_weight_per_node(mutator)
    order.sort(key=lambda n: tuple(-w for w in weight.get(name_of(n), (0, 0))))
    chosen: list[dict[str, Any]] = []
    reasons: list[str] = []
    for node in order:
        if len(chosen) == count:
            break
        name = name_of(node)
        reason = node_refusal(node, all_nodes, mutator.guard.entry, [name_of(n) for n in chosen])
        if reason is None:
            foreign = _foreign_pods(mutator, name)
            if foreign:
                reason = (f"node {name} hosts pods outside the allow-list ({', '.join(foreign[:5])}), "
                          "which a drain would evict")
        if reason:
            reasons.append(reason)
            continue
        chosen.append(node)
    if len(chosen) < count:
        raise UnsafeOperation(
            f"refused: only {len(chosen)} of the {count} node(s) asked for by selector {label_selector!r} "
            "may be taken out:\n    " + "\n    ".join(reasons),
            where=f"context {mutator.guard.context}",
            fix="ask for fewer nodes, pick a pool with spare capacity, or adjust the allow-list limits",
        )
    return chosen


DRAIN_MODES = ("evict", "delete")


def drain_nodes(label_selector: str, count: int = 1, timeout_s: float = 120.0, backoff_s: float = 1.0,
                max_backoff_s: float = 5.0, mode: str = "evict", configuration: Configuration = None,
                secrets: Secrets = None) -> dict[str, Any]:
    """Cordon `count` nodes chosen by selector and evict their pods, honouring every budget.

    `mode: delete` deletes the pods instead (graceful, never forced), as `kubectl drain
    --disable-eviction` does: budgets are bypassed. It exists to rehearse a maintenance runbook that
    drains that way, and to show what it costs (pdb_respected)."""
    if mode not in DRAIN_MODES:
        raise ConfigError(f"unknown drain mode {mode!r}", where="mode", fix=f"use one of {list(DRAIN_MODES)}")
    mutator = mutator_for(configuration)
    chosen = choose_nodes(mutator, label_selector, int(count))
    names = [name_of(n) for n in chosen]
    for i, name in enumerate(names):
        mutator.cordon(name, also=names[:i])
    pods: list[dict[str, Any]] = []
    skipped: list[str] = []
    for name in names:
        for pod in list_pods(mutator, "", field_selector=f"spec.nodeName={name}"):
            ok, why = drainable(pod)
            if ok:
                pods.append(pod)
            else:
                skipped.append(f"{meta(pod).get('namespace')}/{name_of(pod)} ({why})")
    if mode == "delete":
        # nothing but the allow-list's blast radius stands between a deleting drain and a whole
        # workload: no budget is asked
        mutator.guard.check_pods(pods, list_pods(mutator, ""))
        for pod in pods:
            mutator.delete_pod(pod)
        return {"targets": [f"node/{n}" for n in names], "skipped": skipped, "mode": mode,
                "deleted": [f"{meta(p).get('namespace')}/{name_of(p)}" for p in pods]}
    report = evict_with_retry(mutator, pods, timeout_s=float(timeout_s), backoff_s=float(backoff_s),
                              max_backoff_s=float(max_backoff_s))
    result = {"targets": [f"node/{n}" for n in names], "skipped": skipped, **report.as_dict()}
    if report.timed_out:
        raise ActivityFailed(
            f"drain of {', '.join(names)} timed out after {timeout_s}s with {len(report.pending)} pod(s) "
            f"not evicted: {report.refusal_summary()}. The node stays cordoned until the rollback "
            "(uncordon_nodes) runs."
        )
    return result


def uncordon_nodes(label_selector: str = "", configuration: Configuration = None,
                   secrets: Secrets = None) -> dict[str, Any]:
    """Rollback: uncordon every node this run cordoned (idempotent: unmarked nodes are left alone)."""
    mutator = mutator_for(configuration)
    done = []
    for node in mutator.list_nodes(label_selector):
        annotations = meta(node).get("annotations") or {}
        if annotations.get(marks.RUN_ID) != mutator.run_id:
            continue
        if marks.UNCORDON in marks.parse_reverts(annotations.get(marks.REVERT)) and \
                mutator.uncordon(name_of(node)):
            done.append(f"node/{name_of(node)}")
    return {"targets": done}


def fail_nodes(label_selector: str, count: int = 1, condition: str = "", mechanism: str = "hook",
               hook_command: str = "", configuration: Configuration = None,
               secrets: Secrets = None) -> dict[str, Any]:
    """Make `count` nodes NotReady.

    `mechanism: sandbox` sets the sandbox's `sim.validator.io/not-ready` label (and the extra
    condition annotation when `condition` is given, e.g. MemoryPressure). `mechanism: hook` runs
    `hook_command` (with `{node}` replaced by the node's name) for each node, e.g. a cloud CLI that
    stops the instance; its undo is `restore_nodes`' `hook_command`. Hooks are audited, not marked,
    so `validator recover` cannot undo them: keep their rollback in the experiment.
    """
    mutator = mutator_for(configuration)
    chosen = choose_nodes(mutator, label_selector, int(count))
    names = [name_of(n) for n in chosen]
    if mechanism == "sandbox":
        require_simulated(mutator, names, "node failure")
        for name in names:
            mutator.set_node_not_ready(name, condition)
    elif mechanism == "hook":
        _run_hooks(mutator, hook_command, names, "node-failure-hook")
    else:
        raise ConfigError(f"unknown node failure mechanism {mechanism!r}", where="mechanism",
                          fix="use sandbox or hook")
    return {"targets": [f"node/{n}" for n in names], "mechanism": mechanism}


def restore_nodes(label_selector: str = "", mechanism: str = "hook", hook_command: str = "",
                  configuration: Configuration = None, secrets: Secrets = None) -> dict[str, Any]:
    """Rollback of `fail_nodes`: clear NotReady on the nodes this run failed (idempotent)."""
    mutator = mutator_for(configuration)
    done = []
    if mechanism == "hook":
        targets = [name_of(n) for n in mutator.list_nodes(label_selector)]
        _run_hooks(mutator, hook_command, targets, "node-restore-hook")
        return {"targets": [f"node/{n}" for n in targets]}
    for node in mutator.list_nodes(label_selector):
        annotations = meta(node).get("annotations") or {}
        if annotations.get(marks.RUN_ID) != mutator.run_id:
            continue
        if mutator.clear_node_not_ready(name_of(node)):
            done.append(f"node/{name_of(node)}")
    return {"targets": done}


def _run_hooks(mutator: Mutator, command: str, nodes: list[str], change: str) -> None:
    if not command:
        raise ConfigError("mechanism hook needs hook_command (e.g. 'my-cloud stop-instance {node}')",
                          where="hook_command")
    for node in nodes:
        argv = [part.replace("{node}", node) for part in shlex.split(command)]

        def call(argv: list[str] = argv) -> None:
            subprocess.run(argv, check=True, timeout=300, capture_output=True)

        mutator.run_hook(node, change, call)
