"""Sandbox costs: cold build, warm `up`/`down`, and 100 / 500 / 1,000 fake nodes.

    .venv/bin/python benchmarks/sandbox_lifecycle.py                # warm up/down x5, node scaling
    .venv/bin/python benchmarks/sandbox_lifecycle.py --cold-build   # also a cold build (15+ min)
    .venv/bin/python benchmarks/sandbox_lifecycle.py --skip-warm --nodes 1000             # nodes only
    .venv/bin/python benchmarks/sandbox_lifecycle.py --skip-warm --nodes --idle-cost 1000 # idle CPU

Writes benchmarks/results/sandbox_lifecycle.json and prints a table. Each measurement uses a
cluster of its own name, so a running sandbox is not disturbed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from validator.sandbox import lifecycle, toolchain
from validator.sandbox.local_processes import stop_process

RESULTS = Path(__file__).parent / "results" / "sandbox_lifecycle.json"


def _rss_mib(binary_name: str, state: Path) -> float:
    """Resident memory of the process running `binary_name` for the sandbox in `state`."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            status = (entry / "status").read_text()
        except OSError:
            continue
        argv0 = cmdline.split(b"\0", 1)[0].decode(errors="replace")
        if argv0.endswith("/" + binary_name) and str(state).encode() in cmdline:
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    return float("nan")


def warm_up_down(runs: int) -> dict[str, Any]:
    ups, downs = [], []
    for _ in range(runs):
        name = f"bench-{uuid.uuid4().hex[:6]}"
        started = time.monotonic()
        lifecycle.up(lifecycle.SandboxOptions(name=name, nodes=8))
        ups.append(time.monotonic() - started)
        started = time.monotonic()
        lifecycle.down(name)
        downs.append(time.monotonic() - started)
    return {
        "runs": runs,
        "up_seconds": {"median": statistics.median(ups), "min": min(ups), "max": max(ups)},
        "down_seconds": {"median": statistics.median(downs), "min": min(downs), "max": max(downs)},
    }


def _epoch_s(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _ready_since(node: dict[str, Any]) -> float | None:
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready" and condition.get("status") == "True":
            return _epoch_s(condition["lastTransitionTime"])
    return None


def _untainted_at(node: dict[str, Any]) -> float | None:
    """When the controller-manager last wrote the node (its managedFields entry): the lifting of the
    not-ready taint, the only write it makes to a healthy kwok node."""
    times = [
        _epoch_s(entry["time"])
        for entry in node["metadata"].get("managedFields") or []
        if entry.get("manager") == "kube-controller-manager" and entry.get("time")
    ]
    return max(times) if times else None


def node_scaling(counts: list[int], workers: int) -> list[dict[str, Any]]:
    """`up --nodes N`, timed from the first create to every node Ready, by two clocks:

    - this process's (monotonic): the first create request sent -> the poll that saw all Ready;
    - the apiserver's and kwok's, from the nodes themselves: the earliest `creationTimestamp` to
      the latest Ready condition's `lastTransitionTime`, and to the latest controller-manager write
      (its managedFields time: the not-ready taint lifted, so pods can land). Whole seconds
      (truncated), so the true span is within 1 s of it either way.

    `up` itself returns once every node is Ready *and* untainted (this process's clock).
    """
    results = []
    for count in counts:
        name = f"bench-nodes-{count}-w{workers}-{uuid.uuid4().hex[:4]}"
        marks: dict[str, float] = {}

        def progress(message: str, marks: dict[str, float] = marks) -> None:
            if "fake nodes in pools" in message:
                marks["create"] = time.monotonic()
            elif "nodes created in" in message:
                marks["ready"] = time.monotonic()
                marks["created_s"] = float(message.split(" created in ")[1].split(" s")[0])

        load_before = os.getloadavg()[0]
        info = lifecycle.up(
            lifecycle.SandboxOptions(name=name, nodes=count, node_create_workers=workers), progress=progress
        )
        state = Path(info.state_dir)
        try:
            with lifecycle.api_client(info) as api:
                nodes = lifecycle.list_nodes_raw(api)
            created = [_epoch_s(n["metadata"]["creationTimestamp"]) for n in nodes]
            ready = [r for n in nodes if (r := _ready_since(n)) is not None]
            untainted = [u for n in nodes if (u := _untainted_at(n)) is not None]
            time.sleep(5)  # let the apiserver and etcd settle before reading memory
            results.append(
                {
                    "nodes": count,
                    "create_workers": workers,
                    "create_seconds": round(marks["created_s"], 2),
                    "all_ready_seconds": round(marks["ready"] - marks["create"], 2),
                    "server_first_create_to_last_ready_seconds": max(ready) - min(created),
                    "server_first_create_to_last_untainted_seconds": (
                        max(untainted) - min(created) if untainted else None
                    ),
                    "server_clock_resolution_seconds": 1,
                    "nodes_ready": len(ready),
                    "apiserver_rss_mib": round(_rss_mib("kube-apiserver", state), 1),
                    "etcd_rss_mib": round(_rss_mib("etcd", state), 1),
                    "kwok_rss_mib": round(_rss_mib("kwok-controller", state), 1),
                    "load_average_1m_before": round(load_before, 2),
                }
            )
        finally:
            lifecycle.down(name)
    return results


def _cpu_seconds(state: Path) -> dict[str, float]:
    """CPU seconds so far of every process of the sandbox in `state`, by binary name."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if str(state).encode() not in cmdline:
            continue
        binary = Path(cmdline.split(b"\0", 1)[0].decode(errors="replace")).name
        out[binary] = out.get(binary, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return out


def _cores(state: Path, seconds: float) -> dict[str, float]:
    before = _cpu_seconds(state)
    time.sleep(seconds)
    after = _cpu_seconds(state)
    return {k: round((v - before.get(k, 0.0)) / seconds, 3) for k, v in sorted(after.items())}


def idle_cost(count: int, seconds: float = 30) -> dict[str, Any]:
    """What an idle `count`-node sandbox keeps busy, with its Prometheus and after stopping it
    (with the compressed timings Prometheus scrapes every simulated kubelet each second)."""
    name = f"bench-idle-{count}-{uuid.uuid4().hex[:4]}"
    info = lifecycle.up(lifecycle.SandboxOptions(name=name, nodes=count))
    state = Path(info.state_dir)
    try:
        time.sleep(15)  # Prometheus discovers the nodes within 5 s
        load_with = os.getloadavg()[0]
        with_prometheus = _cores(state, seconds)
        prometheus_rss = _rss_mib("prometheus", state)
        stop_process(info.processes["prometheus"])
        time.sleep(5)
        load_without = os.getloadavg()[0]
        without = _cores(state, seconds)
    finally:
        lifecycle.down(name)
    return {
        "nodes": count,
        "cores_used_with_prometheus": with_prometheus,
        "cores_used_without_prometheus": without,
        "prometheus_rss_mib": round(prometheus_rss, 1),
        "load_average_1m": [round(load_with, 2), round(load_without, 2)],
        "note": "cores a process got, averaged over the sample; on a loaded machine a process may "
        "want more than it gets",
    }


def cold_build() -> dict[str, Any]:
    """Rebuild every binary with an empty Go build cache (the module cache is kept: downloads vary)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, GOCACHE=f"{tmp}/gocache", VALIDATOR_CACHE_DIR=f"{tmp}/cache")
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "validator.sandbox.toolchain"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        total = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-2000:])
    per_component = {}
    for line in proc.stderr.splitlines():
        if " built in " in line:
            name, seconds = line.split("] ", 1)[1].split(" built in ")
            per_component[name] = float(seconds.rstrip("s"))
    return {
        "total_seconds": round(total, 1),
        "per_component_seconds": per_component,
        "note": "empty GOCACHE, warm module cache, 2 cores",
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--nodes", type=int, nargs="*", default=[100, 500, 1000])
    parser.add_argument(
        "--workers",
        type=int,
        nargs="*",
        default=[lifecycle.NODE_CREATE_WORKERS, 1],
        help="create requests in flight; 1 is the old one-at-a-time creation, for comparison",
    )
    parser.add_argument("--skip-warm", action="store_true", help="node scaling only")
    parser.add_argument(
        "--idle-cost", type=int, default=0, help="also: the CPU an idle sandbox of this many nodes keeps busy"
    )
    parser.add_argument("--cold-build", action="store_true")
    args = parser.parse_args()
    if toolchain.missing_components():
        print("building the sandbox binaries first (not counted)...", file=sys.stderr)
        toolchain.build_all()
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["machine"] = {"cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()[0]}
    results["measured_at"] = datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if not args.skip_warm:
        results["warm"] = warm_up_down(args.runs)
        print(f"warm up   median {results['warm']['up_seconds']['median']:.1f}s over {args.runs} runs")
        print(f"warm down median {results['warm']['down_seconds']['median']:.2f}s")
    if args.nodes:
        rows = [row for workers in args.workers for row in node_scaling(args.nodes, workers)]
        results["node_scaling"] = rows
        print(
            f"{'nodes':>6} {'workers':>8} {'create s':>9} {'all Ready s':>12} {'server s':>9} "
            f"{'apiserver MiB':>14} {'etcd MiB':>9}"
        )
        for row in rows:
            print(
                f"{row['nodes']:>6} {row['create_workers']:>8} {row['create_seconds']:>9} "
                f"{row['all_ready_seconds']:>12} {row['server_first_create_to_last_ready_seconds']:>9} "
                f"{row['apiserver_rss_mib']:>14} {row['etcd_rss_mib']:>9}"
            )
    if args.idle_cost:
        results[f"idle_cost_{args.idle_cost}_nodes"] = cost = idle_cost(args.idle_cost)
        print(json.dumps(cost, indent=2))
    if args.cold_build:
        results["cold_build"] = cold_build()
        cold = results["cold_build"]
        print(f"cold build {cold['total_seconds']:.0f}s: {cold['per_component_seconds']}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
