"""Read-only probes for steady-state hypotheses: budgets, HPAs, Deployments, Prometheus."""

from __future__ import annotations

import os
import time
from typing import Any

from chaoslib.exceptions import ActivityFailed

from validator.chaos.targets import is_ready, is_terminating
from validator.safety.session import mutator_for

Configuration = dict[str, Any] | None
Secrets = dict[str, Any] | None


def hold(seconds: float, configuration: Configuration = None, secrets: Secrets = None) -> dict[str, float]:
    """Keep the fault in place under load for `seconds` (the suite's `hold`): a step of its own, after
    the action, so the action's end line marks when the injection itself ended. A drain stays
    cordoned, memory pressure stays applied, until the rollbacks; an eviction is over at once."""
    deadline = time.monotonic() + float(seconds)
    while (left := deadline - time.monotonic()) > 0:
        time.sleep(min(0.25, left))  # short steps: a signal lands promptly
    return {"held_s": float(seconds)}


def pdb_disruptions_allowed(namespace: str, name: str, configuration: Configuration = None,
                            secrets: Secrets = None) -> int:
    """The budget's `status.disruptionsAllowed`."""
    from kubernetes import client

    pdb = client.PolicyV1Api(mutator_for(configuration).guard.api).read_namespaced_pod_disruption_budget(
        name, namespace)
    return int((pdb.status.disruptions_allowed if pdb.status else 0) or 0)


def labels_of(obj: dict[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def hpa_replicas(namespace: str, name: str, configuration: Configuration = None,
                 secrets: Secrets = None) -> dict[str, int]:
    """`{"desired": ..., "current": ..., "min": ..., "max": ...}` of a HorizontalPodAutoscaler."""
    from kubernetes import client

    hpa = client.AutoscalingV2Api(mutator_for(configuration).guard.api) \
        .read_namespaced_horizontal_pod_autoscaler(name, namespace)
    status, spec = hpa.status, hpa.spec
    return {
        "desired": int((status.desired_replicas if status else 0) or 0),
        "current": int((status.current_replicas if status else 0) or 0),
        "min": int((spec.min_replicas if spec else 1) or 1),
        "max": int(spec.max_replicas if spec else 0),
    }


def hpa_settled(namespace: str, name: str, configuration: Configuration = None,
                secrets: Secrets = None) -> bool:
    """The HPA's current replicas equal its desired replicas."""
    r = hpa_replicas(namespace, name, configuration)
    return r["desired"] == r["current"] and r["desired"] > 0


def deployments_available(namespace: str, label_selector: str = "", configuration: Configuration = None,
                          secrets: Secrets = None) -> bool:
    """Every matching Deployment and StatefulSet has all its desired replicas available (and at least
    one matches). StatefulSets count too: the reference platform runs its agents as StatefulSets."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    mutator = mutator_for(configuration)
    apps = client.AppsV1Api(mutator.guard.api)
    selector = label_selector or None
    items = list(apps.list_namespaced_deployment(namespace, label_selector=selector).items)
    try:
        items += list(apps.list_namespaced_stateful_set(namespace, label_selector=selector).items)
    except ApiException as exc:
        if exc.status != 403:  # an identity without `list statefulsets` still judges its Deployments
            raise
    if not items:
        return False
    pods = [mutator.to_dict(p) for p in mutator.core().list_namespaced_pod(namespace).items]
    for dep in items:
        want = int((dep.spec.replicas if dep.spec else 1) or 0)
        status = dep.status
        have = int((getattr(status, "available_replicas", None) if status else 0) or 0)
        if have < want:
            return False
        # the status lags behind evictions and deletions: count the Ready pods themselves too
        match = (dep.spec.selector.match_labels if dep.spec and dep.spec.selector else None) or {}
        ready = [p for p in pods if is_ready(p) and not is_terminating(p)
                 and all(labels_of(p).get(k) == v for k, v in match.items())]
        if len(ready) < want:
            return False
    return True


def prometheus_query_value(query: str, url: str = "", configuration: Configuration = None,
                           secrets: Secrets = None) -> float:
    """The value of an instant query returning one sample; no data is an error, never 0."""
    import requests

    base = url or os.environ.get("VALIDATOR_PROMETHEUS_URL") or \
        str((configuration or {}).get("validator_prometheus_url") or "")
    if not base:
        raise ActivityFailed("no Prometheus URL: set VALIDATOR_PROMETHEUS_URL or validator_prometheus_url")
    try:
        response = requests.get(f"{base.rstrip('/')}/api/v1/query", params={"query": query}, timeout=10)
        response.raise_for_status()
        data = response.json()["data"]
    except (requests.RequestException, ValueError, KeyError) as exc:
        raise ActivityFailed(f"Prometheus query failed ({type(exc).__name__}): {query}") from None
    result = data.get("result") or []
    if data.get("resultType") == "scalar":
        return float(result[1])
    if not result:
        raise ActivityFailed(f"Prometheus returned no data for {query!r} (no data is not 0)")
    return max(float(series["value"][1]) for series in result)


def prometheus_query_below(query: str, threshold: float, url: str = "", configuration: Configuration = None,
                           secrets: Secrets = None) -> bool:
    """The query's value (the largest series when several) is below `threshold`."""
    return prometheus_query_value(query, url, configuration) < float(threshold)


# How long `deployments_available` must hold before a wait believes it: right after pods are killed
# the status and the pod list disagree for a moment in either direction (kwok makes a replacement
# Ready within a second, while the controllers' status still counts the old pod, or already drops
# to 0 before it counts the new one). Judged once, such a moment made the method's wait return at
# once and the steady-state probe after it, a second later, fail.
SETTLED_S = 3.0


def wait_for_deployments_available(namespace: str, label_selector: str = "", timeout_s: float = 60.0,
                                   configuration: Configuration = None, secrets: Secrets = None,
                                   settled_s: float = SETTLED_S) -> bool:
    """Poll `deployments_available` until it has held for `settled_s` on every check, or `timeout_s`
    passes (False)."""
    import time

    deadline = time.monotonic() + float(timeout_s)
    held_since: float | None = None
    while True:
        now = time.monotonic()
        if deployments_available(namespace, label_selector, configuration):
            held_since = now if held_since is None else held_since
            if now - held_since >= settled_s:
                return True
        else:
            held_since = None
        if now >= deadline:
            return False
        time.sleep(1.0)
