"""What the cluster and e2e tiers share: the sandbox (one per pytest-xdist worker) and its fixtures,
waiting, allow-lists, workloads and budgets to disrupt, Chaos Toolkit and `validator` runs, and
reading what a run left (summary, fault lines, audit, marks).

The fixtures `sandbox` and `namespace` are re-exported by tests/cluster/conftest.py and
tests/e2e/conftest.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from validator.safety import marks
from validator.safety.allowlist import ContextEntry, Limits, read_identity, save_entry
from validator.sandbox import lifecycle

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


# --------------------------------------------------------------------------- the sandbox


@dataclass
class Sandbox:
    info: lifecycle.SandboxInfo
    api: Any

    @property
    def kubeconfig(self) -> Path:
        return Path(self.info.kubeconfig)

    @property
    def context(self) -> str:
        return self.info.context

    @property
    def prometheus_url(self) -> str:
        return self.info.prometheus_url

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api)


# A developer can point the tests at another sandbox by name (default: the one `validator sandbox up` makes).
SANDBOX_NAME = os.environ.get("VALIDATOR_TEST_SANDBOX", lifecycle.DEFAULT_NAME)


def sandbox_name_for(worker: str) -> str:
    """The sandbox of a pytest-xdist worker: the first (gw0, or no xdist) uses SANDBOX_NAME, each
    other worker a sandbox of its own (`<name>-gw1`), so whole runs that redeploy the platform in
    its fixed namespaces never meet."""
    return SANDBOX_NAME if worker in ("", "master", "gw0") else f"{SANDBOX_NAME}-{worker}"


@pytest.fixture(scope="session")
def sandbox(worker_id: str) -> Iterator[Sandbox]:
    name = sandbox_name_for(worker_id)
    current = lifecycle.status(name)
    started_here = False
    # Reuse a sandbox whose apiserver and Prometheus answer, even with a node NotReady: another
    # session's node-failure test may be holding one down for a moment, and tearing the shared
    # sandbox down under it would break that session.
    # A sandbox one of whose components died (the stand-in aside: every deploy restarts it) is
    # started again.
    components_alive = current is not None and all(
        alive for process, alive in current.processes_alive.items() if process != lifecycle.SIMULATED_PLATFORM
    )
    if current is not None and current.apiserver_ready and current.prometheus_ready and components_alive:
        info = current.info
    else:
        if current is not None:
            lifecycle.down(name)
        info = lifecycle.up(
            lifecycle.SandboxOptions(name=name), progress=lambda m: print(f"[sandbox {name}] {m}", flush=True)
        )
        started_here = True
    api = lifecycle.api_client(info)
    try:
        yield Sandbox(info=info, api=api)
    finally:
        api.close()
        if started_here:
            lifecycle.down(name)


@pytest.fixture
def namespace(sandbox: Sandbox) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    sandbox.core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"validator-test": "1"}))
    )
    try:
        yield name
    finally:
        sandbox.core.delete_namespace(name, grace_period_seconds=0)


def wait_until(what: str, check: Any, timeout_s: float = 60.0, interval_s: float = 0.3) -> Any:
    """Poll `check()` until it returns a truthy value; fail with `what` after the deadline."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what} (last: {last!r})")


def faults(run_dir: Path) -> list[dict[str, Any]]:
    """The run's fault lines (chaos/faults.jsonl); none when it has none."""
    path = run_dir / "chaos" / "faults.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# --------------------------------------------------------------------------- chaos experiments

EXPERIMENTS = ROOT / "experiments"
POOL = "quality"  # the pool these tests disrupt (other areas' tests use implementation and testing)


def write_allowlist(
    sandbox: Any,
    path: Path,
    namespaces: list[str],
    *,
    node_pools: tuple[str, ...] = (POOL, "system"),
    max_cordoned_nodes: int = 1,
    max_workload_share: float = 0.5,
) -> Path:
    """An allow-list of the sandbox's context (its recorded identity), these namespaces and pools."""
    identity, _ = read_identity(sandbox.context, str(sandbox.kubeconfig))
    uid = client.CoreV1Api(sandbox.api).read_namespace("kube-system").metadata.uid
    save_entry(
        ContextEntry(
            name=sandbox.context,
            server=identity.server,
            ca_sha256=identity.ca_sha256,
            kube_system_uid=str(uid),
            namespaces=tuple(namespaces),
            node_pools=node_pools,
            limits=Limits(max_cordoned_nodes=max_cordoned_nodes, max_workload_share=max_workload_share),
        ),
        path,
    )
    return path


def experiment_env(sandbox: Any, allowlist: Path, run_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VALIDATOR_")}
    env.update(
        VALIDATOR_CONTEXT=sandbox.context,
        VALIDATOR_KUBECONFIG=str(sandbox.kubeconfig),
        VALIDATOR_ALLOWLIST=str(allowlist),
        VALIDATOR_RUN_DIR=str(run_dir),
        VALIDATOR_RECOVERY_TIMEOUT_S="30",
    )
    env.update(extra)
    return env


def chaos_run(
    experiment: Path, env: dict[str, str], journal: Path, timeout: float = 180
) -> tuple[dict[str, Any], str]:
    proc = subprocess.run(
        [str(BIN / "chaos"), "--no-log-file", "run", "--journal-path", str(journal), str(experiment)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=journal.parent,
    )
    return json.loads(journal.read_text()), proc.stdout + proc.stderr


def chaos_popen(experiment: Path, env: dict[str, str], journal: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN / "chaos"), "--no-log-file", "run", "--journal-path", str(journal), str(experiment)],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=journal.parent,
    )


def validator_cli(
    args: list[str], env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "validator"), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def deployment(
    sandbox: Any,
    namespace: str,
    name: str,
    *,
    replicas: int = 2,
    labels: dict[str, str] | None = None,
    node_selector: dict[str, str] | None = None,
    memory_limit: str = "1Gi",
    prefer_node: str = "",
) -> None:
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "agent-platform", **(labels or {})}
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": name}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "nodeSelector": node_selector or {"node-pool": POOL},
                    "tolerations": [
                        {"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}
                    ],
                    "terminationGracePeriodSeconds": 1,
                    **(
                        {
                            "affinity": {
                                "nodeAffinity": {
                                    "preferredDuringSchedulingIgnoredDuringExecution": [
                                        {
                                            "weight": 100,
                                            "preference": {
                                                "matchExpressions": [
                                                    {
                                                        "key": "kubernetes.io/hostname",
                                                        "operator": "In",
                                                        "values": [prefer_node],
                                                    }
                                                ]
                                            },
                                        }
                                    ]
                                }
                            }
                        }
                        if prefer_node
                        else {}
                    ),
                    "containers": [
                        {
                            "name": "main",
                            "image": "registry.invalid/agent:1",
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "256Mi"},
                                "limits": {"memory": memory_limit},
                            },
                        }
                    ],
                },
            },
        },
    }
    client.AppsV1Api(sandbox.api).create_namespaced_deployment(namespace, body)


def pdb(sandbox: Any, namespace: str, name: str, app: str, *, max_unavailable: int) -> None:
    body = {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "maxUnavailable": max_unavailable,
            "selector": {"matchLabels": {"app.kubernetes.io/name": app}},
        },
    }
    client.PolicyV1Api(sandbox.api).create_namespaced_pod_disruption_budget(namespace, body)


def pods(sandbox: Any, namespace: str, selector: str = "") -> list[Any]:
    return [
        p
        for p in client.CoreV1Api(sandbox.api)
        .list_namespaced_pod(namespace, label_selector=selector or None)
        .items
        if not p.metadata.deletion_timestamp
    ]


def ready_count(sandbox: Any, namespace: str, selector: str = "") -> int:
    """Ready pods matching; -1 while a Deployment's status lags behind its pods (the steady-state
    probes read Deployment status, so tests wait for both)."""
    for dep in client.AppsV1Api(sandbox.api).list_namespaced_deployment(namespace).items:
        if (dep.status.available_replicas or 0) < (dep.spec.replicas or 0) or (
            dep.status.observed_generation or 0
        ) < (dep.metadata.generation or 0):
            return -1
    n = 0
    for p in pods(sandbox, namespace, selector):
        if any(c.type == "Ready" and c.status == "True" for c in (p.status.conditions or [])):
            n += 1
    return n


def pdb_ready(sandbox: Any, namespace: str, name: str, allowed: int) -> bool:
    status = client.PolicyV1Api(sandbox.api).read_namespaced_pod_disruption_budget(name, namespace).status
    return bool(status and status.observed_generation and status.disruptions_allowed == allowed)


def node_states(sandbox: Any) -> dict[str, tuple[bool, str | None, str | None]]:
    """name -> (unschedulable, validator revert mark, not-ready label), for every node."""
    out = {}
    for n in client.CoreV1Api(sandbox.api).list_node().items:
        ann = n.metadata.annotations or {}
        out[n.metadata.name] = (
            bool(n.spec.unschedulable),
            ann.get(marks.REVERT),
            (n.metadata.labels or {}).get("sim.validator.io/not-ready"),
        )
    return out


def assert_nodes_clean(sandbox: Any) -> None:
    dirty = {k: v for k, v in node_states(sandbox).items() if v[1] or v[2] or (v[0] and k.startswith(POOL))}
    assert not dirty, f"nodes left changed: {dirty}"


def decoy_state(sandbox: Any, namespace: str) -> dict[str, tuple[str, int]]:
    return {
        p.metadata.name: (p.metadata.uid, sum(c.restart_count for c in (p.status.container_statuses or [])))
        for p in pods(sandbox, namespace)
    }


def audit(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "audit.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def experiment_copy(name: str, dest: Path, **activity_pauses: dict[str, float]) -> Path:
    """A copy of an experiment with pauses added to named activities (to signal inside a phase)."""
    exp = json.loads((EXPERIMENTS / f"{name}.json").read_text())
    for act in exp["method"] + exp["rollbacks"]:
        if act["name"] in activity_pauses:
            act["pauses"] = activity_pauses[act["name"]]
    path = dest / f"{name}.json"
    path.write_text(json.dumps(exp))
    return path


def quiet_node(sandbox: Any, allowed: list[str], pool: str = POOL) -> str:
    """A node of `pool` hosting no running pod outside `allowed` namespaces (other tests share the pool)."""
    core = client.CoreV1Api(sandbox.api)

    def pick() -> str | None:
        busy = {
            p.spec.node_name
            for p in core.list_pod_for_all_namespaces().items
            if p.metadata.namespace not in allowed
            and p.spec.node_name
            # finished pods block no drain (it skips them); the simulated platform keeps its
            # completed stage pods around for a while after a run
            and (p.status.phase or "") not in ("Succeeded", "Failed")
        }
        free = sorted(
            n.metadata.name
            for n in core.list_node(label_selector=f"node-pool={pool}").items
            if n.metadata.name not in busy and not n.spec.unschedulable
        )
        return free[0] if free else None

    return str(wait_until(f"a {pool} node without other tests' pods", pick, timeout_s=90))


def empty_namespace(sandbox: Any, namespace: str, timeout: float = 30) -> None:
    """Delete the namespace's workloads and wait for its pods to be gone (so they block no later drain)."""
    apps, core = client.AppsV1Api(sandbox.api), client.CoreV1Api(sandbox.api)
    for d in apps.list_namespaced_deployment(namespace).items:
        apps.delete_namespaced_deployment(d.metadata.name, namespace)
    for ds in apps.list_namespaced_daemon_set(namespace).items:
        apps.delete_namespaced_daemon_set(ds.metadata.name, namespace)
    core.delete_collection_namespaced_pod(namespace, grace_period_seconds=0)
    with contextlib.suppress(AssertionError):
        wait_until(
            f"pods of {namespace} gone", lambda: not core.list_namespaced_pod(namespace).items, timeout
        )


# --------------------------------------------------------------------------- whole runs

POOLS = ("implementation", "quality", "testing", "system")


def sandbox_name(sandbox: Any) -> str:
    return str(sandbox.info.name)


def deploy_platform(sandbox: Any, overlay: str = "testing") -> lifecycle.SandboxInfo:
    """`validator sandbox deploy OVERLAY` (idempotent); returns the refreshed sandbox info."""
    proc = subprocess.run(
        [str(BIN / "validator"), "sandbox", "deploy", overlay, "--name", sandbox_name(sandbox)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    info = lifecycle.load_info(sandbox_name(sandbox))
    assert info is not None
    return info


def allow_platform(sandbox: Any, path: Path, namespaces: list[str], *, workload_share: float = 0.5) -> Path:
    """An allow-list for whole runs: the platform's namespaces and every pool."""
    return write_allowlist(sandbox, path, namespaces, node_pools=POOLS, max_workload_share=workload_share)


def run_env(info: lifecycle.SandboxInfo, allowlist: Path) -> dict[str, str]:
    # the run sees only what the test sets, except where the sandboxes live (a developer or CI may
    # keep them outside ~/.local/state: without it the run would not recognise the sandbox)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("VALIDATOR_") or k == "VALIDATOR_SANDBOX_DIR"
    }
    env.update(
        VALIDATOR_ALLOWLIST=str(allowlist),
        KUBECONFIG=info.kubeconfig,
        VALIDATOR_PROMETHEUS_URL=info.prometheus_url,
        COLUMNS="250",  # rich wraps table cells to the terminal's width; keep each row on one line
    )
    if getattr(info, "workflow_api_url", ""):
        env["VALIDATOR_WORKFLOW_API_URL"] = info.workflow_api_url
    return env


def validator_run(
    args: list[str], env: dict[str, str], timeout: float = 900
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = subprocess.run(
        [str(BIN / "validator"), "run", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    return proc, time.monotonic() - started


def summary(run_dir: Path) -> dict[str, Any]:
    return dict(json.loads((run_dir / "summary.json").read_text()))


def results(doc: dict[str, Any], criterion: str) -> list[dict[str, Any]]:
    for c in doc["criteria"]:
        if c["id"] == criterion:
            return list(c["results"])
    return []


def verdicts(doc: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["verdict"] for c in doc["criteria"]}


def no_validator_marks(sandbox: Any) -> list[str]:
    """Objects still carrying a validator revert mark, or cordoned nodes (should be none)."""
    left = []
    for node in sandbox.core.list_node().items:
        if node.spec.unschedulable:
            left.append(f"node/{node.metadata.name} cordoned")
        if any(k.startswith("validator.io/") for k in (node.metadata.annotations or {})):
            left.append(f"node/{node.metadata.name} marked")
    for ns in ("agents", "workflow-system"):
        for pod in sandbox.core.list_namespaced_pod(ns).items:
            if any(k.startswith("validator.io/revert") for k in (pod.metadata.annotations or {})):
                left.append(f"pod/{ns}/{pod.metadata.name} marked")
    return left


def service_account_env(
    sandbox: Any, directory: Path, account: str = "validator-runner", namespace: str = "validator"
) -> dict[str, str]:
    """What a pod running as `namespace/account` sees, minted outside one: a token from the
    TokenRequest API and the cluster CA (the namespace's kube-root-ca.crt) in `directory`, and the
    apiserver's address. The environment makes the validator's `in-cluster` context use them."""
    core = client.CoreV1Api(sandbox.api)
    request = {"spec": {"audiences": [], "expirationSeconds": 3600}}
    token = core.create_namespaced_service_account_token(account, namespace, request).status.token
    ca = core.read_namespaced_config_map("kube-root-ca.crt", namespace).data["ca.crt"]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "token").write_text(token)
    (directory / "ca.crt").write_text(ca)
    (directory / "namespace").write_text(namespace)
    server = urllib.parse.urlsplit(sandbox.api.configuration.host)
    return {
        "VALIDATOR_SERVICE_ACCOUNT_DIR": str(directory),
        "KUBERNETES_SERVICE_HOST": str(server.hostname),
        "KUBERNETES_SERVICE_PORT": str(server.port),
    }


def allow_in_cluster(env: dict[str, str], allowlist: Path) -> None:
    """`validator allow --context in-cluster` for the platform, run as the ServiceAccount of `env`."""
    pools = [arg for pool in POOLS for arg in ("--node-pool", pool)]
    proc = subprocess.run(
        [
            str(BIN / "validator"),
            "allow",
            "--context",
            "in-cluster",
            "--allowlist",
            str(allowlist),
            "--namespace",
            "agents",
            "--namespace",
            "workflow-system",
            *pools,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def run_nightly(
    sandbox: Any,
    tmp_path: Path,
    overlay: str = "testing",
    name: str = "nightly",
    *,
    as_service_account: bool = False,
) -> tuple[subprocess.CompletedProcess[str], float, Path, dict[str, Any], lifecycle.SandboxInfo]:
    """Deploy OVERLAY, allow the sandbox's context, run suites/nightly.yaml into tmp_path/NAME.
    With `as_service_account` the run is the in-cluster code path as the platform's
    validator-runner ServiceAccount (its own token, its RBAC), not the sandbox's kubeconfig.
    Returns the process, its wall time, the run directory, its summary.json and the sandbox info."""
    info = deploy_platform(sandbox, overlay)
    run_dir = tmp_path / name
    if as_service_account:
        allowlist = tmp_path / "allowlist.yaml"
        env = {**run_env(info, allowlist), **service_account_env(sandbox, tmp_path / "serviceaccount")}
        env.pop("KUBECONFIG", None)  # nothing but the ServiceAccount
        allow_in_cluster(env, allowlist)
        args = [
            "suites/nightly.yaml",
            "--context",
            "in-cluster",
            "--timing",
            "sandbox",
            "--output",
            str(run_dir),
        ]
    else:
        allowlist = allow_platform(sandbox, tmp_path / "allowlist.yaml", ["agents", "workflow-system"])
        env = run_env(info, allowlist)
        args = ["suites/nightly.yaml", "--context", sandbox.context, "--output", str(run_dir)]
    without_oom_killed_containers(sandbox)
    # a nightly takes ~7 min; room for the run's own wait on an alert still firing (docs/run.md)
    proc, wall_s = validator_run(args, env, timeout=1500)
    return proc, wall_s, run_dir, summary(run_dir), info


PLATFORM_NAMESPACES = ("agents", "workflow-system")


def _oom_killed(pod: Any) -> bool:
    return any(
        s.last_state and s.last_state.terminated and s.last_state.terminated.reason == "OOMKilled"
        for s in pod.status.container_statuses or []
    )


def without_oom_killed_containers(sandbox: Any, timeout_s: float = 120) -> None:
    """Start a nightly from a platform with no OOM-killed container, as a real nightly does a day
    after the last one. The nightlies of the e2e tier run back to back on one sandbox, and the
    platform's ContainerOOMKilled (`increase(restarts[10m]) > 0 and last_terminated_reason ==
    OOMKilled`) keeps firing for ten minutes about the pod an earlier nightly's memory pressure
    OOM-killed: about a pod that is still there, `validator run` rightly waits for it to resolve
    (docs/run.md; tests/unit/run/test_alerts_left_firing.py), up to 15 minutes per test.

    A platform pod whose container was OOM-killed is deleted, and its controller makes a new one:
    the alerts about the old pod name its uid, and a run does not wait for alerts about a pod that
    is gone (tests/cluster/test_alerts_about_replaced_pods.py). Returns when the new pods are
    Ready."""
    core = sandbox.core
    replaced: dict[tuple[str, str], str] = {}  # (namespace, name) -> uid
    same_name: set[tuple[str, str]] = set()  # a StatefulSet's pod comes back under its name
    for namespace in PLATFORM_NAMESPACES:
        for pod in core.list_namespaced_pod(namespace).items:
            kinds = {o.kind for o in pod.metadata.owner_references or []}
            if _oom_killed(pod) and kinds & {"StatefulSet", "ReplicaSet"}:
                key = (namespace, pod.metadata.name)
                replaced[key] = pod.metadata.uid
                if "StatefulSet" in kinds:
                    same_name.add(key)
                core.delete_namespaced_pod(pod.metadata.name, namespace, grace_period_seconds=0)
    if not replaced:
        return

    def recreated_and_ready() -> bool:
        for namespace, name in same_name:
            try:
                pod = core.read_namespaced_pod(name, namespace)
            except client.ApiException:
                return False
            ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions or [])
            if pod.metadata.uid == replaced[(namespace, name)] or not ready:
                return False
        return True

    wait_until(f"{sorted(replaced)} recreated and Ready", recreated_and_ready, timeout_s=timeout_s)
