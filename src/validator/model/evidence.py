"""Everything one run has: the manifest and each evidence source, or why that source is absent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from validator.model.faults import ChaosEvidence
from validator.model.history import HistoryEvidence
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
class ManifestLoad:
    """The load a run drove (manifest.json `load`)."""

    profile: str = ""
    target: str = ""
    max_users: int = 0
    max_spawn_rate: float = 0.0
    duration_s: float = 0.0
    started: float | None = None  # epoch seconds the load started; None before it did
    held_s: float = 0.0  # seconds its profile stood still while faults overran their slots (run.md)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedFault:
    """An experiment of the suite and when it was due (seconds after the load's start)."""

    name: str
    experiment: str
    offset_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ExperimentRecord:
    """How one experiment went, as the run saw it (its journal has the detail)."""

    name: str
    experiment: str
    journal: str
    started: float
    ended: float | None = None
    status: str = ""  # Chaos Toolkit's status, or "rollback_failed"
    steady_state_before: bool | None = None
    steady_state_after: bool | None = None
    failed_actions: tuple[str, ...] = ()
    failed_rollbacks: tuple[str, ...] = ()
    error: str = ""  # why the rollback failed


@dataclass(frozen=True, slots=True, kw_only=True)
class RehearsalScope:
    """What a maintenance rehearsal drains: one node, or every node of a pool."""

    node: str = ""
    pool: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class RunManifest:
    """manifest.json: what the run was. The criteria read the first block; the rest records how the
    run went (written while it runs, `window_final` once the window has closed)."""

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
    # how the run went
    suite_file: str = ""
    window_final: bool = True
    timing: str = ""  # "sandbox" or "real": which of the suite's timings ran
    dry_run: bool = False
    load: ManifestLoad | None = None
    faults_planned: tuple[PlannedFault, ...] = ()
    rehearsal_target: RehearsalScope | None = None
    judge: tuple[str, ...] = ()
    experiments: tuple[ExperimentRecord, ...] = ()
    interrupted: tuple[str, ...] = ()  # the signals received
    aborted: str = ""  # why the run stopped itself (its suite's abort_on)
    kind: str = "run"  # "run" (validator run) or "check" (validator check)

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
    # earlier runs of the suite from the history store (loaded at the edge); None: no history found
    history: HistoryEvidence | None = None

    @property
    def window(self) -> TimeWindow:
        return self.manifest.window

    @property
    def run_id(self) -> str:
        return self.manifest.run_id

    def why_missing(self, source: SourceName) -> str:
        return self.missing.get(source, f"no {source.value} evidence in the run directory")
