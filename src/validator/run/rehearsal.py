"""A maintenance rehearsal: would draining this node (or pool) hurt anyone? A server-side dry-run
eviction of every pod on it, with the budget that would refuse each one, printed and written to
rehearsal-dry-run.json. Nothing in the cluster changes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from validator.chaos.targets import drainable
from validator.errors import ConfigError, ExitCode, UnsafeOperation
from validator.model.label_selector import selects
from validator.run.request import RehearsalTarget
from validator.run_directory.layout import REHEARSAL, write_json_atomically
from validator.safety.audit import AuditLog
from validator.safety.guard import Guard, pod_refusal
from validator.safety.mutator import Mutator, error_text


@dataclass(frozen=True, slots=True, kw_only=True)
class EvictionRow:
    node: str
    pod: str  # namespace/name
    budget: str  # PDB name, "" when none selects the pod
    disruptions_allowed: int | None
    verdict: str  # "allowed", "refused", "skipped", "error"
    reason: str = ""


def rehearsal_dry_run(guard: Guard, target: RehearsalTarget) -> tuple[list[EvictionRow], list[str]]:
    """A server-side dry-run eviction of every pod on the target node(s): pod, budget, refused or not.
    Writes nothing (plan-mode mutator: no cluster write, no audit line). Returns the rows and the
    node-level refusals of the guard (e.g. the last schedulable node of a pool)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    mutator = Mutator(guard=guard, audit=AuditLog(Path(os.devnull), "rehearsal-dry-run"), plan_mode=True)
    core = client.CoreV1Api(guard.api)
    policy = client.PolicyV1Api(guard.api)
    if target.node:
        try:
            nodes = [mutator.read_node(target.node)]
        except ApiException as exc:
            raise ConfigError(
                f"node {target.node!r}: {error_text(exc)}",
                where="--node",
                fix="name an existing node (kubectl get nodes)",
            ) from None
    else:
        nodes = mutator.list_nodes(f"node-pool={target.pool}")
        if not nodes:
            raise ConfigError(
                f"no node carries node-pool={target.pool}",
                where="--pool",
                fix="name an existing pool (kubectl get nodes -L node-pool)",
            )
    all_nodes = mutator.list_nodes()
    node_refusals: list[str] = []
    rows: list[EvictionRow] = []
    budgets: dict[str, list[dict[str, Any]]] = {}
    for node in nodes:
        name = str(node["metadata"]["name"])
        try:
            guard.check_node(node, all_nodes)
        except UnsafeOperation as exc:
            node_refusals.append(f"node {name}: {exc.what}")
        pods = [
            mutator.to_dict(p)
            for p in core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={name}").items
        ]
        for pod in sorted(pods, key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"])):
            meta = pod["metadata"]
            ref = f"{meta['namespace']}/{meta['name']}"
            ok, why = drainable(pod)
            if not ok:
                rows.append(
                    EvictionRow(
                        node=name, pod=ref, budget="", disruptions_allowed=None, verdict="skipped", reason=why
                    )
                )
                continue
            ns = str(meta["namespace"])
            if ns not in budgets:
                budgets[ns] = [
                    mutator.to_dict(b) for b in policy.list_namespaced_pod_disruption_budget(ns).items
                ]
            labels = meta.get("labels") or {}
            pdb = next(
                (b for b in budgets[ns] if selects((b.get("spec") or {}).get("selector"), labels)),
                None,
            )
            budget = str(pdb["metadata"]["name"]) if pdb else ""
            allowed = (pdb.get("status") or {}).get("disruptionsAllowed") if pdb else None
            verdict, reason, refused_by = _dry_run_eviction(mutator, guard, pod, ns)
            rows.append(
                EvictionRow(
                    node=name,
                    pod=ref,
                    budget=refused_by or budget,
                    disruptions_allowed=allowed,
                    verdict=verdict,
                    reason=reason,
                )
            )
    return rows, node_refusals


def _dry_run_eviction(mutator: Mutator, guard: Guard, pod: dict[str, Any], ns: str) -> tuple[str, str, str]:
    """(verdict, reason, the budget that refused it) of one pod's server-side dry-run eviction."""
    if pod_refusal(pod, guard.entry):
        return "refused", f"allow-list: namespace {ns} is not allowed for this context", ""
    try:
        outcome = mutator.evict(pod)
    except UnsafeOperation as exc:
        return "refused", exc.what, ""
    if outcome.refused_by:
        budget = outcome.refused_by
        return "refused", f"HTTP 429: budget {budget} allows no disruption now", budget
    if outcome.message.startswith("dry run: allowed"):
        return "allowed", "the apiserver would accept the eviction", ""
    return "error", outcome.message, ""


def print_rehearsal(
    console: Console, target: RehearsalTarget, rows: list[EvictionRow], node_refusals: list[str]
) -> None:
    table = Table(title=f"dry-run evictions on {target.describe()} (nothing was changed)")
    for column in ("node", "pod", "budget", "allowed now", "eviction", "reason"):
        table.add_column(column, overflow="fold")
    colour = {"allowed": "green", "refused": "red", "skipped": "dim", "error": "yellow"}
    for r in rows:
        table.add_row(
            r.node,
            r.pod,
            r.budget or "—",
            "—" if r.disruptions_allowed is None else str(r.disruptions_allowed),
            f"[{colour[r.verdict]}]{'would be refused' if r.verdict == 'refused' else r.verdict}[/]",
            r.reason,
        )
    console.print(table)
    for line in node_refusals:
        console.print(f"[red]refused:[/] {line}")
    refused = [r for r in rows if r.verdict == "refused"]
    console.print(
        f"{len(rows)} pod(s): {sum(r.verdict == 'allowed' for r in rows)} evictable, "
        f"{len(refused)} would be refused, {sum(r.verdict == 'skipped' for r in rows)} skipped "
        "(DaemonSet, mirror or finished)"
    )


def write_rehearsal_json(
    path: Path, target: RehearsalTarget, rows: list[EvictionRow], node_refusals: list[str]
) -> None:
    write_json_atomically(
        path,
        {
            "schema": "validator.rehearsal-dry-run/v1",
            "target": {"node": target.node, "pool": target.pool},
            "node_refusals": node_refusals,
            "evictions": [
                {
                    "node": r.node,
                    "pod": r.pod,
                    "budget": r.budget,
                    "disruptions_allowed": r.disruptions_allowed,
                    "eviction": r.verdict,
                    "reason": r.reason,
                }
                for r in rows
            ],
        },
    )


def rehearse(
    guard: Guard, target: RehearsalTarget, *, dry_run: bool, run_dir: Path, console: Console
) -> int | None:
    """Print the rehearsal. With `dry_run` it is the whole run and its exit code is returned: 0 every
    eviction allowed, 1 a budget would refuse one (the drain would stall), 4 the guard would refuse
    the drain itself. Otherwise the rows are written into the run directory, a drain the guard would
    refuse raises UnsafeOperation, and None lets the run go on."""
    rows, node_refusals = rehearsal_dry_run(guard, target)
    print_rehearsal(console, target, rows, node_refusals)
    guard_refusals = node_refusals + [
        f"pod {r.pod}: {r.reason}" for r in rows if r.reason.startswith("allow-list:")
    ]
    if dry_run:
        if guard_refusals:
            return int(ExitCode.REFUSED)
        stalls = any(r.verdict not in ("allowed", "skipped") for r in rows)
        return int(ExitCode.FAIL if stalls else ExitCode.PASS)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_rehearsal_json(run_dir / REHEARSAL, target, rows, node_refusals)
    if guard_refusals:
        raise UnsafeOperation(
            "the guard would refuse this drain:\n    " + "\n    ".join(guard_refusals),
            where=target.describe(),
            fix="choose another node, or allow its pool and namespaces on purpose",
        )
    return None
