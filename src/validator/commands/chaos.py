"""`validator plan`, `validator recover` and `validator allow`: the safety side of chaos runs.

- `plan EXPERIMENT|SUITE --context CTX`: resolves every step's targets and lists each object it
  would touch; evictions are asked of the apiserver as dry runs, so budget refusals show up.
  Nothing is written: no cluster object, no audit line.
- `recover [--context CTX] [--run-id ID]`: reverts everything a run (or every run) left marked.
  Safe to repeat.
- `allow --context CTX --namespace NS...`: records a context's cluster identity in the allow-list.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from validator.chaos.mechanisms import refuse_off_sandbox
from validator.chaos.plan import plan_experiment
from validator.commands import Subcommands
from validator.config.experiment_file import load_experiment_file
from validator.config.suite_file import Mode, load_suite_file
from validator.errors import ConfigError, UnsafeOperation
from validator.kube import api_client
from validator.resources import suite_path
from validator.safety.allowlist import ContextEntry, Limits, default_path, read_identity, save_entry
from validator.safety.audit import AuditLog
from validator.safety.guard import open_guard
from validator.safety.mutator import Mutator
from validator.safety.rbac import missing_verbs, run_needs
from validator.safety.recover import recover
from validator.safety.session import exact_namespaces, planning
from validator.sandbox.lifecycle import running_sandbox_for


def register(sub: Subcommands) -> None:
    plan = sub.add_parser("plan", help="list every object an experiment or suite would touch; writes nothing")
    plan.add_argument("target", metavar="EXPERIMENT|SUITE", help="experiment .json or suite .yaml")
    _context_args(plan)
    plan.add_argument("--json", action="store_true", help="print the plan as JSON")
    plan.set_defaults(handler=_plan)

    rec = sub.add_parser("recover", help="revert every change a run left marked (safe to repeat)")
    _context_args(rec, required=False)
    rec.add_argument("--run-id", default=None, help="only this run's changes (default: every run's)")
    rec.add_argument("--run-dir", default=None,
                     help="where the audit lines go (default: $VALIDATOR_RUN_DIR or ./reports/adhoc)")
    rec.set_defaults(handler=_recover)

    allow = sub.add_parser("allow", help="record a context's cluster identity in the allow-list")
    _context_args(allow)
    allow.add_argument("--namespace", action="append", required=True,
                       help="namespace (fnmatch pattern) faults may touch; repeat for several")
    allow.add_argument("--node-pool", action="append", default=[], help="node pool faults may touch")
    allow.add_argument("--pod-label", action="append", default=[], help="label a targeted pod must carry")
    allow.add_argument("--max-cordoned-nodes", type=int, default=1)
    allow.add_argument("--max-workload-share", type=float, default=0.5)
    allow.set_defaults(handler=_allow)


def _context_args(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--context", default=os.environ.get("VALIDATOR_CONTEXT"),
                        help="kubeconfig context, named explicitly (or $VALIDATOR_CONTEXT)")
    parser.add_argument("--kubeconfig", default=os.environ.get("VALIDATOR_KUBECONFIG"),
                        help="kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
    parser.add_argument("--allowlist", default=None, type=Path,
                        help=f"allow-list file (default: {default_path()})")


# --------------------------------------------------------------------------- plan


def _experiments_of(target: Path, context: str) -> list[tuple[Path, dict[str, str]]]:
    """The experiment files a plan covers, each with the environment it would run with: a suite is
    read exactly as `run` reads it (every problem is exit 2, naming its key), with the timings of
    the cluster the context names (sandbox or real)."""
    if target.suffix == ".json":
        if not target.exists():
            raise ConfigError(
                f"{target} does not exist", where=str(target), fix="give an experiment or suite file"
            )
        load_experiment_file(target)
        return [(target, {})]
    suite = load_suite_file(suite_path(target))
    if not suite.experiments:
        raise ConfigError("suite lists no experiments", where=f"{target}: experiments")
    mode: Mode = "sandbox" if running_sandbox_for(context) is not None else "real"
    return [(e.path, {**suite.timing(mode).env, **e.env}) for e in suite.experiments]


def _plan(args: argparse.Namespace) -> int:
    experiments = _experiments_of(Path(args.target), args.context or "")
    if running_sandbox_for(args.context or "") is None:
        refuse_off_sandbox(
            ((load_experiment_file(path), {**os.environ, **env}) for path, env in experiments), args.context
        )
    guard = open_guard(args.context, args.kubeconfig, args.allowlist)
    mutator = Mutator(guard=guard, audit=AuditLog(Path(os.devnull), "plan"), plan_mode=True)
    needs = run_needs(exact_namespaces(guard.entry.namespaces))
    missing = [n.describe() for n in missing_verbs(guard.api, needs)]
    if missing:
        if args.json:
            doc: dict[str, Any] = {"context": guard.context, "missing_permissions": missing, "plans": []}
            print(json.dumps(doc, indent=2))
        else:
            print("missing permissions (SelfSubjectAccessReview):\n    " + "\n    ".join(missing))
        print(f"validator: the identity of context {guard.context} lacks {len(missing)} permission(s) a "
              "run needs; bind the validator-runner role (platform/base/rbac-validator-runner.yaml)",
              file=sys.stderr)
        return 4
    plans = []
    with planning(mutator):
        for path, env in experiments:
            plans.append(plan_experiment(path, mutator, env))
    refused = [s for p in plans for s in p["steps"] if s.get("result") in ("refused", "error")]
    if args.json:
        doc = {"context": guard.context, "missing_permissions": missing, "plans": plans}
        print(json.dumps(doc, indent=2))
    else:
        for p in plans:
            print(f"{p['experiment']}  ({p['title']})")
            for s in p["steps"]:
                status = s.get("result", "")
                print(f"  [{s['phase']}] {s['name']}: {s['function']} {status}".rstrip())
                if s.get("note"):
                    print(f"      {s['note']}")
                if s.get("reason"):
                    print(f"      {s['result']}: {s['reason']}")
                for w in s["writes"]:
                    note = f"  {w['note']}" if w["note"] else ""
                    print(f"      would {w['verb']} {w['object']} ({w['change']}){note}")
    if refused:
        print(f"validator: {len(refused)} step(s) refused or invalid; see above", file=sys.stderr)
        return 4 if any(s["result"] == "refused" for s in refused) else 2
    return 0


# --------------------------------------------------------------------------- recover and allow


def _recover(args: argparse.Namespace) -> int:
    guard = open_guard(args.context, args.kubeconfig, args.allowlist)
    run_dir = Path(args.run_dir or os.environ.get("VALIDATOR_RUN_DIR") or "./reports/adhoc")
    mutator = Mutator(guard=guard, audit=AuditLog(run_dir, args.run_id or "recover"))
    report = recover(mutator, args.run_id)
    for line in report.reverted:
        print(f"reverted {line}")
    for line in report.skipped:
        print(f"skipped  {line}")
    if not report.reverted:
        print("nothing to recover: no object carries a validator mark" +
              (f" of run {args.run_id}" if args.run_id else ""))
    return 0


def _allow(args: argparse.Namespace) -> int:
    from kubernetes import client

    if not args.context:
        raise UnsafeOperation("no context named", where="--context", fix="name the context to allow")
    identity, path = read_identity(args.context, args.kubeconfig)
    api = api_client(path, args.context)
    try:
        meta = client.CoreV1Api(api).read_namespace("kube-system").metadata
        uid = str(meta.uid) if meta and meta.uid else ""
    finally:
        api.close()
    entry = ContextEntry(
        name=args.context, server=identity.server, ca_sha256=identity.ca_sha256, kube_system_uid=uid,
        namespaces=tuple(args.namespace), node_pools=tuple(args.node_pool), pod_labels=tuple(args.pod_label),
        limits=Limits(max_cordoned_nodes=args.max_cordoned_nodes, max_workload_share=args.max_workload_share),
    )
    written = save_entry(entry, args.allowlist)
    print(f"allowed context {args.context} ({identity.server}) in {written}")
    return 0
