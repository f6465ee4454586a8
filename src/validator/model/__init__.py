"""Frozen evidence records and verdict types: what a run saw, and what the criteria concluded.

Everything here is immutable and free of IO. Loaders (`validator.collect.evidence_files`) build
these records from a run directory; criteria read them; reports render them.
"""

from validator.model.evidence import Evidence, RunManifest, SourceName, kube_state_label
from validator.model.faults import ActivityRun, ChaosEvidence, ChaosRun, FaultWindow
from validator.model.k8s import (
    ContainerTermination,
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
)
from validator.model.load import LoadEvidence, LoadSample
from validator.model.metrics import MetricsEvidence, QueryResult, QueryStatus, Series
from validator.model.verdict import (
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
    "ActivityRun",
    "ChaosEvidence",
    "ChaosRun",
    "ContainerTermination",
    "CriterionOutcome",
    "CriterionOverride",
    "CriterionSpec",
    "DeploymentState",
    "EventState",
    "Evidence",
    "FaultWindow",
    "HpaMetric",
    "HpaState",
    "K8sEvidence",
    "LoadEvidence",
    "LoadSample",
    "MetricsEvidence",
    "NodeState",
    "NotEvaluated",
    "PdbState",
    "PodState",
    "QueryResult",
    "QueryStatus",
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
    "format_rfc3339",
    "kube_state_label",
    "parse_rfc3339",
    "worst",
]
