"""Before a run changes anything: the experiment files are valid, the context is allowed and is the
recorded cluster, every verb the run needs is granted, Prometheus and the load target answer. On
the sandbox, the simulated platform's queue left by an earlier run is drained first; on any cluster,
the alerts the suite expects its faults to raise, when an earlier run left them firing, are waited
for until they resolve (a firing already in progress hides this run's own)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable

from kubernetes import client
from kubernetes.client import ApiClient
from rich.console import Console

from validator.chaos.mechanisms import refuse_off_sandbox
from validator.collect.prometheus import PrometheusCollector
from validator.config.experiment_file import load_experiment_file
from validator.errors import ConfigError, EvidenceUnavailable, UnsafeOperation
from validator.run.request import RunEnvironment, RunRequest, experiment_env
from validator.safety.guard import Guard, namespace_refusal, open_guard
from validator.safety.rbac import preflight as rbac_preflight
from validator.safety.rbac import run_needs
from validator.safety.session import exact_namespaces


def check_experiments(request: RunRequest, env: RunEnvironment) -> None:
    """Before any cluster call: every experiment file is a valid Chaos Toolkit experiment (exit 2,
    naming the file and key), and none uses a mechanism that does nothing on this cluster (exit 4)."""
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid

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


def preflight(request: RunRequest, env: RunEnvironment, console: Console) -> Guard:
    """Context allowed (the guard), every needed verb granted (SelfSubjectAccessReviews), Prometheus
    and the load target answering, experiment files present. Returns the opened Guard."""
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
            check_api_reachable(env.workflow_api_url)
        except BaseException:
            guard.api.close()
            raise
        console.print(f"[green]✓[/] workflow API answers at {env.workflow_api_url}")
    env.kubeconfig = guard.kubeconfig
    return guard


def check_api_reachable(url: str) -> None:
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


ALERTS_POLL_S = 5.0
ALERTS_REPORT_EVERY_S = 60.0


def _describe(alert: dict[str, str]) -> str:
    where = "/".join(alert[k] for k in ("namespace", "pod") if alert.get(k))
    return f"{alert.get('alertname', '?')} ({where})" if where else alert.get("alertname", "?")


Alerts = list[dict[str, str]]


def about_live_pods(api: ApiClient, namespaces: Iterable[str]) -> Callable[[Alerts], tuple[Alerts, Alerts]]:
    """Split firing alerts into those that can hide a run's own and those about a pod that is gone.

    An alert whose labels name a pod by `uid` (kube-state-metrics' pod series carry it, and so do
    the platform's alerts built on them) is about that pod only. When no pod of its namespace has
    that uid now, the pod was replaced, evicted or deleted: the same alert about its replacement is
    another series, a firing of its own that alert_accuracy counts, so the leftover hides nothing
    (a restart-count rule keeps it firing for its whole range after the pod is gone). Only the
    run's own namespaces are read; an alert elsewhere, without a uid, or when the pods cannot be
    listed is kept (waited for, as before)."""
    core = client.CoreV1Api(api)
    allowed = frozenset(namespaces)

    def split(alerts: Alerts) -> tuple[Alerts, Alerts]:
        asked = {a["namespace"] for a in alerts if a.get("uid") and a.get("namespace") in allowed}
        live: dict[str, set[str]] = {}
        for namespace in sorted(asked):
            try:
                live[namespace] = {p.metadata.uid for p in core.list_namespaced_pod(namespace).items}
            except Exception:  # any failure to list (HTTP, connection): keep its alerts, as before
                continue
        kept: Alerts = []
        gone: Alerts = []
        for alert in alerts:
            namespace, uid = alert.get("namespace", ""), alert.get("uid")
            (gone if uid and namespace in live and uid not in live[namespace] else kept).append(alert)
        return kept, gone

    return split


def wait_for_expected_alerts_to_clear(
    prometheus_url: str,
    expected: Iterable[str],
    console: Console,
    timeout_s: float,
    about_live: Callable[[Alerts], tuple[Alerts, Alerts]] | None = None,
) -> list[str]:
    """Before the window opens: when an alert the suite expects a fault to raise is already firing
    (left by an earlier run: an OOM kill's alert holds for its rule's whole window), this run
    cannot see it fire; wait up to `timeout_s` for it to resolve, saying what is waited for and
    showing progress. An alert `about_live` (see `about_live_pods`) finds about a pod that is gone
    is named and not waited for. Returns what is still firing when the wait ends (empty: all
    clear); the run goes on either way, and alert_accuracy lists a firing carried into the window,
    never counts it. Raises EvidenceUnavailable when Prometheus does not answer."""
    names = frozenset(expected)
    if not names or timeout_s <= 0:
        return []
    said_gone: set[str] = set()

    def still_firing() -> list[str]:
        with PrometheusCollector(prometheus_url) as prometheus:
            alerts = [a for a in prometheus.firing_alerts() if a.get("alertname") in names]
        if about_live is not None and alerts:
            alerts, gone = about_live(alerts)
            new = sorted({_describe(a) for a in gone} - said_gone)
            if new:
                console.print(
                    f"not waited for, about a pod since replaced (the alert about its replacement "
                    f"would be a firing of its own): {', '.join(new)}"
                )
                said_gone.update(new)
        return sorted({_describe(a) for a in alerts})

    firing = still_firing()
    if not firing:
        return []
    console.print(
        f"waiting up to {timeout_s:g}s for expected alerts left firing by an earlier run to resolve "
        f"(a firing in progress would hide this run's own): {', '.join(firing)}"
    )
    started = time.monotonic()
    deadline = started + timeout_s
    reported = started
    last = firing
    while firing and time.monotonic() < deadline:
        time.sleep(min(ALERTS_POLL_S, max(0.05, deadline - time.monotonic())))
        try:
            firing = still_firing()
        except EvidenceUnavailable as unavailable:
            console.print(f"[yellow]! {unavailable.what}: asking again[/]")
            continue
        now = time.monotonic()
        if firing != last or (firing and now - reported >= ALERTS_REPORT_EVERY_S):
            shown = ", ".join(firing) if firing else "none"
            console.print(f"  {now - started:.0f}s of {timeout_s:g}s: still firing: {shown}")
            last, reported = firing, now
    if firing:
        console.print(
            f"[yellow]! still firing after {timeout_s:g}s: {', '.join(firing)}; this run cannot see "
            "them fire (alert_accuracy lists them as carried into the window, never counts them)[/]"
        )
    else:
        waited = time.monotonic() - started
        console.print(f"[green]✓[/] the expected alerts left firing resolved after {waited:.0f}s")
    return firing
