"""Sandbox costs: cold build, warm `up`/`down`, and 100 / 500 / 1,000 fake nodes.

    .venv/bin/python benchmarks/sandbox_lifecycle.py                # warm up/down x5, node scaling
    .venv/bin/python benchmarks/sandbox_lifecycle.py --cold-build   # also a cold build (15+ min)

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
from pathlib import Path
from typing import Any

from kubernetes import client

from validator.sandbox import lifecycle, toolchain
from validator.sandbox.node_pools import node_manifests

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


def node_scaling(counts: list[int]) -> list[dict[str, Any]]:
    results = []
    for count in counts:
        name = f"bench-nodes-{count}"
        info = lifecycle.up(lifecycle.SandboxOptions(name=name, nodes=8))
        state = Path(info.state_dir)
        try:
            base_api, base_etcd = _rss_mib("kube-apiserver", state), _rss_mib("etcd", state)
            extra = count - 8
            manifests = node_manifests({"implementation": extra})
            for index, manifest in enumerate(manifests, start=1):
                node_name = f"scale-{index}"
                manifest["metadata"]["name"] = node_name
                manifest["metadata"]["labels"]["kubernetes.io/hostname"] = node_name
                manifest["metadata"]["annotations"]["metrics.k8s.io/resource-metrics-path"] = (
                    f"/metrics/nodes/{node_name}/metrics/resource"
                )
            with lifecycle.api_client(info) as api:
                core = client.CoreV1Api(api)
                started = time.monotonic()
                for manifest in manifests:
                    core.create_node(manifest)
                created = time.monotonic() - started
                while True:
                    nodes = core.list_node().items
                    ready = sum(
                        any(c.type == "Ready" and c.status == "True" for c in (n.status.conditions or []))
                        for n in nodes
                    )
                    if ready >= count:
                        break
                    if time.monotonic() - started > 900:
                        raise RuntimeError(f"only {ready}/{count} nodes Ready after 900 s")
                    time.sleep(0.5)
                all_ready = time.monotonic() - started
            time.sleep(5)  # let the apiserver and etcd settle before reading memory
            results.append(
                {
                    "nodes": count,
                    "create_seconds": round(created, 2),
                    "all_ready_seconds": round(all_ready, 2),
                    "apiserver_rss_mib": round(_rss_mib("kube-apiserver", state), 1),
                    "etcd_rss_mib": round(_rss_mib("etcd", state), 1),
                    "apiserver_rss_mib_at_8_nodes": round(base_api, 1),
                    "etcd_rss_mib_at_8_nodes": round(base_etcd, 1),
                }
            )
        finally:
            lifecycle.down(name)
    return results


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
    parser.add_argument("--cold-build", action="store_true")
    args = parser.parse_args()
    if toolchain.missing_components():
        print("building the sandbox binaries first (not counted)...", file=sys.stderr)
        toolchain.build_all()
    results: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["machine"] = {"cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()[0]}
    results["warm"] = warm_up_down(args.runs)
    print(f"warm up   median {results['warm']['up_seconds']['median']:.1f}s over {args.runs} runs")
    print(f"warm down median {results['warm']['down_seconds']['median']:.2f}s")
    if args.nodes:
        results["node_scaling"] = node_scaling(args.nodes)
        print(f"{'nodes':>6} {'create s':>9} {'all Ready s':>12} {'apiserver MiB':>14} {'etcd MiB':>9}")
        for row in results["node_scaling"]:
            print(
                f"{row['nodes']:>6} {row['create_seconds']:>9} {row['all_ready_seconds']:>12} "
                f"{row['apiserver_rss_mib']:>14} {row['etcd_rss_mib']:>9}"
            )
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
