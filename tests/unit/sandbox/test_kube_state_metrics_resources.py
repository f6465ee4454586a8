"""The sandbox's kube-state-metrics watches only the kinds the product reads. Every `kube_<kind>_*`
series a criterion's query, an alert rule or the simulated platform names must come from a kind it
watches: a kind left out would leave that query without data on the sandbox."""

from __future__ import annotations

import re
from pathlib import Path

from validator.sandbox.lifecycle import KUBE_STATE_METRICS_RESOURCES

SRC = Path(__file__).resolve().parents[3] / "src" / "validator"
# kube-state-metrics' default kinds (its --resources default), by the singular its series begin with
DEFAULT_KINDS = {
    "certificatesigningrequest": "certificatesigningrequests",
    "configmap": "configmaps",
    "cronjob": "cronjobs",
    "daemonset": "daemonsets",
    "deployment": "deployments",
    "endpointslice": "endpointslices",
    "horizontalpodautoscaler": "horizontalpodautoscalers",
    "ingress": "ingresses",
    "job": "jobs",
    "lease": "leases",
    "limitrange": "limitranges",
    "mutatingwebhookconfiguration": "mutatingwebhookconfigurations",
    "namespace": "namespaces",
    "networkpolicy": "networkpolicies",
    "node": "nodes",
    "persistentvolumeclaim": "persistentvolumeclaims",
    "persistentvolume": "persistentvolumes",
    "poddisruptionbudget": "poddisruptionbudgets",
    "pod": "pods",
    "replicaset": "replicasets",
    "replicationcontroller": "replicationcontrollers",
    "resourcequota": "resourcequotas",
    "secret": "secrets",
    "service": "services",
    "statefulset": "statefulsets",
    "storageclass": "storageclasses",
    "validatingwebhookconfiguration": "validatingwebhookconfigurations",
    "volumeattachment": "volumeattachments",
}


def _series_named_in_the_product() -> set[str]:
    names: set[str] = set()
    for path in SRC.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".yaml", ".yml", ".json"):
            names.update(re.findall(r"\bkube_[a-z_]+", path.read_text(errors="replace")))
    return names


def _kind(series: str) -> str | None:
    rest = series.removeprefix("kube_")
    kinds = [k for k in DEFAULT_KINDS if rest == k or rest.startswith(k + "_")]
    return DEFAULT_KINDS[max(kinds, key=len)] if kinds else None


def test_every_kube_state_metrics_series_the_product_reads_comes_from_a_watched_kind() -> None:
    read = {s: _kind(s) for s in _series_named_in_the_product()}
    kinds_read = {k for k in read.values() if k}
    assert {"pods", "nodes", "resourcequotas", "horizontalpodautoscalers"} <= kinds_read  # the scan works
    missing = sorted(f"{s} ({k})" for s, k in read.items() if k and k not in KUBE_STATE_METRICS_RESOURCES)
    assert not missing, f"add these kinds to lifecycle.KUBE_STATE_METRICS_RESOURCES: {missing}"


def test_the_kinds_nothing_reads_are_left_out() -> None:
    assert set(KUBE_STATE_METRICS_RESOURCES) <= set(DEFAULT_KINDS.values())
    assert "leases" not in KUBE_STATE_METRICS_RESOURCES  # renewed every few seconds per node
    assert "persistentvolumes" not in KUBE_STATE_METRICS_RESOURCES  # one per workspace
