"""Everything one run has: the manifest and each evidence source, or why that source is absent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from validator.model.faults import ChaosEvidence
from validator.model.k8s import K8sEvidence
from validator.model.label_selector import LabelSelector
from validator.model.load import LoadEvidence
from validator.model.metrics import MetricsEvidence
from validator.model.verdict import CriterionOverride
from validator.model.window import TimeWindow

DEFAULT_CONTROLLER_SELECTOR = "app.kubernetes.io/component=controller"


class SourceName(StrEnum):
    K8S = "k8s"  # evidence/k8s.jsonl
    METRICS = "metrics"  # evidence/metrics.json
    LOAD = "load"  # load/locust_stats_history.csv
    CHAOS = "chaos"  # chaos/faults.jsonl + chaos/journal*.json


@dataclass(frozen=True, slots=True, kw_only=True)
class RunManifest:
    run_id: str
    window: TimeWindow
    suite: str = ""
    context: str = ""
    namespaces: tuple[str, ...] = ()
    sandbox: bool = False
    # cluster seconds per second of the run's clock (30 in the sandbox's compressed runs): a rate
    # per evidence second divided by it is a rate per cluster second
    time_factor: float = 1.0
    agent_label: str = "app.kubernetes.io/name"
    controller_selector: LabelSelector = field(
        default_factory=lambda: LabelSelector.parse(DEFAULT_CONTROLLER_SELECTOR)
    )
    expected_alerts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    criteria: Mapping[str, CriterionOverride] = field(default_factory=dict)

    @property
    def agent_metric_label(self) -> str:
        """The agent label as kube-state-metrics exports it on kube_pod_labels."""
        return kube_state_label(self.agent_label)


def kube_state_label(key: str) -> str:
    """`app.kubernetes.io/name` -> `label_app_kubernetes_io_name` (kube-state-metrics' sanitising)."""
    return "label_" + "".join(c if c.isascii() and c.isalnum() else "_" for c in key)


@dataclass(frozen=True, slots=True, kw_only=True)
class Evidence:
    """A run's evidence. A source is None when absent, and `missing[source]` says why."""

    manifest: RunManifest
    k8s: K8sEvidence | None = None
    metrics: MetricsEvidence | None = None
    load: LoadEvidence | None = None
    chaos: ChaosEvidence | None = None
    missing: Mapping[SourceName, str] = field(default_factory=dict)

    @property
    def window(self) -> TimeWindow:
        return self.manifest.window

    @property
    def run_id(self) -> str:
        return self.manifest.run_id

    def why_missing(self, source: SourceName) -> str:
        return self.missing.get(source, f"no {source.value} evidence in the run directory")
