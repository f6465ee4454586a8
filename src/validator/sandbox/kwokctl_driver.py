"""Driving kwokctl (binary runtime): its configuration, environment and invocations.

kwok's own default stages and Metric are read from the kwok Go module (the toolchain downloads it);
the sandbox's own Stages, usage and Metric live in `kwok/` beside this module.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
from pathlib import Path
from typing import Any, Literal

import yaml

from validator.errors import SandboxError
from validator.sandbox import toolchain

KWOK_DIR = Path(__file__).parent / "kwok"
Timing = Literal["compressed", "production"]


def kwok_module_dir(cwd: Path) -> Path:
    """kwok's own module source (default stages and Metric), from the Go module cache."""
    out = subprocess.run(
        ["go", "mod", "download", "-json", f"sigs.k8s.io/kwok@{toolchain.KWOK_VERSION}"],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
    )
    if out.returncode != 0:
        raise SandboxError(
            "could not locate kwok's module source (its default stages live there)",
            where=f"go mod download sigs.k8s.io/kwok@{toolchain.KWOK_VERSION}",
            fix="check that the Go module proxy is reachable, or run `make toolchain` first",
        )
    return Path(json.loads(out.stdout)["Dir"])


CONTROLLER_MANAGER_QPS = 500

# kwok renews each node's lease every quarter of the lease's duration, as a kubelet does: with
# Kubernetes' 40 s, every 10 s, so 100 writes a second at 1,000 nodes, each one read by the
# controller-manager. On 2 loaded cores kwok then fell behind, a lease went unrenewed for the 40 s
# grace period, and healthy nodes went Unknown in the middle of a run (hundreds of them in the
# 1,000-node nightly, docs/sandbox-contract.md "At 1,000 nodes"). Past 200 nodes the lease grows
# with the node count, so that the renewals stay at NODE_LEASE_RENEWALS_PER_S, and the node-monitor
# grace period with it. Simulated node failures do not wait for a lease: the sim-node-not-ready
# stage sets NotReady directly, so they are seen as fast at any size.
NODE_LEASE_RENEWALS_PER_S = 20
DEFAULT_NODE_LEASE_S = 40  # Kubernetes' (kubelet's nodeLeaseDurationSeconds, kwokctl's default)


def node_lease_duration_s(nodes: int) -> int:
    """A node lease's duration, and the node-monitor grace period: 40 s up to 200 nodes, then
    4 renewal intervals of `nodes / NODE_LEASE_RENEWALS_PER_S` seconds (200 s at 1,000 nodes)."""
    return max(DEFAULT_NODE_LEASE_S, 4 * math.ceil(nodes / NODE_LEASE_RENEWALS_PER_S))


def kwokctl_config(timing: Timing, bins: dict[str, Path], nodes: int = 0) -> dict[str, Any]:
    compressed = timing == "compressed"
    kcm_args: list[dict[str, str]] = []
    apiserver_args: list[dict[str, str]] = []
    if compressed:
        kcm_args = [
            # 1 s against Kubernetes' 15 s: the HPA's own decision loop compressed 15x, near the
            # suites' 30x clock, so a scaling budget judged on that clock stays fair to the platform
            # (docs/sandbox-contract.md, "Which delays are compressed")
            {"key": "horizontal-pod-autoscaler-sync-period", "value": "1s"},
            {"key": "horizontal-pod-autoscaler-downscale-stabilization", "value": "30s"},
            {"key": "horizontal-pod-autoscaler-initial-readiness-delay", "value": "5s"},
            {"key": "horizontal-pod-autoscaler-cpu-initialization-period", "value": "30s"},
        ]
        apiserver_args = [
            {"key": "default-not-ready-toleration-seconds", "value": "30"},
            {"key": "default-unreachable-toleration-seconds", "value": "30"},
        ]
    # The controller-manager's client is limited to 20 requests/s by default: the node lifecycle
    # controller lifts a new node's not-ready taint at ~5 nodes/s under that limit, so 1,000 nodes
    # were Ready in 5 s but schedulable only after ~210 s. kwok's nodes cost the apiserver far less
    # than real kubelets, and the limit protects nothing here (docs/sandbox-contract.md "Node creation").
    kcm_args += [
        {"key": "kube-api-qps", "value": str(CONTROLLER_MANAGER_QPS)},
        {"key": "kube-api-burst", "value": str(2 * CONTROLLER_MANAGER_QPS)},
    ]
    apiserver_args.append({"key": "advertise-address", "value": "127.0.0.1"})
    opts: dict[str, Any] = {
        "runtime": "binary",
        "bindAddress": "127.0.0.1",
        "kubeVersion": toolchain.KUBERNETES_VERSION,
        "kubeApiserverBinary": str(bins["kube-apiserver"]),
        "kubeControllerManagerBinary": str(bins["kube-controller-manager"]),
        "kubeSchedulerBinary": str(bins["kube-scheduler"]),
        "kubectlBinary": str(bins["kubectl"]),
        "etcdBinary": str(bins["etcd"]),
        "kwokControllerBinary": str(bins["kwok"]),
        "metricsServerBinary": str(bins["metrics-server"]),
        "metricsServerManifests": [str(KWOK_DIR / "metrics-server")],
        "enable": ["metrics-server"],
        "heartbeatFactor": 1.0 if compressed else 5.0,
        "nodeLeaseDurationSeconds": node_lease_duration_s(nodes),
        "kubeControllerManagerNodeMonitorGracePeriodMilliseconds": 1000 * node_lease_duration_s(nodes),
        "quietPull": True,
    }
    # The node-monitor grace period is the lease's duration, Kubernetes' default of 40 s up to 200
    # nodes (node_lease_duration_s): a shorter one makes healthy nodes flap to Unknown.
    return {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokctlConfiguration",
        "options": opts,
        "componentsPatches": [
            {"name": "kube-controller-manager", "extraArgs": kcm_args},
            {"name": "kube-apiserver", "extraArgs": apiserver_args},
            {"name": "kwok-controller", "extraEnvs": [{"name": "GOGC", "value": str(KWOK_GOGC)}]},
        ],
    }


# kwok plays 4 node stages (and 4 pod stages, 4 lease renewals) at a time by default; with 16, the
# last of 1,000 nodes created at once was Ready 5 s after the first create instead of 7 s (one run
# each, quiet machine: benchmarks/results/sandbox_lifecycle.json, docs/sandbox-contract.md).
KWOK_PARALLELISM = 16
# Lease renewals are one API round trip each, mostly waiting: with the apiserver's writes taking up
# to a second on 2 loaded cores, 16 in flight renew at most 16 a second, fewer than the 20 a second
# of a 1,000-node sandbox (node_lease_duration_s), and the renewals fell behind until nodes went
# Unknown. 64 in flight keep up at 3 s a write.
KWOK_LEASE_PARALLELISM = 64


# kwok renders every node's metrics anew on each read (kwok/metrics.yaml), and the garbage that
# leaves is collected at Go's default pace (GOGC=100: whenever the heap doubles): in a 1,000-node
# nightly a fifth of kwok's CPU was its collector (perf). A heap allowed to grow five-fold before a
# collection (GOGC=400) costs a few hundred MiB, against a machine's 24 GiB.
KWOK_GOGC = 400


def kwok_config() -> dict[str, Any]:
    """The kwok controller's own configuration (kwokctl hands it to kwok as is)."""
    return {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokConfiguration",
        "options": {
            "nodePlayStageParallelism": KWOK_PARALLELISM,
            "podPlayStageParallelism": KWOK_PARALLELISM,
            "nodeLeaseParallelism": KWOK_LEASE_PARALLELISM,
        },
    }


def kwok_env(state: Path, bins: dict[str, Path]) -> dict[str, str]:
    env = dict(os.environ)
    env["KWOK_WORKDIR"] = str(state / "kwok")
    # kwokctl runs `kubectl` from PATH: put the sandbox's own (same version as the apiserver) first.
    env["PATH"] = f"{state / 'bin'}:{env.get('PATH', '')}"
    env.pop("KUBECONFIG", None)
    return env


def run_kwokctl(
    args: list[str], state: Path, bins: dict[str, Path], what: str, timeout_s: float = 600
) -> str:
    proc = subprocess.run(
        [str(bins["kwokctl"]), *args],
        env=kwok_env(state, bins),
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout_s,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-12:])
        raise SandboxError(
            f"{what} failed:\n{tail}",
            where=f"kwokctl {' '.join(args[:3])}",
            fix=f"see the logs under {state / 'kwok'}; `validator sandbox down` cleans up",
        )
    return proc.stdout


def kwok_components(state: Path, name: str) -> list[dict[str, Any]]:
    saved = state / "kwok" / "clusters" / name / "kwok.yaml"
    for doc in yaml.safe_load_all(saved.read_text()):
        if isinstance(doc, dict) and doc.get("kind") == "KwokctlConfiguration":
            return list(doc.get("components") or [])
    raise SandboxError(
        "kwokctl saved no component list", where=str(saved), fix="`validator sandbox down` then `up` again"
    )


def kwok_component_pids(state: Path, name: str) -> dict[str, int]:
    """The pids kwokctl recorded for the cluster's components (etcd, kube-apiserver, ...)."""
    pids: dict[str, int] = {}
    for pid_file in sorted((state / "kwok" / "clusters" / name / "pids").glob("*.pid")):
        text = pid_file.read_text().strip()
        if text.isdigit():
            pids[pid_file.stem] = int(text)
    return pids


def process_running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"
