"""One run of a suite, from preflight to reports: the only module that mixes IO and logic.

    preflight (context allowed, RBAC, Prometheus and the load target reachable)
    -> manifest.json -> recorder (evidence/k8s.jsonl) -> settle -> Locust in a subprocess (load/)
    -> experiments on their schedule, in the main thread, rollbacks always (chaos/)
    -> load ends -> cooldown -> recorder stops -> Prometheus range queries (evidence/metrics.json)
    -> evaluation -> summary.json, junit.xml, report.html

Everything lands in the run directory as it arrives. Ctrl-C or SIGTERM at any point stops the load,
lets the running experiment's rollbacks finish (Chaos Toolkit's `always` strategy plus our control),
then still writes the evidence and the reports, and the run exits 130. A failed rollback stops the
remaining experiments and the run exits 5 (after the reports). Otherwise the exit code is the
verdict's (docs/criteria.md).
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.table import Table

from validator.collect.prometheus import PrometheusCollector, collect_metrics
from validator.config.experiment_file import load_experiment_file
from validator.config.suite_file import ExperimentSpec, Mode, Suite
from validator.criteria import fault_effects
from validator.criteria.promql import QueryRanges
from validator.criteria.registry import CRITERIA, build_specs, evaluate_all
from validator.errors import ConfigError, EvidenceUnavailable, ExitCode, RollbackFailed, UnsafeOperation
from validator.model import CriterionOverride, Summary, Verdict
from validator.model.label_selector import selects
from validator.report.console_table import COLOUR, overall_verdict_line, verdict_table
from validator.report.html import write_report_html
from validator.report.junit import write_junit_xml
from validator.report.summary import write_summary_json
from validator.run_directory import load_run_directory

ROOT = Path(__file__).resolve().parents[2]
LOADPROFILES = ROOT / "loadprofiles"
MANIFEST_SCHEMA = "validator.manifest/v1"
EXIT_FOR_VERDICT = {
    Verdict.PASS: ExitCode.PASS,
    Verdict.FAIL: ExitCode.FAIL,
    Verdict.INCONCLUSIVE: ExitCode.INCONCLUSIVE,
}
# Criteria judged live after each experiment: they need only the watch, the load and the faults.
LIVE_CRITERIA = ("maintenance_disruption", "pdb_respected", "oom_kills", "controller_availability")


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRequest:
    """What `validator run` was asked to do (the command line, resolved)."""

    suite: Suite
    context: str
    kubeconfig: str | None = None
    allowlist: Path | None = None
    output: Path | None = None
    mode: Mode | None = None  # None: sandbox when the context is a running sandbox's
    prometheus_url: str = ""
    workflow_api_url: str = ""
    dry_run: bool = False
    rehearsal_target: RehearsalTarget | None = None
    extra_env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RehearsalTarget:
    node: str = ""
    pool: str = ""

    @property
    def selector(self) -> str:
        return f"kubernetes.io/hostname={self.node}" if self.node else f"node-pool={self.pool}"

    def describe(self) -> str:
        return f"node {self.node}" if self.node else f"pool {self.pool}"


@dataclass(frozen=True, slots=True, kw_only=True)
class EvictionRow:
    node: str
    pod: str  # namespace/name
    budget: str  # PDB name, "" when none selects the pod
    disruptions_allowed: int | None
    verdict: str  # "allowed", "refused", "skipped", "error"
    reason: str = ""


@dataclass
class _Environment:
    """Where the run's evidence comes from, resolved in preflight."""

    mode: Mode
    kubeconfig: str | None
    prometheus_url: str
    workflow_api_url: str
    sandbox: bool = False  # the context is a running sandbox's (its simulated nodes react to `sandbox`)


# --------------------------------------------------------------------------- signals


class _Interrupts:
    """SIGTERM and SIGHUP raise KeyboardInterrupt in the main thread (like Ctrl-C), once; afterwards
    every signal only warns, so the rollbacks and the evidence are always finished."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.received: list[str] = []
        self.shielded = False
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self._previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._previous.clear()

    @property
    def interrupted(self) -> bool:
        return bool(self.received)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        self.received.append(name)
        if self.shielded or len(self.received) > 1:
            self.console.print(f"[yellow]{name} received: finishing rollbacks, evidence and reports first[/]")
            return
        self.console.print(
            f"[yellow]{name} received: stopping the load, rolling back, writing the reports[/]"
        )
        raise KeyboardInterrupt(name)

    @contextmanager
    def shield(self) -> Iterator[None]:
        """No KeyboardInterrupt from a signal inside the block (it is recorded)."""
        before = self.shielded
        self.shielded = True
        try:
            yield
        finally:
            self.shielded = before


# --------------------------------------------------------------------------- small helpers


def _now_ms() -> int:
    return int(time.time() * 1000)


def _rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").replace(".000000Z", "Z")


def _write_json(path: Path, document: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _overrides_json(overrides: Mapping[str, CriterionOverride]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for cid, o in overrides.items():
        body: dict[str, Any] = dict(o.thresholds)
        if o.queries:
            body["queries"] = dict(o.queries)
        if o.info is not None:
            body["info"] = o.info
        out[cid] = body
    return out


def _experiment_fault_name(path: Path) -> str:
    """The fault name the experiment's own control writes (its `validator` extension)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    for ext in doc.get("extensions") or []:
        if isinstance(ext, dict) and ext.get("name") == "validator":
            return str(ext.get("fault") or ext.get("experiment") or "")
    return ""


def _sleep_until(deadline: float, *, tick: Callable[[], None] | None = None) -> None:
    """Sleep in short steps (so Ctrl-C lands promptly), calling `tick` about every 5 s."""
    last = 0.0
    while True:
        remaining = deadline - time.time()
        if remaining <= 0:
            return
        if tick is not None and time.time() - last >= 5.0:
            last = time.time()
            tick()
        time.sleep(min(0.5, remaining))


# --------------------------------------------------------------------------- preflight


def _sandbox_info(context: str) -> Any:
    """The running sandbox whose context this is, or None."""
    from validator.sandbox.cluster import running_sandbox_for

    return running_sandbox_for(context)


def resolve_environment(request: RunRequest) -> _Environment:
    info = _sandbox_info(request.context)
    mode: Mode = request.mode or ("sandbox" if info is not None else "real")
    kubeconfig = request.kubeconfig or (info.kubeconfig if info is not None else None)
    prometheus = (
        request.prometheus_url
        or os.environ.get("VALIDATOR_PROMETHEUS_URL", "")
        or (info.prometheus_url if info is not None else "")
    )
    api = (
        request.workflow_api_url
        or os.environ.get("VALIDATOR_WORKFLOW_API_URL", "")
        or (str(getattr(info, "workflow_api_url", "") or "") if info is not None else "")
    )
    if not prometheus:
        raise ConfigError(
            "no Prometheus URL for this run",
            where="--prometheus-url / $VALIDATOR_PROMETHEUS_URL",
            fix="pass --prometheus-url (e.g. a port-forward to the cluster's Prometheus)",
        )
    if not api and request.suite.load.target == "http" and not request.dry_run:
        fix = (
            "run `validator sandbox deploy testing` (it starts the simulated platform's submission API)"
            if info is not None
            else "pass --workflow-api-url URL of the platform's submission API"
        )
        raise ConfigError(
            "no workflow submission API URL for the load",
            where=("--workflow-api-url / $VALIDATOR_WORKFLOW_API_URL / sandbox.json workflow_api_url"),
            fix=fix,
        )
    return _Environment(
        mode=mode,
        kubeconfig=kubeconfig,
        prometheus_url=prometheus,
        workflow_api_url=api,
        sandbox=info is not None,
    )


def _check_api_reachable(url: str) -> None:
    health = url.rstrip("/") + "/healthz"
    try:
        with urllib.request.urlopen(health, timeout=5) as response:
            if response.status >= 400:
                raise EvidenceUnavailable(
                    f"the workflow API answered HTTP {response.status}",
                    where=health,
                    fix="start the platform's submission API (sandbox: validator sandbox deploy testing)",
                )
    except urllib.error.HTTPError as exc:
        if exc.code == 404:  # an API without /healthz: it answers, which is all we need
            return
        raise EvidenceUnavailable(
            f"the workflow API answered HTTP {exc.code}", where=health, fix="check --workflow-api-url"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        raise EvidenceUnavailable(
            f"the workflow API is not answering: {exc}",
            where=health,
            fix="start the platform's submission API (sandbox: `validator sandbox deploy "
            "testing`), or pass --workflow-api-url",
        ) from None


QUIET_TIMEOUT_S = 300.0


def queued_workflows(url: str) -> int | None:
    """`workflow_queue_depth` from the submission API's /metrics; None when it does not export it."""
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/metrics", timeout=5) as response:
            text = response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError):
        return None
    for line in text.splitlines():
        if line.startswith("workflow_queue_depth "):
            try:
                return int(float(line.split()[1]))
            except (IndexError, ValueError):
                return None
    return None


def wait_for_quiet_platform(url: str, console: Console, timeout_s: float = QUIET_TIMEOUT_S) -> None:
    """On the sandbox, let the simulated platform finish what an earlier run left queued (its
    developers' last workflows) before this run's window opens: a backlog would be judged as this
    run's load. Gives up after `timeout_s`, saying so."""
    queued = queued_workflows(url)
    if not queued:
        return
    console.print(
        f"waiting for the simulated platform's queue to drain ({queued} workflows left by an earlier run)"
    )
    deadline = time.monotonic() + timeout_s
    last = queued
    while queued and time.monotonic() < deadline:
        time.sleep(min(5.0, max(0.1, deadline - time.monotonic())))
        queued = queued_workflows(url)
        if queued is not None and queued != last:
            console.print(f"  {queued} queued")
            last = queued
    if queued:
        console.print(
            f"[yellow]! {queued} workflows still queued after {timeout_s:g}s: "
            "the run starts with a backlog[/]"
        )
    else:
        console.print("[green]✓[/] the simulated platform's queue is empty")


def experiment_env(request: RunRequest, exp: ExperimentSpec, mode: Mode) -> dict[str, str]:
    """The environment an experiment runs with: the process's, the timings', the experiment's."""
    return {**os.environ, **request.suite.timing(mode).env, **exp.env, **request.extra_env}


def check_experiments(request: RunRequest, env: _Environment) -> None:
    """Before any cluster call: every experiment file is a valid Chaos Toolkit experiment (exit 2,
    naming the file and key), and none uses a mechanism that does nothing on this cluster (exit 4)."""
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid

    from validator.chaos.mechanisms import refuse_off_sandbox

    checked = []
    for index, exp in enumerate(request.suite.experiments):
        experiment = load_experiment_file(exp.path)
        try:
            ensure_experiment_is_valid(dict(experiment.document))
        except ChaosException as exc:
            raise ConfigError(
                f"{exp.path}: Chaos Toolkit refuses the experiment: {exc}",
                where=f"{request.suite.source}: experiments[{index}].path",
                fix="correct the experiment (its activities' modules, functions and arguments)",
            ) from None
        checked.append((experiment, experiment_env(request, exp, env.mode)))
    if not env.sandbox:
        refuse_off_sandbox(checked, request.context)


def preflight(request: RunRequest, env: _Environment, console: Console) -> Any:
    """Context allowed (the guard), every needed verb granted (SelfSubjectAccessReviews), Prometheus
    and the load target answering, experiment files present. Returns the opened Guard."""
    from validator.safety.guard import namespace_refusal, open_guard
    from validator.safety.rbac import preflight as rbac_preflight
    from validator.safety.rbac import run_needs
    from validator.safety.session import exact_namespaces

    suite = request.suite
    check_experiments(request, env)
    guard = open_guard(request.context, env.kubeconfig, request.allowlist)
    console.print(f"[green]✓[/] context {request.context} is allow-listed and is the recorded cluster")
    refusals = [r for ns in suite.namespaces if (r := namespace_refusal(ns, guard.entry))]
    if refusals:
        guard.api.close()
        raise UnsafeOperation(
            "the suite's namespaces are not all allowed:\n    " + "\n    ".join(refusals),
            where=f"{suite.source}: namespaces",
            fix=f"validator allow --context {request.context} --namespace NS ... (on purpose)",
        )
    try:
        rbac_preflight(guard.api, run_needs(exact_namespaces(guard.entry.namespaces)), context=guard.context)
    except BaseException:
        guard.api.close()
        raise
    console.print("[green]✓[/] RBAC: every verb the run needs is granted (SelfSubjectAccessReview)")
    with PrometheusCollector(env.prometheus_url) as prom:
        try:
            prom.ping()
        except BaseException:
            guard.api.close()
            raise
        shown = prom.display_url
    console.print(f"[green]✓[/] Prometheus answers at {shown}")
    if env.workflow_api_url and not request.dry_run:
        try:
            _check_api_reachable(env.workflow_api_url)
        except BaseException:
            guard.api.close()
            raise
        console.print(f"[green]✓[/] workflow API answers at {env.workflow_api_url}")
    env.kubeconfig = guard.kubeconfig
    return guard


# --------------------------------------------------------------------------- rehearsal dry run


def rehearsal_dry_run(guard: Any, target: RehearsalTarget) -> tuple[list[EvictionRow], list[str]]:
    """A server-side dry-run eviction of every pod on the target node(s): pod, budget, refused or not.
    Writes nothing (plan-mode mutator: no cluster write, no audit line). Returns the rows and the
    node-level refusals of the guard (e.g. the last schedulable node of a pool)."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    from validator.chaos.targets import drainable
    from validator.safety.audit import AuditLog
    from validator.safety.guard import pod_refusal
    from validator.safety.mutator import Mutator, error_text

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
            if pod_refusal(pod, guard.entry):
                rows.append(
                    EvictionRow(
                        node=name,
                        pod=ref,
                        budget=budget,
                        disruptions_allowed=allowed,
                        verdict="refused",
                        reason=f"allow-list: namespace {ns} is not allowed for this context",
                    )
                )
                continue
            try:
                outcome = mutator.evict(pod)
            except UnsafeOperation as exc:
                rows.append(
                    EvictionRow(
                        node=name,
                        pod=ref,
                        budget=budget,
                        disruptions_allowed=allowed,
                        verdict="refused",
                        reason=exc.what,
                    )
                )
                continue
            if outcome.refused_by:
                rows.append(
                    EvictionRow(
                        node=name,
                        pod=ref,
                        budget=outcome.refused_by or budget,
                        disruptions_allowed=allowed,
                        verdict="refused",
                        reason=f"HTTP 429: budget {outcome.refused_by} allows no disruption now",
                    )
                )
            elif outcome.message.startswith("dry run: allowed"):
                rows.append(
                    EvictionRow(
                        node=name,
                        pod=ref,
                        budget=budget,
                        disruptions_allowed=allowed,
                        verdict="allowed",
                        reason="the apiserver would accept the eviction",
                    )
                )
            else:
                rows.append(
                    EvictionRow(
                        node=name,
                        pod=ref,
                        budget=budget,
                        disruptions_allowed=allowed,
                        verdict="error",
                        reason=outcome.message,
                    )
                )
    return rows, node_refusals


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
    _write_json(
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


# --------------------------------------------------------------------------- the run


class SuiteRun:
    """One run of one suite. `execute()` returns the exit code."""

    def __init__(self, request: RunRequest, console: Console | None = None) -> None:
        self.request = request
        self.suite = request.suite
        self.console = console or Console(stderr=False)
        self.interrupts = _Interrupts(self.console)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.run_id = f"{stamp}-{self.suite.name}"
        self.run_dir = request.output or (Path("reports") / self.run_id)
        if request.output is not None:
            self.run_id = request.output.resolve().name
        self.experiment_results: list[dict[str, Any]] = []
        self.rollback_failure: RollbackFailed | None = None
        self.load_outcome: Any = None
        self.window_start_ms = 0
        self.window_end_ms = 0
        self.load_started_ms = 0

    # -- the manifest --------------------------------------------------------------------------
    def _manifest(self, env: _Environment, *, final: bool) -> dict[str, Any]:
        timing = self.suite.timing(env.mode)
        expected: dict[str, list[str]] = {}
        for exp in self.suite.experiments:
            if exp.expected_alerts:
                expected[exp.name] = list(exp.expected_alerts)
                fault = _experiment_fault_name(exp.path)
                if fault and fault != exp.name:
                    expected.setdefault(fault, list(exp.expected_alerts))
        end_ms = (
            self.window_end_ms
            if final
            else self.window_start_ms
            + int((timing.settle_s + timing.load_duration_s + timing.cooldown_s) * 1000)
        )
        return {
            "schema": MANIFEST_SCHEMA,
            "run_id": self.run_id,
            "suite": self.suite.name,
            "suite_file": self.suite.source,
            "window": {
                "start": _rfc3339(self.window_start_ms),
                "end": _rfc3339(max(end_ms, self.window_start_ms)),
            },
            "window_final": final,
            "context": self.request.context,
            "namespaces": list(self.suite.namespaces),
            "sandbox": env.mode == "sandbox",
            "timing": env.mode,
            "dry_run": self.request.dry_run,
            "agent_label": self.suite.agent_label,
            "controller_selector": self.suite.controller_selector,
            "load": {
                "profile": self.suite.load.profile,
                "target": self.suite.load.target,
                "max_users": self.suite.load.max_users,
                "max_spawn_rate": self.suite.load.max_spawn_rate,
                "duration_s": timing.load_duration_s,
                "time_factor": timing.time_factor,
                "started": _rfc3339(self.load_started_ms) if self.load_started_ms else None,
            },
            "faults_planned": [
                {"name": e.name, "experiment": str(e.path), "offset_s": off}
                for off, e in self.suite.schedule(env.mode)
            ],
            "rehearsal_target": (
                {"node": self.request.rehearsal_target.node, "pool": self.request.rehearsal_target.pool}
                if self.request.rehearsal_target
                else None
            ),
            "expected_alerts": expected,
            "criteria": _overrides_json(self.suite.criteria),
            "judge": list(self.suite.judge) or sorted(CRITERIA),
            "experiments": self.experiment_results,
            "interrupted": self.interrupts.received,
        }

    # -- load ----------------------------------------------------------------------------------
    def _locust_spec(self, env: _Environment) -> Any:
        from validator.load.locust_process import LocustSpec

        timing = self.suite.timing(env.mode)
        load = self.suite.load
        extra = {"VALIDATOR_LOAD_TARGET": load.target, **load.env}
        return LocustSpec(
            locustfile=LOADPROFILES / f"{load.profile}.py",
            host=env.workflow_api_url or "http://127.0.0.1",
            max_users=load.max_users,
            max_spawn_rate=load.max_spawn_rate,
            max_duration_s=timing.load_duration_s + 30.0,
            time_factor=timing.time_factor,
            profile_duration_s=timing.load_duration_s,
            allowed_hosts=load.allowed_hosts,
            extra_env=extra,
        )

    def _progress_line(self, env: _Environment) -> Callable[[], None]:
        def tick() -> None:
            elapsed = (time.time() * 1000 - self.load_started_ms) / 1000 if self.load_started_ms else 0.0
            last = self.load_process.last_progress() if self.load_process is not None else None
            load = (
                (
                    f"{last.user_count} users, {last.requests_per_s:.1f} req/s, {last.total_requests} sent, "
                    f"{last.total_failures} failed"
                )
                if last is not None
                else "starting"
            )
            self.console.print(f"[dim][{elapsed:6.0f}s][/] load: {load}")

        return tick

    load_process: Any = None

    # -- experiments ---------------------------------------------------------------------------
    def _run_experiment(self, exp: ExperimentSpec, env: _Environment) -> None:
        from validator.chaos.runner import run_experiment

        timing = self.suite.timing(env.mode)
        extra = {**timing.env, **exp.env, **self.request.extra_env}
        journal = self.run_dir / "chaos" / f"journal-{exp.name}.json"
        started = _now_ms()
        self.console.print(
            f"[bold]▶ {exp.name}[/] ({exp.path.name}) at +{(started - self.load_started_ms) / 1000:.0f}s"
        )
        record: dict[str, Any] = {
            "name": exp.name,
            "experiment": str(exp.path),
            "started": _rfc3339(started),
            "journal": str(journal.relative_to(self.run_dir)),
        }
        path = self._held_experiment(exp, env.mode)
        try:
            _, outcome = run_experiment(
                path,
                context=self.request.context,
                run_dir=self.run_dir,
                kubeconfig=env.kubeconfig,
                run_id=self.run_id,
                allowlist=self.request.allowlist,
                journal_path=journal,
                extra_env=extra,
            )
        except RollbackFailed as exc:
            record.update(status="rollback_failed", error=exc.what)
            self.rollback_failure = exc
            self.console.print(f"[red]✗ {exp.name}: {exc.what}[/]")
        else:
            record.update(
                status=outcome.status,
                steady_state_before=outcome.steady_state_before,
                steady_state_after=outcome.steady_state_after,
                failed_actions=outcome.failed_actions,
                failed_rollbacks=outcome.failed_rollbacks,
            )
            ok = not outcome.failed_actions and outcome.steady_state_before is not False
            mark = "[green]✓[/]" if ok else "[yellow]![/]"
            detail = ", ".join(
                filter(
                    None,
                    [
                        f"status {outcome.status}",
                        "steady state before: "
                        + {True: "met", False: "NOT met", None: "—"}[outcome.steady_state_before],
                        f"failed: {', '.join(outcome.failed_actions)}" if outcome.failed_actions else "",
                        "rollbacks ok" if not outcome.failed_rollbacks else "",
                    ],
                )
            )
            self.console.print(f"{mark} {exp.name}: {detail} ({(_now_ms() - started) / 1000:.0f}s)")
            if outcome.interrupted:
                record["ended"] = _rfc3339(_now_ms())
                self.experiment_results.append(record)
                raise KeyboardInterrupt("experiment interrupted")
        record["ended"] = _rfc3339(_now_ms())
        self.experiment_results.append(record)

    def _held_experiment(self, exp: ExperimentSpec, mode: Mode) -> Path:
        """The experiment file, or a copy in chaos/ with a `hold` step after its first method action:
        the fault stays in place under load that long (until the rollbacks revert it), while the
        action's own end line still marks when the injection ended (an eviction is over at once)."""
        hold = exp.hold_s.get(mode, 0.0)
        if hold <= 0:
            return exp.path
        doc = json.loads(exp.path.read_text(encoding="utf-8"))
        method = doc.get("method") or []
        for index, activity in enumerate(method):
            if activity.get("type") == "action":
                method.insert(
                    index + 1,
                    {
                        "type": "probe",
                        "name": f"hold-{activity.get('name', 'fault')}",
                        "provider": {
                            "type": "python",
                            "module": "validator.chaos.probes",
                            "func": "hold",
                            "arguments": {"seconds": hold},
                        },
                    },
                )
                break
        target = self.run_dir / "chaos" / f"experiment-{exp.name}.json"
        _write_json(target, doc)
        return target

    def _live_verdicts(self, env: _Environment) -> None:
        """Judge the criteria that need no Prometheus from the evidence so far (never fails the run)."""
        try:
            _write_json(
                self.run_dir / "manifest.json",
                {
                    **self._manifest(env, final=False),
                    "window": {"start": _rfc3339(self.window_start_ms), "end": _rfc3339(_now_ms())},
                },
            )
            evidence = load_run_directory(self.run_dir)
            only = [c for c in LIVE_CRITERIA if not self.suite.judge or c in self.suite.judge]
            summary = evaluate_all(build_specs(self.suite.criteria), evidence, only=only)
        except Exception as exc:  # a live view must never cost the run
            self.console.print(f"[dim]live verdicts unavailable: {type(exc).__name__}: {exc}[/]")
            return
        parts = [f"{o.id} [{COLOUR[o.verdict]}]{o.verdict.value}[/]" for o in summary.criteria]
        self.console.print("  live: " + ", ".join(parts))

    # -- the whole run -------------------------------------------------------------------------
    def execute(self) -> int:
        env = resolve_environment(self.request)
        self.console.print(
            f"[bold]validator run {self.suite.name}[/] on {self.request.context} ({env.mode} timings)"
        )
        guard = preflight(self.request, env, self.console)
        try:
            if self.request.rehearsal_target is not None:
                rows, node_refusals = rehearsal_dry_run(guard, self.request.rehearsal_target)
                print_rehearsal(self.console, self.request.rehearsal_target, rows, node_refusals)
                guard_refusals = node_refusals + [
                    f"pod {r.pod}: {r.reason}" for r in rows if r.reason.startswith("allow-list:")
                ]
                if self.request.dry_run:
                    # 0: every eviction allowed; 1: a budget would refuse one (the drain would stall);
                    # 4: the guard would refuse the drain itself.
                    if guard_refusals:
                        return int(ExitCode.REFUSED)
                    return int(
                        ExitCode.FAIL
                        if any(r.verdict != "allowed" and r.verdict != "skipped" for r in rows)
                        else ExitCode.PASS
                    )
                self.run_dir.mkdir(parents=True, exist_ok=True)
                write_rehearsal_json(
                    self.run_dir / "rehearsal-dry-run.json",
                    self.request.rehearsal_target,
                    rows,
                    node_refusals,
                )
                if guard_refusals:
                    raise UnsafeOperation(
                        "the guard would refuse this drain:\n    " + "\n    ".join(guard_refusals),
                        where=self.request.rehearsal_target.describe(),
                        fix="choose another node, or allow its pool and namespaces on purpose",
                    )
            elif self.request.dry_run:
                return self._plan_only(guard)
        finally:
            guard.api.close()
        self.interrupts.install()
        try:
            return self._run(env)
        finally:
            self.interrupts.restore()

    def _plan_only(self, guard: Any) -> int:
        from validator.commands.chaos import plan_experiment
        from validator.safety.audit import AuditLog
        from validator.safety.mutator import Mutator
        from validator.safety.session import planning

        mutator = Mutator(guard=guard, audit=AuditLog(Path(os.devnull), "plan"), plan_mode=True)
        refused = 0
        with planning(mutator):
            mode = self.request.mode or ("sandbox" if _sandbox_info(self.request.context) else "real")
            for _, exp in self.suite.schedule(mode):
                plan = plan_experiment(
                    exp.path, mutator, {**self.suite.timing(mode).env, **exp.env, **self.request.extra_env}
                )
                self.console.print(f"[bold]{exp.name}[/] ({exp.path})")
                for step in plan["steps"]:
                    self.console.print(f"  [{step['phase']}] {step['name']}: {step.get('result', '')}")
                    if step.get("reason"):
                        refused += 1
                        self.console.print(f"      {step['reason']}")
                    for w in step["writes"]:
                        self.console.print(
                            f"      would {w['verb']} {w['object']} ({w['change']}) {w['note']}"
                        )
        self.console.print("dry run: nothing was changed")
        return int(ExitCode.REFUSED if refused else ExitCode.PASS)

    def _run(self, env: _Environment) -> int:
        from validator.collect.recorder import KubernetesRecorder
        from validator.load.locust_process import LocustProcess

        timing = self.suite.timing(env.mode)
        if env.mode == "sandbox" and env.workflow_api_url:
            wait_for_quiet_platform(env.workflow_api_url, self.console)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.console.print(f"run directory: {self.run_dir}")
        self.window_start_ms = _now_ms()
        _write_json(self.run_dir / "manifest.json", self._manifest(env, final=False))
        recorder = KubernetesRecorder.from_kubeconfig(
            self.run_dir / "evidence" / "k8s.jsonl",
            kubeconfig=env.kubeconfig or "",
            context=self.request.context,
            namespaces=list(self.suite.record_namespaces),
        )
        interrupted = False
        recorder_started = False
        try:
            recorder.start()
            recorder_started = True
            recorder.wait_until_synced(60)
            self.window_start_ms = int(recorder.synced_ms or _now_ms())
            _write_json(self.run_dir / "manifest.json", self._manifest(env, final=False))
            self.console.print(f"[green]✓[/] recorder synced; settling {timing.settle_s:g}s for a baseline")
            _sleep_until(time.time() + timing.settle_s)
            self.load_process = _ProgressLocust(LocustProcess, self._locust_spec(env), self.run_dir)
            self.load_process.start()
            self.load_started_ms = self.load_process.started_ms
            _write_json(self.run_dir / "manifest.json", self._manifest(env, final=False))
            self.console.print(
                f"[green]✓[/] load: {self.suite.load.profile} profile, up to "
                f"{self.suite.load.max_users} users for {timing.load_duration_s:g}s"
            )
            tick = self._progress_line(env)
            for offset, exp in self.suite.schedule(env.mode):
                _sleep_until(self.load_started_ms / 1000 + offset, tick=tick)
                if not self.load_process.running():
                    self.console.print(f"[yellow]the load ended early ({self.load_process.describe()})[/]")
                self._run_experiment(exp, env)
                self._live_verdicts(env)
                if self.rollback_failure is not None:
                    self.console.print("[red]a rollback failed: the remaining experiments are skipped[/]")
                    break
            _sleep_until(self.load_started_ms / 1000 + timing.load_duration_s, tick=tick)
            with self.interrupts.shield():
                self.load_outcome = self.load_process.finish(wait_s=30.0)
            self.console.print(
                f"load finished: {self.load_process.describe()}; cooldown {timing.cooldown_s:g}s"
            )
            _sleep_until(time.time() + timing.cooldown_s, tick=self._recovery_tick())
        except KeyboardInterrupt as exc:
            interrupted = True
            if not self.interrupts.received:  # the chaos control's own handler took the signal
                self.interrupts.received.append(str(exc) or "KeyboardInterrupt")
        finally:
            with self.interrupts.shield():
                if self.load_process is not None:
                    self.load_outcome = self.load_process.finish()
                if recorder_started:
                    recorder.stop()
        with self.interrupts.shield():
            return self._finish(env, interrupted=interrupted or self.interrupts.interrupted)

    def _recovery_tick(self) -> Callable[[], None]:
        def tick() -> None:
            self.console.print("[dim]cooldown: watching recovery[/]")

        return tick

    def _finish(self, env: _Environment, *, interrupted: bool) -> int:
        timing = self.suite.timing(env.mode)
        self.window_end_ms = _now_ms()
        _write_json(self.run_dir / "manifest.json", self._manifest(env, final=True))
        specs = build_specs(self.suite.criteria)
        only = list(self.suite.judge) or None
        ids = only or list(CRITERIA)
        queries: dict[str, str] = dict(fault_effects.QUERIES)  # to see that each fault took effect
        for cid in ids:
            queries.update(specs[cid].queries)
        self.console.print(f"collecting {len(queries)} Prometheus queries over the window")
        try:
            collect_metrics(
                self.run_dir,
                env.prometheus_url,
                queries,
                datetime.fromtimestamp(self.window_start_ms / 1000, UTC),
                datetime.fromtimestamp(self.window_end_ms / 1000, UTC),
                step_seconds=timing.step_s,
                ranges=QueryRanges.for_run(timing.time_factor, timing.step_s),
                agent_label_key=self.suite.agent_label,
                namespaces=self.suite.namespaces,
                record_unreachable=True,
                show_progress=False,
            )
        except Exception as exc:  # the other evidence is still worth judging
            self.console.print(f"[yellow]metrics not collected: {exc}[/]")
        evidence = load_run_directory(self.run_dir)
        summary = evaluate_all(
            specs,
            evidence,
            only=only,
            not_evaluated_reason=f"not judged by the {self.suite.name} suite (its `judge` list)",
        )
        write_summary_json(self.run_dir, summary)
        write_junit_xml(self.run_dir, summary)
        write_report_html(self.run_dir, summary, evidence)
        self._print_summary(summary)
        if interrupted:
            self.console.print(
                f"[yellow]interrupted: rollbacks ran, evidence and reports are in {self.run_dir}[/]"
            )
            return int(ExitCode.INTERRUPTED)
        if self.rollback_failure is not None:
            raise self.rollback_failure
        return int(EXIT_FOR_VERDICT[summary.verdict])

    def _print_summary(self, summary: Summary) -> None:
        self.console.print(verdict_table(summary, f"validator run {summary.run_id}"))
        self.console.print(overall_verdict_line(summary))
        self.console.print(f"report: {self.run_dir / 'report.html'}")


class _ProgressLocust:
    """A LocustProcess with its latest progress kept for the console."""

    def __init__(self, cls: Any, spec: Any, run_dir: Path) -> None:
        self._latest: Any = None
        self._outcome: Any = None
        self._process = cls(spec, run_dir, on_progress=self._keep)
        self.started_ms = 0

    def _keep(self, progress: Any) -> None:
        self._latest = progress

    def last_progress(self) -> Any:
        return self._latest

    def start(self) -> None:
        self._process.start()
        self.started_ms = _now_ms()

    def running(self) -> bool:
        return bool(self._process.running())

    def finish(self, wait_s: float = 0.0) -> Any:
        """The outcome: waits up to `wait_s` for Locust to end its shape, then stops it."""
        if self._outcome is None:
            outcome = self._process.wait(timeout=wait_s) if wait_s > 0 else None
            self._outcome = outcome if outcome is not None else self._process.stop()
        return self._outcome

    def describe(self) -> str:
        outcome = self._outcome
        if outcome is None:
            return "running"
        last = outcome.last_progress
        counts = f", {last.total_requests} requests, {last.total_failures} failures" if last else ""
        detail = f": {outcome.detail.splitlines()[-1]}" if outcome.detail else ""
        return f"{outcome.stopped} (exit {outcome.returncode}{counts}){detail}"


def run_suite(request: RunRequest, console: Console | None = None) -> int:
    """Run a suite end to end; the exit code of docs/criteria.md."""
    console = console or Console()
    return SuiteRun(request, console).execute()
