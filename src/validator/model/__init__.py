"""Frozen evidence records and verdict types: what a run saw, and what the criteria concluded.

Everything here is immutable and free of IO. Loaders (`validator.run_directory`) build
these records from a run directory; criteria read them; reports render them.
"""

from validator.model.evidence import (
    DEFAULT_CONTROLLER_SELECTOR,
    Evidence,
    ExperimentRecord,
    ManifestLoad,
    PlannedFault,
    RehearsalScope,
    RunManifest,
    SourceName,
    kube_state_label,
)
from validator.model.faults import ActivityRun, ChaosEvidence, ChaosRun, FaultWindow, NotInjected
from validator.model.history import BaselineSource, HistoryEvidence, Measure, Night
from validator.model.k8s import (
    WORKLOAD_KINDS,
    ContainerTermination,
    DaemonSetState,
    DeploymentState,
    EventState,
    HpaMetric,
    HpaState,
    K8sEvidence,
    NodeState,
    PdbState,
    PodState,
    ReplicaSetState,
    StatefulSetState,
    WatchGap,
    WatchRecord,
    WorkloadState,
)
from validator.model.label_selector import LabelSelector
from validator.model.load import LoadEvidence, LoadFailure, LoadSample
from validator.model.metrics import MetricsEvidence, QueryResult, QueryStatus, Series
from validator.model.verdict import (
    Compressed,
    CriterionOutcome,
    CriterionOverride,
    CriterionSpec,
    NotEvaluated,
    Result,
    Summary,
    Verdict,
    worst,
)
from validator.model.window import TimeWindow, format_rfc3339, parse_rfc3339

__all__ = [
    "DEFAULT_CONTROLLER_SELECTOR",
    "WORKLOAD_KINDS",
    "ActivityRun",
    "BaselineSource",
    "ChaosEvidence",
    "ChaosRun",
    "Compressed",
    "ContainerTermination",
    "CriterionOutcome",
    "CriterionOverride",
    "CriterionSpec",
    "DaemonSetState",
    "DeploymentState",
    "EventState",
    "Evidence",
    "ExperimentRecord",
    "FaultWindow",
    "HistoryEvidence",
    "HpaMetric",
    "HpaState",
    "K8sEvidence",
    "LabelSelector",
    "LoadEvidence",
    "LoadFailure",
    "LoadSample",
    "ManifestLoad",
    "Measure",
    "MetricsEvidence",
    "Night",
    "NodeState",
    "NotEvaluated",
    "NotInjected",
    "PdbState",
    "PlannedFault",
    "PodState",
    "QueryResult",
    "QueryStatus",
    "RehearsalScope",
    "ReplicaSetState",
    "Result",
    "RunManifest",
    "Series",
    "SourceName",
    "StatefulSetState",
    "Summary",
    "TimeWindow",
    "Verdict",
    "WatchGap",
    "WatchRecord",
    "WorkloadState",
    "format_rfc3339",
    "kube_state_label",
    "parse_rfc3339",
    "worst",
]
