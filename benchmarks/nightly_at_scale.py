"""The nightly at the platform's real size (issue 14, item 3): `validator run suites/nightly.yaml`
on a `--nodes 1000` sandbox with the reference platform scaled to thousands of agent pods.

    .venv/bin/python benchmarks/nightly_at_scale.py [--nodes 1000]
        [--rex 600 --blaze 600 --cleo 400 --tess 400]

What it does, each step timed:

1. `validator sandbox up --nodes N` (a sandbox of its own, `validator-at-scale`; one already up is
   stopped first);
2. writes the scaled overlay into the output directory: the testing overlay with each agent's
   StatefulSet at the replica count asked for, a statically provisioned workspace volume for every
   replica (the sandbox has no storage provisioner), and the `agents` quota sized as the brief
   asks, 25% above the expected peak (the standing replicas plus the simulated platform's 8
   concurrent workflow stage pods, at the largest profile), computed from the StatefulSets' own
   requests, limits and claims;
3. `validator sandbox deploy` of it, then waits until the simulated platform has given every
   standing replica its usage (a replica without is idle: `cpu_utilization` would read it so);
4. `validator allow` + `validator run suites/nightly.yaml`, as `make demo` does;
5. samples every process of the sandbox and of the run (the validator, Locust, Chaos Toolkit)
   every 2 s: peak resident memory (VmHWM) and CPU seconds, by program;
6. `validator sandbox down`.

The figures go to benchmarks/results/nightly_at_scale.json: wall time of each step, the verdict
and every criterion's verdict (the reference platform must pass), CPU utilisation by agent, the
agent pods the run saw (from the apiserver, at the end), the evidence's size, and the peak memory
and CPU seconds of every process. Exit 0 when the nightly passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support: the allow-list and environment the e2e runs use
RESULTS = ROOT / "benchmarks" / "results" / "nightly_at_scale.json"
BIN = Path(sys.executable).parent
PLATFORM = ROOT / "src" / "validator" / "bundled" / "platform"
TESTING = PLATFORM / "overlays" / "testing"
AGENTS = ("rex", "blaze", "cleo", "tess")
STAGE_PODS = 8  # lifecycle.SIMULATED_MAX_RUNNING_WORKFLOWS: the stand-in's concurrent stage pods
BUFFER = 1.25  # the brief: quotas 20-30% above the expected peak
CPU = "sim.validator.io/cpu"


def quantity(text: str | int | float) -> float:
    from kubernetes.utils.quantity import parse_quantity

    return float(parse_quantity(str(text)))


def agent_profile(agent: str) -> dict[str, float]:
    """requests/limits of the agent's container and its workspace claim, from its StatefulSet."""
    for doc in yaml.safe_load_all((PLATFORM / "base" / "agents" / f"{agent}.yaml").read_text()):
        if doc and doc.get("kind") == "StatefulSet":
            resources = doc["spec"]["template"]["spec"]["containers"][0]["resources"]
            claim = doc["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
            return {
                "requests.cpu": quantity(resources["requests"]["cpu"]),
                "requests.memory": quantity(resources["requests"]["memory"]),
                "limits.cpu": quantity(resources["limits"]["cpu"]),
                "limits.memory": quantity(resources["limits"]["memory"]),
                "requests.storage": quantity(claim),
            }
    raise SystemExit(f"no StatefulSet in platform/base/agents/{agent}.yaml")


def expected_peak(replicas: dict[str, int]) -> dict[str, float]:
    """The `agents` quota's expected peak: every standing replica, plus the stand-in's concurrent
    stage pods at the largest profile (as overlays/testing/quota.yaml reasons)."""
    profiles = {a: agent_profile(a) for a in AGENTS}
    peak: dict[str, float] = {}
    for key in ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "requests.storage"):
        peak[key] = sum(profiles[a][key] * n for a, n in replicas.items())
        if key != "requests.storage":
            peak[key] += STAGE_PODS * max(p[key] for p in profiles.values())
    peak["pods"] = sum(replicas.values()) + STAGE_PODS
    peak["persistentvolumeclaims"] = sum(replicas.values())
    return peak


def _quota_value(key: str, value: float) -> str:
    if key in ("pods", "persistentvolumeclaims"):
        return str(int(value))
    if key.endswith(".cpu"):
        return f"{round(value * 1000)}m"
    return f"{int(value // 2**30)}Gi" if value % 2**30 == 0 else str(int(value))


def write_overlay(directory: Path, replicas: dict[str, int]) -> dict[str, Any]:
    """The scaled overlay; returns the quota it sets and the peak it is sized from."""
    directory.mkdir(parents=True, exist_ok=True)
    volumes = []
    for agent, count in replicas.items():
        size = agent_profile(agent)["requests.storage"]
        for index in range(1, count):  # -0 is in the testing overlay's workspace-volumes.yaml
            volumes.append(
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolume",
                    "metadata": {
                        "name": f"agent-workspace-{agent}-{index}",
                        "labels": {
                            "app.kubernetes.io/name": agent,
                            "app.kubernetes.io/component": "agent-workspace",
                        },
                    },
                    "spec": {
                        "storageClassName": "agent-workspace-static",
                        "capacity": {"storage": f"{int(size // 2**30)}Gi"},
                        "accessModes": ["ReadWriteOnce"],
                        "persistentVolumeReclaimPolicy": "Retain",
                        "claimRef": {"namespace": "agents", "name": f"workspace-{agent}-{index}"},
                        "hostPath": {
                            "path": f"/var/lib/agent-workspaces/{agent}-{index}",
                            "type": "DirectoryOrCreate",
                        },
                    },
                }
            )
    (directory / "workspace-volumes-scaled.yaml").write_text(yaml.safe_dump_all(volumes))
    peak = expected_peak(replicas)
    hard = {
        k: _quota_value(k, v * BUFFER if k not in ("pods", "persistentvolumeclaims") else -(-v * BUFFER // 1))
        for k, v in peak.items()
    }
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [os.path.relpath(TESTING, directory), "workspace-volumes-scaled.yaml"],
        "replicas": [{"name": a, "count": n} for a, n in replicas.items()],
        "patches": [
            {
                "target": {"kind": "ResourceQuota", "name": "agents-testing", "namespace": "agents"},
                "patch": yaml.safe_dump(
                    [{"op": "replace", "path": f"/spec/hard/{k}", "value": v} for k, v in hard.items()]
                ),
            }
        ],
    }
    (directory / "kustomization.yaml").write_text(
        "# The testing overlay scaled to thousands of agent pods: benchmarks/nightly_at_scale.py\n"
        + yaml.safe_dump(kustomization, sort_keys=False)
    )
    return {"hard": hard, "peak": {k: _quota_value(k, v) for k, v in peak.items()}}


class ProcessSampler:
    """Every 2 s: peak resident memory (VmHWM) and CPU seconds of every process whose command line
    names the sandbox's state directory or that descends from a watched process, by program."""

    def __init__(self, state_dir: str) -> None:
        self.state = state_dir.encode()
        self.roots: set[int] = set()
        self.peak_mib: dict[str, float] = {}
        self.cpu_s: dict[str, dict[int, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.tick = os.sysconf("SC_CLK_TCK")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(2.0)

    def sample(self) -> None:
        parents: dict[int, int] = {}
        rows: dict[int, tuple[bytes, str, str]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
                status = (entry / "status").read_text()
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            pid = int(entry.name)
            parents[pid] = int(stat.rsplit(")", 1)[1].split()[1])
            rows[pid] = (cmdline, status, stat)
        for pid, (cmdline, status, stat) in rows.items():
            if not (self.state in cmdline or self._descends(pid, parents)):
                continue
            program = self._program(cmdline)
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    mib = int(line.split()[1]) / 1024
                    self.peak_mib[program] = max(self.peak_mib.get(program, 0.0), mib)
            fields = stat.rsplit(")", 1)[1].split()
            self.cpu_s.setdefault(program, {})[pid] = (int(fields[11]) + int(fields[12])) / self.tick

    def _descends(self, pid: int, parents: dict[int, int]) -> bool:
        seen = 0
        while pid > 1 and seen < 64:
            if pid in self.roots:
                return True
            pid, seen = parents.get(pid, 0), seen + 1
        return False

    @staticmethod
    def _program(cmdline: bytes) -> str:
        argv = [a.decode(errors="replace") for a in cmdline.split(b"\0") if a]
        if not argv:
            return "?"
        name = Path(argv[0]).name
        if name.startswith("python") and len(argv) > 1:
            script = next((a for a in argv[1:] if not a.startswith("-")), argv[1])
            if argv[1] == "-m" and len(argv) > 2:
                script = argv[2]
            return Path(script).name
        return name

    def figures(self) -> dict[str, Any]:
        return {
            program: {
                "peak_rss_mib": round(self.peak_mib.get(program, 0.0), 1),
                "cpu_s": round(sum(self.cpu_s.get(program, {}).values()), 1),
                "processes": len(self.cpu_s.get(program, {})),
            }
            for program in sorted(self.peak_mib, key=lambda p: -self.peak_mib[p])
        }


def validator(
    *args: str, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "validator"), *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout
    )


def timed(what: str, figures: dict[str, float], call: Any) -> Any:
    started = time.monotonic()
    print(f"{what} ...", flush=True)
    result = call()
    figures[what] = round(time.monotonic() - started, 1)
    print(f"{what}: {figures[what]} s", flush=True)
    return result


def wait_for_standing_usage(api: Any, expected: int, timeout_s: float = 900) -> tuple[int, int]:
    """Until every standing agent replica is Running with its simulated usage; (with usage, running)."""
    from kubernetes import client

    core = client.CoreV1Api(api)
    deadline = time.monotonic() + timeout_s
    with_usage = running = 0
    while time.monotonic() < deadline:
        pods = core.list_namespaced_pod(
            "agents",
            label_selector="app.kubernetes.io/component=agent,app.kubernetes.io/managed-by!=validator-simulated-platform",
        ).items
        running = sum(1 for p in pods if p.status.phase == "Running")
        with_usage = sum(
            1 for p in pods if p.status.phase == "Running" and CPU in (p.metadata.annotations or {})
        )
        if running >= expected and with_usage >= expected:
            return with_usage, running
        print(f"  standing replicas with usage: {with_usage}/{expected} ({running} Running)", flush=True)
        time.sleep(10)
    return with_usage, running


def agent_pods_seen(k8s_jsonl: Path) -> dict[str, int]:
    """Distinct agent pods in the run's evidence, standing and workflow stage pods."""
    standing: set[str] = set()
    stages: set[str] = set()
    with k8s_jsonl.open("rb") as lines:
        for raw in lines:
            if b'"Pod"' not in raw or b'"agents"' not in raw:
                continue
            line = json.loads(raw)
            obj = line.get("object") or {}
            meta = obj.get("metadata") or {}
            if line.get("kind") != "Pod" or meta.get("namespace") != "agents":
                continue
            labels = meta.get("labels") or {}
            if labels.get("app.kubernetes.io/managed-by") == "validator-simulated-platform":
                stages.add(meta.get("name", ""))
            elif labels.get("app.kubernetes.io/component") == "agent":
                standing.add(meta.get("name", ""))
    return {"standing": len(standing), "workflow_stage": len(stages)}


def nodes_not_ready_seen(k8s_jsonl: Path) -> dict[str, int]:
    """Nodes the run's evidence shows not Ready at some point (Ready False or Unknown), by the
    condition's reason. The nightly fails no node (its drain cordons one), so every one of them is
    the sandbox falling behind: kwok renewing its lease late."""
    reasons: dict[str, str] = {}
    with k8s_jsonl.open("rb") as lines:
        for raw in lines:
            if b'"Node"' not in raw:
                continue
            line = json.loads(raw)
            if line.get("kind") != "Node":
                continue
            for condition in ((line.get("object") or {}).get("status") or {}).get("conditions") or []:
                if condition.get("type") == "Ready" and condition.get("status") != "True":
                    reasons.setdefault(
                        line.get("name", ""), condition.get("reason") or condition.get("status")
                    )
    counted: dict[str, int] = {}
    for reason in reasons.values():
        counted[reason] = counted.get(reason, 0) + 1
    return {"nodes": len(reasons), **counted}


def node_lease_seconds(api: Any) -> list[int]:
    """The distinct durations of the nodes' leases, as kwok wrote them (from the apiserver)."""
    from kubernetes import client

    leases = client.CoordinationV1Api(api).list_namespaced_lease("kube-node-lease").items
    return sorted({lease.spec.lease_duration_seconds for lease in leases})


def schedule_kept(run_dir: Path) -> dict[str, Any]:
    """Each experiment's planned point of the load, when it started (seconds after the load started)
    and how long it ran; and how long the load's profile was held for experiments past their slots."""
    manifest = json.loads((run_dir / "manifest.json").read_text())
    started = datetime.fromisoformat(manifest["load"]["started"]).timestamp()
    planned = {f["name"]: f["offset_s"] for f in manifest.get("faults_planned", [])}
    experiments = []
    for e in manifest.get("experiments", []):
        begun, ended = (datetime.fromisoformat(e[k]).timestamp() for k in ("started", "ended"))
        experiments.append(
            {
                "name": e["name"],
                "planned_at_s": planned.get(e["name"]),
                "started_at_s": round(begun - started, 1),
                "ran_s": round(ended - begun, 1),
            }
        )
    return {
        "load_duration_s": manifest["load"]["duration_s"],
        "load_held_s": manifest["load"].get("held_s", 0.0),
        "experiments": experiments,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--rex", type=int, default=600)
    parser.add_argument("--blaze", type=int, default=600)
    parser.add_argument("--cleo", type=int, default=400)
    parser.add_argument("--tess", type=int, default=400)
    parser.add_argument("--name", default="validator-at-scale")
    parser.add_argument("--output", type=Path, default=Path("/tmp/nightly-at-scale"))
    parser.add_argument("--keep", action="store_true", help="leave the sandbox up")
    args = parser.parse_args()

    from tests.support.cluster import POOLS, run_env

    from validator.sandbox import lifecycle

    replicas = {"rex": args.rex, "blaze": args.blaze, "cleo": args.cleo, "tess": args.tess}
    out: Path = args.output
    run_dir = out / "nightly"
    if run_dir.exists():
        raise SystemExit(f"{run_dir} exists: pass another --output")
    out.mkdir(parents=True, exist_ok=True)
    walls: dict[str, float] = {}
    quota = write_overlay(out / "overlay", replicas)
    if lifecycle.load_info(args.name) is not None:
        validator("sandbox", "down", "--name", args.name)
    load_before = os.getloadavg()
    up = timed(
        f"sandbox up --nodes {args.nodes}",
        walls,
        lambda: validator("sandbox", "up", "--name", args.name, "--nodes", str(args.nodes), timeout=1800),
    )
    if up.returncode != 0:
        raise SystemExit(f"sandbox up failed:\n{up.stdout[-3000:]}{up.stderr[-3000:]}")
    info = lifecycle.load_info(args.name)
    assert info is not None
    sampler = ProcessSampler(info.state_dir)
    sampler.start()
    result: dict[str, Any] = {}
    code = 1
    try:
        deploy = timed(
            "sandbox deploy (scaled overlay)",
            walls,
            lambda: validator(
                "sandbox",
                "deploy",
                str(out / "overlay"),
                "--name",
                args.name,
                "--timeout",
                "1200",
                timeout=1800,
            ),
        )
        if deploy.returncode != 0:
            raise SystemExit(f"deploy failed:\n{deploy.stdout[-3000:]}{deploy.stderr[-3000:]}")
        info = lifecycle.load_info(args.name)
        assert info is not None
        api = lifecycle.api_client(info)
        try:
            lease_s = node_lease_seconds(api)
            with_usage, running = timed(
                "standing replicas given their usage",
                walls,
                lambda: wait_for_standing_usage(api, sum(replicas.values())),
            )
        finally:
            api.close()
        allowlist = out / "allowlist.yaml"
        env = run_env(info, allowlist)  # what the e2e tier's runs see: the sandbox, this allow-list
        pools = [arg for pool in POOLS for arg in ("--node-pool", pool)]
        namespaces = ["--namespace", "agents", "--namespace", "workflow-system"]
        allowed = validator(
            "allow", "--context", info.context, "--kubeconfig", info.kubeconfig,
            "--allowlist", str(allowlist), *namespaces, *pools, env=env,
        )  # fmt: skip
        if allowed.returncode != 0:
            raise SystemExit(f"allow failed:\n{allowed.stdout[-3000:]}{allowed.stderr[-3000:]}")

        def run() -> subprocess.CompletedProcess[str]:
            proc = subprocess.Popen(
                [
                    str(BIN / "validator"),
                    "run",
                    "suites/nightly.yaml",
                    "--context",
                    info.context,
                    "--output",
                    str(run_dir),
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                cwd=ROOT,
                env=env,
            )
            sampler.roots.add(proc.pid)
            output, _ = proc.communicate(timeout=3600)
            return subprocess.CompletedProcess(proc.args, proc.returncode, output, "")

        proc = timed("validator run suites/nightly.yaml", walls, run)
        (out / "run.log").write_text(proc.stdout)
        print(proc.stdout[-4000:], flush=True)
        sampler.sample()
        summary = json.loads((run_dir / "summary.json").read_text())
        code = 0 if proc.returncode == 0 and summary["verdict"] == "pass" else 1
        cpu = {
            r["scope"].get("agent", "?"): r["value"]
            for c in summary["criteria"]
            if c["id"] == "cpu_utilization"
            for r in c["results"]
        }
        result = {
            "exit_code": proc.returncode,
            "verdict": summary["verdict"],
            "criteria": {c["id"]: c["verdict"] for c in summary["criteria"]},
            "not_passing": [
                {
                    "criterion": c["id"],
                    "scope": r["scope"],
                    "verdict": r["verdict"],
                    "detail": r["detail"][:300],
                }
                for c in summary["criteria"]
                if not c.get("info")
                for r in c["results"]
                if r["verdict"] not in ("pass", "not_exercised")
            ],
            "schedule": schedule_kept(run_dir),
            "cpu_utilization_by_agent": cpu,
            "standing_replicas_with_usage_before_the_run": {"with_usage": with_usage, "running": running},
            "agent_pods_in_the_evidence": agent_pods_seen(run_dir / "evidence" / "k8s.jsonl"),
            "node_lease_s": lease_s,
            "nodes_not_ready_in_the_evidence": nodes_not_ready_seen(run_dir / "evidence" / "k8s.jsonl"),
            "evidence_k8s_jsonl_mib": round((run_dir / "evidence" / "k8s.jsonl").stat().st_size / 2**20, 1),
        }
    finally:
        sampler.stop()
        if not args.keep:
            timed("sandbox down", walls, lambda: validator("sandbox", "down", "--name", args.name))
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "nodes": args.nodes,
        "replicas": replicas,
        "agents_quota": quota,
        "wall_s": walls,
        **result,
        "processes": sampler.figures(),
        "command": "make bench (benchmarks/nightly_at_scale.py)",
    }
    RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    print(
        json.dumps(
            {k: document[k] for k in ("wall_s", "verdict", "criteria")} if result else document, indent=2
        )
    )
    print(f"written {RESULTS}")
    return code


if __name__ == "__main__":
    sys.exit(main())
