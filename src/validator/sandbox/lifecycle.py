"""The sandbox's lifecycle: a real local control plane with kwok nodes, on 127.0.0.1 only.

`up` starts (kwokctl, binary runtime: kwokctl_driver.py) etcd, kube-apiserver,
kube-controller-manager, kube-scheduler, kwok and metrics-server; then, as processes of our own
(local_processes.py), kube-state-metrics, Prometheus (prometheus_setup.py) and prometheus-adapter;
then creates the fake nodes of every pool (node_pools.py). Everything lives under one state
directory, which `down` removes after stopping every process. Names, labels and annotations
other code may rely on are in docs/sandbox-contract.md.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from kubernetes.client import ApiClient

from validator.errors import ConfigError, SandboxError, ValidatorError
from validator.kube import api_client as kube_api_client
from validator.kube import in_cluster
from validator.sandbox import toolchain
from validator.sandbox.kwokctl_driver import (
    KWOK_DIR,
    Timing,
    kwok_component_pids,
    kwok_components,
    kwok_config,
    kwok_module_dir,
    kwokctl_config,
    process_running,
    run_kwokctl,
)
from validator.sandbox.local_processes import (
    ProcessRecord,
    free_port,
    http_ok,
    pid_alive,
    processes_under,
    start_process,
    stop_process,
    wait_for,
)
from validator.sandbox.node_pools import POOL_LABEL, node_manifests, plan_pools
from validator.sandbox.prometheus_setup import WATCHDOG_RULES, prometheus_config
from validator.sandbox.simulated_platform.platform_process import PlatformSettings

DEFAULT_NAME = "validator-sandbox"
STATE_DIR_ENV = "VALIDATOR_SANDBOX_DIR"
Progress = Callable[[str], None]


# Concurrent creates: one at a time, a create's round trip (~36 ms on 2 shared cores) made 1,000
# nodes take 36 s; in flight together, the apiserver's own concurrency does the work
# (benchmarks/results/sandbox_lifecycle.json, docs/sandbox-contract.md "Node creation").
NODE_CREATE_WORKERS = 16
# The kinds kube-state-metrics watches and exports: those the criteria's queries and the platform's
# alert rules read (`kube_pod_*`, `kube_node_spec_unschedulable`, `kube_resourcequota` ...), not
# its default of every kind. Its default also watches the nodes' leases (each renewed every few
# seconds) and exports every PersistentVolume: at 1,000 nodes and 2,000 workspace volumes, series
# that nothing reads, scraped and stored by the sandbox's Prometheus.
KUBE_STATE_METRICS_RESOURCES = (
    "pods",
    "nodes",
    "deployments",
    "statefulsets",
    "daemonsets",
    "horizontalpodautoscalers",
    "poddisruptionbudgets",
    "persistentvolumeclaims",
    "resourcequotas",
)
NODE_READY_SECONDS_PER_NODE = 0.25  # added to `ready_timeout_s` while the nodes become Ready


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxOptions:
    name: str = DEFAULT_NAME
    nodes: int = 10
    timing: Timing = "compressed"
    ready_timeout_s: float = 180.0
    node_create_workers: int = NODE_CREATE_WORKERS  # 1: one create at a time, as before (benchmarks)


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxInfo:
    """What `up` started and where; persisted as `<state>/sandbox.json`."""

    name: str
    state_dir: str
    kubeconfig: str
    context: str
    apiserver_url: str
    prometheus_url: str
    kube_state_metrics_url: str
    timing: Timing
    nodes: int
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, ProcessRecord] = field(default_factory=dict)
    workflow_api_url: str = ""  # the simulated platform's submission API, once `sandbox deploy` started it

    @property
    def rules_dir(self) -> Path:
        """Prometheus loads every `*.yaml` rule file here (after `reload_prometheus`)."""
        return Path(self.state_dir) / "prometheus" / "rules"

    @property
    def targets_dir(self) -> Path:
        """File-based service discovery: a `<job>.json` here adds scrape targets, no reload needed."""
        return Path(self.state_dir) / "prometheus" / "targets"

    @property
    def kubectl(self) -> str:
        return str(Path(self.state_dir) / "bin" / "kubectl")

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @staticmethod
    def from_json(text: str) -> SandboxInfo:
        raw = json.loads(text)
        raw["processes"] = {k: ProcessRecord(**v) for k, v in raw.get("processes", {}).items()}
        return SandboxInfo(**raw)


@dataclass(frozen=True, slots=True, kw_only=True)
class SandboxStatus:
    info: SandboxInfo
    apiserver_ready: bool
    prometheus_ready: bool
    processes_alive: dict[str, bool]
    nodes_ready: dict[str, tuple[int, int]]  # pool -> (ready, total)

    @property
    def healthy(self) -> bool:
        return (
            self.apiserver_ready
            and self.prometheus_ready
            and all(self.processes_alive.values())
            and all(ready == total and total > 0 for ready, total in self.nodes_ready.values())
        )


def state_root() -> Path:
    explicit = os.environ.get(STATE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "state"
    return base / "validator" / "sandbox"


def state_dir(name: str) -> Path:
    return state_root() / name


def _info_path(name: str) -> Path:
    return state_dir(name) / "sandbox.json"


def load_info(name: str = DEFAULT_NAME) -> SandboxInfo | None:
    path = _info_path(name)
    if not path.exists():
        return None
    return SandboxInfo.from_json(path.read_text())


def running_sandbox_for(context: str) -> SandboxInfo | None:
    """The sandbox whose kubeconfig context this is (`kwok-<name>`), or None for any other cluster.
    For the `in-cluster` context: the sandbox whose apiserver and CA the pod's ServiceAccount sees."""
    if context == in_cluster.IN_CLUSTER:
        return _sandbox_serving_this_pod()
    name = context.removeprefix("kwok-") if context.startswith("kwok-") else ""
    info = load_info(name) if name else None
    return info if info is not None and info.context == context else None


def _sandbox_serving_this_pod() -> SandboxInfo | None:
    try:
        server = in_cluster.server()
        pod_ca = (in_cluster.service_account_dir() / "ca.crt").read_bytes()
    except (ConfigError, OSError):
        return None
    root = state_root()
    for path in sorted(root.glob("*/sandbox.json")) if root.is_dir() else []:
        info = load_info(path.parent.name)
        if info is not None and _kubeconfig_serves(Path(info.kubeconfig), server, pod_ca):
            return info
    return None


def _kubeconfig_serves(kubeconfig: Path, server: str, pod_ca: bytes) -> bool:
    """Whether a cluster of this kubeconfig is `server` with the certificate authority `pod_ca`."""
    try:
        doc = yaml.safe_load(kubeconfig.read_text()) or {}
    except (OSError, yaml.YAMLError):
        return False
    for entry in doc.get("clusters") or []:
        cluster = entry.get("cluster") or {}
        if str(cluster.get("server", "")).rstrip("/") != server:
            continue
        if cluster.get("certificate-authority-data"):
            pem = base64.b64decode(cluster["certificate-authority-data"])
        elif cluster.get("certificate-authority"):
            ca_path = Path(cluster["certificate-authority"])
            ca_path = ca_path if ca_path.is_absolute() else kubeconfig.parent / ca_path
            pem = ca_path.read_bytes() if ca_path.is_file() else b""
        else:
            pem = b""
        if _pem_body(pem) and _pem_body(pem) == _pem_body(pod_ca):
            return True
    return False


def _pem_body(pem: bytes) -> bytes:
    """A PEM text without its armour lines and whitespace (two copies of one certificate compare equal)."""
    lines = (line.strip() for line in pem.splitlines())
    return b"".join(line for line in lines if line and not line.startswith(b"-----"))


# --------------------------------------------------------------------------- Prometheus


def register_scrape_target(
    info: SandboxInfo, job: str, address: str, labels: dict[str, str] | None = None
) -> Path:
    """Have the sandbox's Prometheus scrape `address` (host:port, loopback) as `job`; no reload needed."""
    host = address.rsplit(":", 1)[0]
    if host not in ("127.0.0.1", "localhost", "[::1]"):
        raise SandboxError(
            f"scrape target {address!r} is not on loopback",
            where=f"sandbox scrape job {job!r}",
            fix="the sandbox only ever talks to 127.0.0.1",
        )
    path = info.targets_dir / f"{job}.json"
    entry = {"targets": [address], "labels": {"job": job, **(labels or {})}}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([entry]))
    tmp.replace(path)  # atomic: Prometheus never reads half a file
    return path


def unregister_scrape_target(info: SandboxInfo, job: str) -> None:
    (info.targets_dir / f"{job}.json").unlink(missing_ok=True)


def reload_prometheus(info: SandboxInfo) -> None:
    """Make the sandbox's Prometheus re-read its configuration and rule files."""
    req = urllib.request.Request(f"{info.prometheus_url}/-/reload", method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            if resp.status != 200:
                raise SandboxError(
                    f"Prometheus refused to reload: HTTP {resp.status}",
                    where=info.prometheus_url,
                    fix="check its log under the state directory",
                )
    except urllib.error.HTTPError as exc:
        body = exc.read().decode(errors="replace")[:500]
        raise SandboxError(
            f"Prometheus could not reload its configuration: {body}",
            where=f"{info.prometheus_url}/-/reload",
            fix=f"fix the rule files in {info.rules_dir}",
        ) from exc


# --------------------------------------------------------------------------- Kubernetes


def api_client(info: SandboxInfo) -> ApiClient:
    """An API client for the sandbox's own context."""
    return kube_api_client(info.kubeconfig, info.context)


def _node_readiness(info: SandboxInfo) -> dict[str, tuple[int, int]]:
    with api_client(info) as api:
        nodes = list_nodes_raw(api)
    counts: dict[str, list[int]] = {}
    for node in nodes:
        pool = ((node.get("metadata") or {}).get("labels") or {}).get(POOL_LABEL, "(none)")
        entry = counts.setdefault(pool, [0, 0])
        entry[0] += int(node_ready(node))
        entry[1] += 1
    return {pool: (r, t) for pool, (r, t) in sorted(counts.items())}


def list_nodes_raw(api: ApiClient, label_selector: str = "") -> list[dict[str, Any]]:
    """Every node as the apiserver's JSON (no client models: building 1,000 V1Node objects takes
    seconds of a shared core, the JSON a fraction of one)."""
    from kubernetes import client

    response = client.CoreV1Api(api).list_node(
        label_selector=label_selector, _preload_content=False, _request_timeout=15
    )
    try:
        items = json.loads(response.data).get("items") or []
    finally:
        response.release_conn()
    return [item for item in items if isinstance(item, dict)]


# Taints the node lifecycle controller puts on a node until it is Ready (and off again after)
_READINESS_TAINTS = frozenset({"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"})


def node_ready(node: dict[str, Any]) -> bool:
    """The node's Ready condition is True and the node lifecycle controller has lifted its
    not-ready taint, so pods can land on it (a node's JSON, as `list_nodes_raw` returns it)."""
    conditions = (node.get("status") or {}).get("conditions") or []
    taints = (node.get("spec") or {}).get("taints") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions) and not any(
        t.get("key") in _READINESS_TAINTS for t in taints
    )


def create_nodes(
    info: SandboxInfo, manifests: Sequence[dict[str, Any]], *, workers: int = NODE_CREATE_WORKERS
) -> None:
    """Create these nodes, `workers` requests in flight at a time; a node that exists is kept
    (`up` is idempotent). The first other failure is raised once every request has ended."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    with kube_api_client(info.kubeconfig, info.context, connections=workers + 1) as api:
        core = client.CoreV1Api(api)

        def create(manifest: dict[str, Any]) -> None:
            try:
                # the raw response: the created node is not needed, and deserialising it into a
                # client model costs more CPU than the request itself
                response = core.create_node(manifest, _preload_content=False, _request_timeout=(5, 60))
            except ApiException as exc:
                if exc.status != 409:  # already there
                    raise
                return
            try:
                response.read()  # to the end, so the connection can be reused
            finally:
                response.release_conn()

        if workers <= 1:
            for manifest in manifests:
                create(manifest)
            return
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sandbox-node-create") as pool:
            futures = [pool.submit(create, manifest) for manifest in manifests]
            errors = [f.exception() for f in futures]
        first = next((e for e in errors if e is not None), None)
        if first is not None:
            raise first


def _create_nodes(info: SandboxInfo, count: int, workers: int) -> None:
    create_nodes(info, node_manifests(plan_pools(count)), workers=workers)


def _api_service_available(info: SandboxInfo, name: str) -> bool:
    from kubernetes import client

    with api_client(info) as api:
        svc = client.ApiregistrationV1Api(api).read_api_service(name, _request_timeout=5)
    return any(c.type == "Available" and c.status == "True" for c in (svc.status.conditions or []))


def _metrics_api_available(info: SandboxInfo) -> bool:
    return _api_service_available(info, "v1beta1.metrics.k8s.io")


def _register_external_metrics_api(info: SandboxInfo, port: int) -> None:
    """Point the aggregator at the local prometheus-adapter, as kwokctl does for metrics-server."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "prometheus-adapter", "namespace": "kube-system"},
        "spec": {"type": "ExternalName", "externalName": "127.0.0.1"},
    }
    api_service = {
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": "v1beta1.external.metrics.k8s.io"},
        "spec": {
            "group": "external.metrics.k8s.io",
            "version": "v1beta1",
            "groupPriorityMinimum": 100,
            "versionPriority": 100,
            "insecureSkipTLSVerify": True,
            "service": {"name": "prometheus-adapter", "namespace": "kube-system", "port": port},
        },
    }
    with api_client(info) as api:
        try:
            client.CoreV1Api(api).create_namespaced_service("kube-system", service)
        except ApiException as exc:
            if exc.status != 409:
                raise
        try:
            client.ApiregistrationV1Api(api).create_api_service(api_service)
        except ApiException as exc:
            if exc.status != 409:
                raise


# --------------------------------------------------------------------------- public API


def status(name: str = DEFAULT_NAME) -> SandboxStatus | None:
    info = load_info(name)
    if info is None:
        return None
    alive = {proc: pid_alive(rec) for proc, rec in info.processes.items()}
    with contextlib.suppress(OSError):
        for component, pid in kwok_component_pids(Path(info.state_dir), info.name).items():
            alive[component] = process_running(pid)
    apiserver = False
    nodes: dict[str, tuple[int, int]] = {}
    with contextlib.suppress(Exception):
        nodes = _node_readiness(info)
        apiserver = True
    return SandboxStatus(
        info=info,
        apiserver_ready=apiserver,
        prometheus_ready=http_ok(f"{info.prometheus_url}/-/ready"),
        processes_alive=alive,
        nodes_ready=nodes,
    )


def up(options: SandboxOptions | None = None, progress: Progress = _quiet) -> SandboxInfo:
    """Start the sandbox; on a running, healthy sandbox change nothing and return its info."""
    options = options or SandboxOptions()
    plan_pools(options.nodes)  # validates the node count before anything starts
    current = status(options.name)
    if current is not None:
        if current.healthy:
            progress(f"sandbox {options.name!r} is already up: nothing to do")
            return current.info
        raise SandboxError(
            f"sandbox {options.name!r} exists but is not healthy "
            f"(apiserver ready: {current.apiserver_ready}, Prometheus ready: {current.prometheus_ready}, "
            f"processes: {current.processes_alive})",
            where=str(state_dir(options.name)),
            fix="run `validator sandbox down` and then `validator sandbox up`",
        )

    missing = toolchain.missing_components()
    if missing:
        progress(f"building {', '.join(c.name for c in missing)} (first time only; cached afterwards)")
        toolchain.build_all()
    bins = toolchain.binary_paths()
    needed = [
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kubectl",
        "etcd",
        "kwok",
        "kwokctl",
        "metrics-server",
        "kube-state-metrics",
        "prometheus",
        "prometheus-adapter",
    ]
    absent = [b for b in needed if b not in bins]
    if absent:
        raise SandboxError(
            f"missing binaries: {', '.join(absent)}",
            where="sandbox toolchain",
            fix="run `make toolchain` (Go builds) and `make debian` (Prometheus)",
        )

    state = state_dir(options.name)
    state.mkdir(parents=True, exist_ok=True)
    try:
        # One start at a time on this machine: kwokctl picks its components' ports by looking for
        # free ones, so two clusters starting together can pick the same port and one of their
        # components dies on it.
        with _machine_lock(progress):
            info = _start(options, state, bins, progress)
        _require_components(info)
        return info
    except BaseException as failure:
        progress("start failed: stopping what was started")
        kept = keep_start_logs(state, options.name) if isinstance(failure, Exception) else None
        with contextlib.suppress(Exception):
            down(options.name, progress=progress)
        if kept is not None and isinstance(failure, ValidatorError):
            _point_at_kept_logs(failure, state, kept)
        elif kept is not None:
            progress(f"the start's logs are kept in {kept}")
        raise


def failed_start_dir(name: str) -> Path:
    """Where the logs of the sandbox's last failed start are kept (beside the state directories,
    never taken for a sandbox: it holds no sandbox.json)."""
    return state_root() / f"{name}.failed-start"


def keep_start_logs(state: Path, name: str) -> Path | None:
    """Copy every component log of a failed start out of the state directory, which `down` removes,
    keeping their paths relative to it (the previous failed start's are replaced). None when there
    were none, or they could not be copied."""
    logs = [p for p in state.rglob("*.log") if p.is_file()] if state.is_dir() else []
    if not logs:
        return None
    kept = failed_start_dir(name)
    try:
        if kept.exists():
            shutil.rmtree(kept)
        for log in logs:
            target = kept / log.relative_to(state)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(log, target)
    except OSError:
        return None
    return kept


def _point_at_kept_logs(failure: ValidatorError, state: Path, kept: Path) -> None:
    """The error names logs under the state directory, which is gone: name the kept copies."""
    failure.what = failure.what.replace(str(state), str(kept))
    failure.where = failure.where.replace(str(state), str(kept))
    fix = failure.fix.replace(str(state), str(kept))
    failure.fix = f"{fix} (the start's logs are kept in {kept})" if fix else f"see the logs in {kept}"
    failure.args = (failure.render(),)


@contextlib.contextmanager
def _machine_lock(progress: Progress) -> Iterator[None]:
    state_root().mkdir(parents=True, exist_ok=True)
    with (state_root() / ".start.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress("another sandbox is starting on this machine: waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _require_components(info: SandboxInfo) -> None:
    """Every component kwokctl started is still running (one that lost its port exits at once)."""
    state = Path(info.state_dir)
    dead = [c for c, pid in kwok_component_pids(state, info.name).items() if not process_running(pid)]
    if dead:
        logs = state / "kwok" / "clusters" / info.name / "logs"
        raise SandboxError(
            f"sandbox component(s) exited after start: {', '.join(dead)}",
            where=str(logs),
            fix=f"see {', '.join(str(logs / f'{c}.log') for c in dead)}; then `validator sandbox down` "
            "and `up` again",
        )


def _start(options: SandboxOptions, state: Path, bins: dict[str, Path], progress: Progress) -> SandboxInfo:
    name = options.name
    (state / "bin").mkdir(exist_ok=True)
    kubectl_link = state / "bin" / "kubectl"
    if not kubectl_link.exists():
        kubectl_link.symlink_to(bins["kubectl"])

    kwok_src = kwok_module_dir(state_root())
    config_docs = [kwokctl_config(options.timing, bins, options.nodes), kwok_config()]
    config_path = state / "kwokctl.yaml"
    config_path.write_text(yaml.safe_dump_all(config_docs, sort_keys=False))
    # kwok's own default stages (passing any Stage replaces them all; node-initialize and pod-ready
    # are ours: ours honours readiness probes' initialDelaySeconds), then ours; one Metric per node
    # path for metrics-server and Prometheus (kwok/metrics.yaml says why it must be one); usage from
    # annotations.
    extra_configs = [
        kwok_src / "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
        kwok_src / "kustomize/stage/pod/fast/pod-complete.yaml",
        kwok_src / "kustomize/stage/pod/fast/pod-delete.yaml",
        KWOK_DIR / "stages.yaml",
        KWOK_DIR / "metrics.yaml",
        KWOK_DIR / "usage.yaml",
    ]
    kubeconfig = state / "kubeconfig.yaml"
    args = [
        "create",
        "cluster",
        "--name",
        name,
        "--kubeconfig",
        str(kubeconfig),
        "--wait",
        "3m",
        "-c",
        str(config_path),
    ]
    for extra in extra_configs:
        args += ["-c", str(extra)]
    progress("starting etcd, kube-apiserver, controller-manager, scheduler, kwok, metrics-server (kwokctl)")
    run_kwokctl(args, state, bins, "creating the cluster")

    context = f"kwok-{name}"
    kubecfg = yaml.safe_load(kubeconfig.read_text())
    cluster_entry = next(c for c in kubecfg["clusters"] if c["name"] == context)
    apiserver_url = cluster_entry["cluster"]["server"]

    ports = {
        "kube-state-metrics": free_port(),
        "kube-state-metrics-telemetry": free_port(),
        "prometheus": free_port(),
        "prometheus-adapter": free_port(),
    }
    processes: dict[str, ProcessRecord] = {}
    progress("starting kube-state-metrics")
    processes["kube-state-metrics"] = start_process(
        bins["kube-state-metrics"],
        [
            f"--kubeconfig={kubeconfig}",
            "--host=127.0.0.1",
            f"--port={ports['kube-state-metrics']}",
            "--telemetry-host=127.0.0.1",
            f"--telemetry-port={ports['kube-state-metrics-telemetry']}",
            "--metric-labels-allowlist=pods=[app.kubernetes.io/name,app.kubernetes.io/component],"
            "deployments=[app.kubernetes.io/name,app.kubernetes.io/component]",
            f"--resources={','.join(KUBE_STATE_METRICS_RESOURCES)}",
        ],
        state / "logs" / "kube-state-metrics.log",
    )

    prom_dir = state / "prometheus"
    rules_dir = prom_dir / "rules"
    targets_dir = prom_dir / "targets"
    for d in (rules_dir, targets_dir, prom_dir / "data"):
        d.mkdir(parents=True, exist_ok=True)
    (rules_dir / "sandbox-watchdog.yaml").write_text(WATCHDOG_RULES)
    prom_config = prometheus_config(
        kwok_components(state, name),
        ports["kube-state-metrics"],
        options.timing,
        rules_dir,
        targets_dir,
        nodes=options.nodes,
    )
    (prom_dir / "prometheus.yml").write_text(yaml.safe_dump(prom_config, sort_keys=False))
    progress("starting Prometheus")
    processes["prometheus"] = start_process(
        bins["prometheus"],
        [
            f"--config.file={prom_dir / 'prometheus.yml'}",
            f"--storage.tsdb.path={prom_dir / 'data'}",
            f"--web.listen-address=127.0.0.1:{ports['prometheus']}",
            "--web.enable-lifecycle",
            "--storage.tsdb.retention.time=7d",
            "--log.level=warn",
        ],
        state / "logs" / "prometheus.log",
    )
    progress("starting prometheus-adapter (external metrics: workflow_queue_depth)")
    adapter_dir = state / "prometheus-adapter"
    (adapter_dir / "certs").mkdir(parents=True, exist_ok=True)
    processes["prometheus-adapter"] = start_process(
        bins["prometheus-adapter"],
        [
            "--bind-address=127.0.0.1",
            f"--secure-port={ports['prometheus-adapter']}",
            f"--cert-dir={adapter_dir / 'certs'}",
            f"--lister-kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--prometheus-url=http://127.0.0.1:{ports['prometheus']}",
            f"--config={KWOK_DIR / 'prometheus-adapter' / 'config.yaml'}",
            "--metrics-relist-interval=10s"
            if options.timing == "compressed"
            else "--metrics-relist-interval=1m",
        ],
        state / "logs" / "prometheus-adapter.log",
    )
    info = SandboxInfo(
        name=name,
        state_dir=str(state),
        kubeconfig=str(kubeconfig),
        context=context,
        apiserver_url=apiserver_url,
        prometheus_url=f"http://127.0.0.1:{ports['prometheus']}",
        kube_state_metrics_url=f"http://127.0.0.1:{ports['kube-state-metrics']}",
        timing=options.timing,
        nodes=options.nodes,
        ports=ports,
        processes=processes,
    )
    _info_path(name).write_text(info.to_json())

    progress(f"creating {options.nodes} fake nodes in pools implementation, quality, testing, system")
    began = time.monotonic()
    _create_nodes(info, options.nodes, options.node_create_workers)
    created = time.monotonic() - began
    wait_for(
        "every node Ready and schedulable",
        lambda: all(r == t for r, t in _node_readiness(info).values()),
        # on 2 busy cores 1,000 nodes have taken up to a few minutes to be Ready and untainted
        options.ready_timeout_s + NODE_READY_SECONDS_PER_NODE * options.nodes,
        "see kwok's and kube-controller-manager's logs under the state directory",
    )
    progress(
        f"{options.nodes} nodes created in {created:.1f} s, all Ready {time.monotonic() - began:.1f} s "
        "after the first create"
    )
    wait_for(
        "Prometheus ready",
        lambda: http_ok(f"{info.prometheus_url}/-/ready"),
        options.ready_timeout_s,
        f"see {state / 'logs' / 'prometheus.log'}",
    )
    wait_for(
        "kube-state-metrics",
        lambda: http_ok(f"{info.kube_state_metrics_url}/healthz"),
        options.ready_timeout_s,
        f"see {state / 'logs' / 'kube-state-metrics.log'}",
    )
    _register_external_metrics_api(info, ports["prometheus-adapter"])
    wait_for(
        "the external metrics API (prometheus-adapter)",
        lambda: _api_service_available(info, "v1beta1.external.metrics.k8s.io"),
        options.ready_timeout_s,
        f"see {state / 'logs' / 'prometheus-adapter.log'}",
    )
    wait_for(
        "the metrics API (metrics-server)",
        lambda: _metrics_api_available(info),
        options.ready_timeout_s,
        "see metrics-server's log under the state directory",
    )
    progress("sandbox is up")
    return info


def down(name: str = DEFAULT_NAME, progress: Progress = _quiet) -> bool:
    """Stop every process and remove every file the sandbox created. Returns False if none existed."""
    state = state_dir(name)
    if not state.exists():
        return False
    info = load_info(name)
    if info is not None:
        for proc_name, record in info.processes.items():
            progress(f"stopping {proc_name}")
            stop_process(record)
    bins = toolchain.binary_paths()
    if (state / "kwok" / "clusters" / name).exists() and "kwokctl" in bins:
        progress("stopping the control plane (kwokctl delete cluster)")
        run_kwokctl(
            ["delete", "cluster", "--name", name, "--kubeconfig", str(state / "kubeconfig.yaml")],
            state,
            bins,
            "deleting the cluster",
            timeout_s=120,
        )
    for leftover in processes_under(state):
        stop_process(leftover)
    shutil.rmtree(state, ignore_errors=False)
    progress(f"removed {state}")
    return True


def env_exports(info: SandboxInfo) -> list[str]:
    exports = [
        f"export KUBECONFIG={info.kubeconfig}",
        f"export VALIDATOR_CONTEXT={info.context}",
        f"export VALIDATOR_PROMETHEUS_URL={info.prometheus_url}",
        f"export PATH={Path(info.state_dir) / 'bin'}:$PATH",
    ]
    if info.workflow_api_url:
        exports.append(f"export VALIDATOR_WORKFLOW_API_URL={info.workflow_api_url}")
    return exports


SIMULATED_PLATFORM = "simulated-platform"
# The simulated controller's concurrency limit: the testing overlay's quota is sized for 8 concurrent
# workflow stage pods (platform/expected-peaks.yaml); more workflows wait in the queue, which the
# controller's HPA scales on.
SIMULATED_MAX_RUNNING_WORKFLOWS = 8
# With the compressed timings the stand-in's agents work 100x faster than real time (the clock,
# HPA and scrapes are compressed 30x): a workflow of the mix takes ~50 s instead of ~80 min, so a
# ten-minute nightly sees hundreds of stages finish and a run's last workflows drain within minutes.
# The mix's shortest stages (a one-file review: 2-5 min) then last 1-3 s.
SIMULATED_WORK_FACTOR = 100.0


def start_simulated_platform(
    info: SandboxInfo,
    progress: Progress = _quiet,
    *,
    namespace: str = "agents",
    controller_namespace: str = "workflow-system",
    restart: bool = False,
) -> SandboxInfo:
    """Start the stand-in platform (workflow API, queue, agent pods) as a sandbox process.

    A running one is kept, unless `restart`: then it is stopped and a new one started, which drops
    the earlier one's queue and deletes its stage pods. Its /metrics is registered with the
    sandbox's Prometheus, and `down` stops it with the rest. Returns the updated info (also saved
    to sandbox.json).
    """
    current = info.processes.get(SIMULATED_PLATFORM)
    if current is not None and pid_alive(current):
        if info.workflow_api_url and not restart:
            progress(f"simulated platform already serving at {info.workflow_api_url}")
            return info
        progress("restarting the simulated platform: earlier runs' queued and running workflows are dropped")
        stop_process(current)
    port = free_port()
    settings = PlatformSettings(
        kubeconfig=Path(info.kubeconfig),
        context=info.context,
        namespace=namespace,
        controller_namespace=controller_namespace,
        time_factor=SIMULATED_WORK_FACTOR if info.timing == "compressed" else 1.0,
        max_running_workflows=SIMULATED_MAX_RUNNING_WORKFLOWS,
        scrape_targets_dir=Path(info.targets_dir),
        port=port,
    )
    executable, *args = settings.argv()
    record = start_process(Path(executable), args, Path(info.state_dir) / "logs" / "simulated-platform.log")
    url = f"http://127.0.0.1:{port}"
    updated = replace(info, processes={**info.processes, SIMULATED_PLATFORM: record}, workflow_api_url=url)
    _info_path(info.name).write_text(updated.to_json())
    progress(f"starting the simulated platform (a stand-in for yours) at {url}")
    wait_for(
        "the simulated platform's API",
        lambda: pid_alive(record) and http_ok(f"{url}/healthz"),
        60,
        f"see {record.log}",
    )
    return updated
