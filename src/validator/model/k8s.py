"""What the Kubernetes recorder saw (evidence/k8s.jsonl), as typed snapshots.

Each watch line becomes a `WatchRecord`: when it was received, what happened (`ADDED`,
`MODIFIED`, `DELETED`, `RELIST`) and a typed view of the object's state at that moment
(`PodState`, `NodeState`, ...). `GAP` lines become `WatchGap`s: spans a criterion cannot see.
The object's own timestamps (container `finishedAt`, condition `lastTransitionTime`) are kept
beside the receipt time so criteria can prefer the object's clock.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field

from validator.model.label_selector import LabelSelector

# The kinds a platform runs its pods through: recovery, availability and drain checks judge these.
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
KINDS = (
    "Pod",
    "Node",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "Event",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContainerTermination:
    """One termination of one container, from `state.terminated` or `lastState.terminated`."""

    container: str
    reason: str
    exit_code: int | None
    finished_at: float | None  # the object's own time, epoch seconds
    restart_count: int

    @property
    def abnormal(self) -> bool:
        """An OOM kill, a crash or an error; not a container that finished its work (exit 0)."""
        if self.reason == "OOMKilled":
            return True
        if self.exit_code is not None:
            return self.exit_code != 0
        return self.reason not in ("", "Completed")


@dataclass(frozen=True, slots=True, kw_only=True)
class PodState:
    labels: Mapping[str, str] = field(default_factory=dict)
    node_name: str = ""
    phase: str = ""
    ready: bool = False
    deleting: bool = False
    owner_kind: str = ""
    owner_name: str = ""
    terminations: tuple[ContainerTermination, ...] = ()
    evicted_at: float | None = None  # DisruptionTarget condition with reason EvictionByEvictionAPI


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeState:
    unschedulable: bool = False
    ready: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkloadState:
    """A Deployment, StatefulSet or DaemonSet: how many pods it wants and how many are ready.

    For a DaemonSet `replicas` is `status.desiredNumberScheduled`, `ready_replicas` its
    `numberReady` and `available_replicas` its `numberAvailable`."""

    labels: Mapping[str, str] = field(default_factory=dict)
    pod_labels: Mapping[str, str] = field(default_factory=dict)  # spec.template.metadata.labels
    selector: LabelSelector = field(default_factory=LabelSelector.none)  # spec.selector
    replicas: int = 0  # desired
    ready_replicas: int = 0
    available_replicas: int = 0

    @property
    def ready(self) -> bool:
        """At its desired number of ready pods."""
        return self.ready_replicas >= self.replicas


@dataclass(frozen=True, slots=True, kw_only=True)
class DeploymentState(WorkloadState):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplicaSetState:
    labels: Mapping[str, str] = field(default_factory=dict)
    owner_name: str = ""  # the Deployment that owns it
    owner_kind: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class StatefulSetState(WorkloadState):
    """A StatefulSet (the platform's agents are StatefulSets). Its pod template's labels name the
    agent type even when the controller could never create a pod."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonSetState(WorkloadState):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class HpaMetric:
    """One metric of an HPA: its current value against its target, in the same unit."""

    name: str
    current: float | None
    target: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class HpaState:
    min_replicas: int = 1
    max_replicas: int = 0
    current_replicas: int = 0
    desired_replicas: int = 0
    metrics: tuple[HpaMetric, ...] = ()

    @property
    def above_target(self) -> bool | None:
        """True when any metric's current value exceeds its target; None when none is known."""
        return self.above(0.0)

    def above(self, tolerance: float) -> bool | None:
        """Whether a metric exceeds its target by more than `tolerance` (the HPA's dead band, 0.1 by
        default); None when no metric has both a current value and a target."""
        if not any(m.current is not None and m.target is not None for m in self.metrics):
            return None
        return bool(self.metrics_above(tolerance))

    def metrics_above(self, tolerance: float) -> tuple[HpaMetric, ...]:
        """The metrics whose current value exceeds target x (1 + tolerance)."""
        return tuple(
            m
            for m in self.metrics
            if m.current is not None and m.target is not None and m.current > m.target * (1 + tolerance)
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PdbState:
    # spec.selector; a budget without one selects no pod (policy/v1), an empty one every pod
    selector: LabelSelector = field(default_factory=LabelSelector.none)
    min_available: str = ""  # as written (int or percentage), for advice
    max_unavailable: str = ""
    current_healthy: int = 0
    desired_healthy: int = 0
    disruptions_allowed: int = 0
    expected_pods: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class EventState:
    reason: str = ""
    message: str = ""
    type: str = ""  # Normal / Warning
    involved_kind: str = ""
    involved_name: str = ""
    involved_namespace: str = ""
    time: float | None = None  # eventTime, lastTimestamp or firstTimestamp


ObjectState = PodState | NodeState | WorkloadState | ReplicaSetState | HpaState | PdbState | EventState


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchRecord:
    received_ms: int
    kind: str
    type: str  # ADDED, MODIFIED, DELETED, RELIST
    namespace: str
    name: str
    uid: str = ""
    resource_version: str = ""
    state: ObjectState | None = None

    @property
    def received(self) -> float:
        return self.received_ms / 1000.0

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchGap:
    kind: str
    from_ms: int
    to_ms: int
    reason: str
    namespace: str = ""  # empty: cluster-wide, or every namespace of the kind
    # True when a relist closed the gap: the objects that still existed then were listed after it
    # (an Event keeps its own timestamps, so one created in the gap is still timed), but changes
    # in between collapsed into the last state and objects created and deleted inside it are lost.
    relist: bool = False

    @property
    def duration(self) -> float:
        return max(0, self.to_ms - self.from_ms) / 1000.0


@dataclass(frozen=True, slots=True, kw_only=True)
class K8sEvidence:
    """What the recorder saw, folded per object: for each kind, each object's (`namespace/name`)
    state changes in receipt order. Consecutive lines of one object with the same typed state (the
    fields the criteria read) collapse into the first, so the evidence grows with the objects and
    their changes, not with the lines. `partial` says why some of it may be missing.

    Build it with `K8sEvidence.from_records` (or `WatchFold`, one record at a time)."""

    objects: Mapping[str, Mapping[str, tuple[WatchRecord, ...]]] = field(default_factory=dict)
    gaps: tuple[WatchGap, ...] = ()
    partial: str = ""  # empty when the file was read whole
    # received_ms of the last whole line when the file ends in a truncated line (the recorder crashed):
    # nothing after it was seen.
    cut_off_ms: int | None = None
    lines: int = 0  # the watch lines folded in (before collapsing)
    # of_kind's answers, kept: several criteria and the report each read every pod record in order
    _in_order: dict[str, tuple[WatchRecord, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    # read-only views derived from `objects` by the criteria (watch_timeline's timelines), kept for
    # the next criterion that asks for the same one
    derived: dict[Hashable, object] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def from_records(
        cls,
        records: Iterable[WatchRecord],
        *,
        gaps: Iterable[WatchGap] = (),
        partial: str = "",
        cut_off_ms: int | None = None,
    ) -> K8sEvidence:
        fold = WatchFold()
        for record in records:
            fold.add(record)
        return fold.evidence(gaps=tuple(gaps), partial=partial, cut_off_ms=cut_off_ms)

    def changes(self, kind: str) -> Mapping[str, tuple[WatchRecord, ...]]:
        """Per object key, its state changes in receipt order (a DELETED record ends a life)."""
        return self.objects.get(kind, {})

    def of_kind(self, kind: str) -> tuple[WatchRecord, ...]:
        """Every kept record of `kind`, in receipt order."""
        found = self._in_order.get(kind)
        if found is None:
            found = tuple(sorted((r for line in self.changes(kind).values() for r in line), key=_received_ms))
            self._in_order[kind] = found
        return found

    @property
    def records(self) -> tuple[WatchRecord, ...]:
        """Every kept record, in receipt order."""
        return tuple(sorted((r for kind in self.objects for r in self.of_kind(kind)), key=_received_ms))

    def first_received_ms(self, kind: str) -> int | None:
        """When the recorder first saw an object of `kind` (None: never)."""
        return min((line[0].received_ms for line in self.changes(kind).values() if line), default=None)

    def gaps_of(self, kind: str) -> tuple[WatchGap, ...]:
        return tuple(g for g in self.gaps if g.kind == kind)

    def kind_seen(self, kind: str) -> bool:
        return any(self.changes(kind).values())


def _received_ms(record: WatchRecord) -> int:
    return record.received_ms


class WatchFold:
    """Folds watch records, one at a time, into `K8sEvidence`: each object's records kept in
    receipt order, a record whose state equals the object's previous one (same uid, neither a
    deletion) dropped. Memory grows with objects and their changes, never with repeated lines.
    Records of one object that arrive out of receipt order are sorted (stably) and collapsed at the
    end, so the result is the same whatever order the lines came in."""

    __slots__ = ("_count", "_lines", "_unsorted")

    def __init__(self) -> None:
        self._lines: dict[str, dict[str, list[WatchRecord]]] = {}
        self._unsorted: set[tuple[str, str]] = set()
        self._count = 0

    def add(self, record: WatchRecord) -> None:
        self._count += 1
        by_key = self._lines.get(record.kind)
        if by_key is None:
            by_key = self._lines[record.kind] = {}
        key = record.key
        line = by_key.get(key)
        if line is None:
            by_key[key] = [record]
            return
        last = line[-1]
        if record.received_ms < last.received_ms:
            self._unsorted.add((record.kind, key))
        elif _same(last, record):
            return
        line.append(record)

    def evidence(
        self, *, gaps: tuple[WatchGap, ...] = (), partial: str = "", cut_off_ms: int | None = None
    ) -> K8sEvidence:
        for kind, key in self._unsorted:
            line = sorted(self._lines[kind][key], key=_received_ms)
            kept = [line[0]]
            for record in line[1:]:
                if not _same(kept[-1], record):
                    kept.append(record)
            self._lines[kind][key] = kept
        return K8sEvidence(
            objects={kind: _frozen(by_key) for kind, by_key in self._lines.items()},
            gaps=gaps,
            partial=partial,
            cut_off_ms=cut_off_ms,
            lines=self._count,
        )


def _frozen(by_key: dict[str, list[WatchRecord]]) -> dict[str, tuple[WatchRecord, ...]]:
    return {key: tuple(line) for key, line in by_key.items()}


def _same(before: WatchRecord, after: WatchRecord) -> bool:
    """`after` tells nothing `before` did not: the same object in the same state."""
    return (
        after.type != "DELETED"
        and before.type != "DELETED"
        and after.state is not None
        and after.uid == before.uid
        and after.state == before.state
    )
