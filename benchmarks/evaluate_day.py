"""`evaluate` + `report` of a synthetic day of a 100,000-pod cluster: about 2.5 GB of k8s.jsonl.

The same synthetic platform as evaluate_10k.py (four agent types, HPAs every 15 s, Deployments,
PDBs, a node drain, OOM kills), stretched over 24 hours on 1,000 nodes, with 100,000 agent pods
that each live 5-20 minutes. Besides the lines that change what the criteria read (created,
scheduled, running, OOM-killed, finished, deleted, three Events each), every running pod gets a
status line every `--heartbeat` seconds that changes nothing a criterion reads (a resourceVersion
bump, as kubelet status updates and annotation writes do): that is what most of a real recording
is, and what the reader collapses.

evidence/metrics.json carries every query at a 300 s step (per-pod series for each pod's
lifetime): a day of per-pod series at 15 s would be ~20 million points, which is not what this
benchmark is about (the watch file is).

The run directory is generated in --workdir (default /tmp, ~2.5 GB: check `df -h /tmp`), measured
in a fresh process (wall time, CPU time, peak RSS), and deleted afterwards unless --keep.

    .venv/bin/python benchmarks/evaluate_day.py                 # generate, measure, delete
    .venv/bin/python benchmarks/evaluate_day.py --pods 20000    # a smaller day, quicker

Prints a table and writes benchmarks/results/evaluate_day.json.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import evaluate_10k as ten_k
import msgspec

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "evaluate_day.json"
DAY = 86_400
NODES = 1_000
METRICS_STEP = 300
_ENCODE = msgspec.json.Encoder().encode


def _line(ms: int, kind: str, typ: str, name: str, uid: str, rv: int, obj: Any, namespace: str) -> bytes:
    return _ENCODE(
        {
            "received_ms": ms,
            "kind": kind,
            "type": typ,
            "namespace": namespace,
            "name": name,
            "uid": uid,
            "resource_version": str(rv),
            "object": obj,
        }
    )


def write_k8s(path: Path, pods: ten_k._Pods, heartbeat: float) -> int:
    """The day's watch lines, in receipt order, rendered one at a time (never all in memory): a
    compact plan of (time, what) is sorted first, then each line is built and written."""
    start, end = ten_k.START, ten_k.START + DAY
    plan: list[tuple[int, int, int, int]] = []  # (ms, what, index, step)
    pod_steps: list[list[tuple[float, str, str]]] = []  # per pod: (time, type, shape)
    for i, (_name, _agent, _uid, _node, created, gone, oom_at) in enumerate(pods.items):
        steps = [
            (created, "ADDED", "pending"),
            (created + 1, "MODIFIED", "scheduled"),
            (created + 3, "MODIFIED", "running"),
        ]
        if oom_at is not None:
            steps.append((oom_at + 0.4, "MODIFIED", "oom"))
        t = created + 3 + heartbeat
        while t < gone:  # status lines that change nothing the criteria read
            oomed = oom_at is not None and t >= oom_at + 0.4
            steps.append((t, "MODIFIED", "oom" if oomed else "running"))
            t += heartbeat
        steps.append((gone, "MODIFIED", "finished"))
        steps.append((gone + 2, "DELETED", "finished"))
        steps.sort(key=lambda s: s[0])
        kept: list[tuple[float, str, str]] = []
        for n, (t, typ, shape) in enumerate(steps):
            if t > end:
                break
            if t < start:  # existed when recording began: seen in the first list, as RELIST
                if n + 1 < len(steps) and steps[n + 1][0] < start:
                    continue
                t, typ = start, "RELIST"
            kept.append((t, typ, shape))
            plan.append((int(t * 1000), 0, i, len(kept) - 1))
        pod_steps.append(kept)
        for n, dt in enumerate((1.0, 2.0, 2.5)):
            if start <= created + dt <= end:
                plan.append((int((created + dt) * 1000), 1, i, n))
    for i in range(NODES):
        plan.append((start * 1000, 2, i, 0))
    for k in range(len(ten_k.AGENTS)):
        for j in range(DAY // ten_k.STEP + 1):
            plan.append(((start + j * ten_k.STEP) * 1000 + 200, 3, k, j))
    for k in range(6):
        for j in range(DAY // 60 + 1):
            plan.append(((start + j * 60) * 1000 + 300, 4, k, j))
    for t, unschedulable in ((start + 1800, 1), (start + 2040, 0)):
        plan.append((t * 1000, 5, 7, unschedulable))
    plan.append((start * 1000, 6, 0, 0))
    plan.append((start * 1000, 6, 1, 0))
    plan.sort()
    deployments = [*ten_k.AGENTS, "workflow-controller", "agent-operator"]
    ns = ten_k.NS
    rv = 1000
    with path.open("wb") as out:
        for ms, what, i, n in plan:
            rv += 1
            if what == 0:
                name, agent, uid, node, created, gone, oom_at = pods.items[i]
                t, typ, shape = pod_steps[i][n]
                obj = _pod(shape, name, agent, uid, node, created, gone, oom_at, rv)
                out.write(_line(ms, "Pod", typ, name, uid, rv, obj, ns))
            elif what == 1:
                name, _agent, _uid, node, _created, _gone, _oom = pods.items[i]
                reason, message = (
                    ("Scheduled", f"assigned {ns}/{name} to {node}"),
                    ("Pulled", "image already present on machine"),
                    ("Started", "Started container agent"),
                )[n]
                out.write(ten_k._event(ms, name, reason, message, n).encode())
            elif what == 2:
                obj = {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {"name": f"agents-impl-{i}"},
                    "spec": {},
                    "status": {"conditions": [{"type": "Ready", "status": "True"}]},
                }
                out.write(_line(ms, "Node", "RELIST", f"agents-impl-{i}", f"node-{i}", i, obj, ""))
            elif what == 3:
                agent = ten_k.AGENTS[i]
                t = ms // 1000
                replicas = 40 + int(30 * min(1.0, (t - start) / 1200)) + i
                obj = ten_k._hpa_object(agent, replicas, replicas + (1 if n % 20 == 0 else 0), 65 + (n % 9))
                typ = "RELIST" if n == 0 else "MODIFIED"
                out.write(_line(ms, "HorizontalPodAutoscaler", typ, agent, f"hpa-{agent}", rv, obj, ns))
            elif what == 4:
                name = deployments[i]
                labels = (
                    {"app.kubernetes.io/component": "controller"}
                    if i >= len(ten_k.AGENTS)
                    else {"app.kubernetes.io/name": name}
                )
                obj = ten_k._deployment_object(name, labels, 2, 2)
                typ = "RELIST" if n == 0 else "MODIFIED"
                out.write(_line(ms, "Deployment", typ, name, f"dep-{name}", rv, obj, ns))
            elif what == 5:
                obj = {
                    "apiVersion": "v1",
                    "kind": "Node",
                    "metadata": {"name": "agents-impl-7"},
                    "spec": {"unschedulable": bool(n)},
                    "status": {"conditions": [{"type": "Ready", "status": "True"}]},
                }
                out.write(_line(ms, "Node", "MODIFIED", "agents-impl-7", "node-7", rv, obj, ""))
            else:
                name = ("controller-pdb", "agents-pdb")[i]
                obj = {
                    "apiVersion": "policy/v1",
                    "kind": "PodDisruptionBudget",
                    "metadata": {"name": name, "namespace": ns},
                    "spec": {
                        "minAvailable": 1,
                        "selector": {"matchLabels": {"app.kubernetes.io/component": "controller"}},
                    },
                    "status": {
                        "currentHealthy": 2,
                        "desiredHealthy": 1,
                        "disruptionsAllowed": 1,
                        "expectedPods": 2,
                    },
                }
                out.write(_line(ms, "PodDisruptionBudget", "RELIST", name, f"pdb-{name}", rv, obj, ns))
            out.write(b"\n")
    return len(plan)


def _pod(
    shape: str,
    name: str,
    agent: str,
    uid: str,
    node: str,
    created: float,
    gone: float,
    oom_at: float | None,
    rv: int,
) -> dict[str, Any]:
    if shape == "pending":
        return ten_k._pod_object(name, agent, uid, "", created, "Pending", rv=rv)
    if shape == "scheduled":
        return ten_k._pod_object(name, agent, uid, node, created, "Pending", rv=rv)
    if shape == "running":
        return ten_k._pod_object(
            name, agent, uid, node, created, "Running", ready=True, started=created + 2, rv=rv
        )
    if shape == "oom":
        assert oom_at is not None
        return ten_k._pod_object(
            name, agent, uid, node, created, "Running", ready=True, started=oom_at + 1, oom_at=oom_at, rv=rv
        )
    return ten_k._pod_object(
        name, agent, uid, node, created, "Succeeded", started=created + 2, finished=gone, oom_at=oom_at, rv=rv
    )


def generate(run_dir: Path, pods: int, heartbeat: float) -> dict[str, Any]:
    from validator.criteria.registry import all_queries

    # the hour's generators, stretched to a day on 1,000 nodes
    ten_k.HOUR, ten_k.NODES = DAY, NODES
    rng = random.Random(100_000)
    for sub in ("evidence", "load", "chaos"):
        (run_dir / sub).mkdir(parents=True, exist_ok=True)
    manifest = {
        "schema": "validator.manifest/v1",
        "run_id": "bench-day",
        "suite": "benchmark",
        "window": {"start": ten_k._iso(ten_k.START), "end": ten_k._iso(ten_k.START + DAY)},
        "context": "synthetic",
        "namespaces": [ten_k.NS],
        "sandbox": True,
        "agent_label": "app.kubernetes.io/name",
        "controller_selector": "app.kubernetes.io/component=controller",
        "expected_alerts": {"node-drain": ["PDBNoDisruptionAllowed"], "memory-pressure": ["AgentOOMKilled"]},
        "criteria": {},
    }
    (run_dir / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    population = ten_k._Pods(pods, rng)
    k8s_lines = write_k8s(run_dir / "evidence" / "k8s.jsonl", population, heartbeat)
    ten_k.STEP = METRICS_STEP
    points = ten_k.write_metrics(run_dir / "evidence" / "metrics.json", population, all_queries(), rng)
    load_rows = ten_k.write_load(run_dir / "load" / "locust_stats_history.csv")
    ten_k.write_faults(run_dir / "chaos" / "faults.jsonl")
    return {
        "pods": pods,
        "nodes": NODES,
        "hours": DAY // 3600,
        "heartbeat_s": heartbeat,
        "k8s_lines": k8s_lines,
        "metric_points": points,
        "metrics_step_s": METRICS_STEP,
        "load_rows": load_rows,
        "k8s_jsonl_bytes": (run_dir / "evidence" / "k8s.jsonl").stat().st_size,
        "metrics_json_bytes": (run_dir / "evidence" / "metrics.json").stat().st_size,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pods", type=int, default=100_000)
    parser.add_argument(
        "--heartbeat", type=float, default=90.0, help="seconds between a running pod's status lines"
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/validator-bench-day"))
    parser.add_argument("--keep", action="store_true", help="keep the generated run directory")
    parser.add_argument("--generate-only", type=Path, help=argparse.SUPPRESS)  # the generating child
    args = parser.parse_args(argv)
    if args.generate_only is not None:
        generated = generate(args.generate_only, args.pods, args.heartbeat)
        (args.generate_only / "generated.json").write_text(json.dumps(generated), encoding="utf-8")
        return 0

    run_dir = args.workdir / f"run-{args.pods}"
    free = shutil.disk_usage(args.workdir.parent if not args.workdir.exists() else args.workdir).free
    if free < 4 * 2**30:
        print(f"only {free / 2**30:.1f} GiB free under {args.workdir}: need about 4", file=sys.stderr)
        return 1
    try:
        t = time.perf_counter()
        # generated in a child process of its own: a process started by one that grew large inherits
        # its peak RSS figure (ru_maxrss survives fork and exec on Linux), so the measuring child
        # must be started by this small parent, not by the generator
        subprocess.run(
            [sys.executable, __file__, "--generate-only", str(run_dir), "--pods", str(args.pods),
             "--heartbeat", str(args.heartbeat)],
            check=True,
        )
        generated = json.loads((run_dir / "generated.json").read_text(encoding="utf-8"))
        print(f"generated {run_dir} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        child = subprocess.run(
            [sys.executable, str(HERE / "evaluate_10k.py"), "--measure-only", str(run_dir)],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        if not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)
    if child.returncode != 0:
        print(child.stderr, file=sys.stderr)
        return child.returncode
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    result = {"input": generated, **figures, "python": sys.version.split()[0]}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"pods {generated['pods']:,}; k8s.jsonl {generated['k8s_lines']:,} lines, "
        f"{generated['k8s_jsonl_bytes'] / 2**30:.2f} GiB; metrics.json {generated['metric_points']:,} points"
    )
    print(ten_k.table(generated, figures))
    print(f"written: {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
