"""Injected faults: windows from chaos/faults.jsonl and runs from the Chaos Toolkit journals."""

from __future__ import annotations

from dataclasses import dataclass

from validator.model.window import TimeWindow

MEMORY_FAULT_WORDS = ("memory", "oom")
MAINTENANCE_FAULT_WORDS = ("drain", "maintenance", "cordon")

# What a fault does, from the action that injected it (the provider function the control records),
# else from its names: the evidence a criterion looks for to see that the fault took effect.
DRAIN = "drain"  # cordon + evict: planned maintenance, a voluntary disruption
EVICTION = "eviction"  # pods evicted through the eviction API: voluntary
MEMORY_PRESSURE = "memory-pressure"
NODE_FAILURE = "node-failure"  # nodes made NotReady: involuntary
POD_KILL = "pod-kill"  # pods deleted (a crash): involuntary, bypasses budgets
OTHER = "other"
ACTION_KINDS = {
    "drain_nodes": DRAIN,
    "cordon_nodes": DRAIN,
    "evict_pods": EVICTION,
    "apply_memory_pressure": MEMORY_PRESSURE,
    "fail_nodes": NODE_FAILURE,
    "delete_pods": POD_KILL,
    "kill_controllers": POD_KILL,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class FaultWindow:
    """One injection: `inject_start` to `inject_end`; `rollback_end` when the rollback finished."""

    fault: str
    experiment: str = ""
    activity: str = ""
    start: float
    end: float | None = None  # None: the injection never reported its end
    status: str = ""  # of the inject_end line: succeeded / failed
    error: str = ""  # of a failed inject_end line: why the injection failed (e.g. a drain's refusals)
    rollback_end: float | None = None
    targets: tuple[str, ...] = ()  # `pod/<ns>/<name>`, `node/<name>`, ... as the action reported them
    action: str = ""  # the provider function that injected it (`drain_nodes`, `evict_pods`, ...)
    mechanism: str = ""  # for faults with several (memory pressure: `sandbox`, `chaos-mesh`)
    # why this fault's results cannot be trusted as a pass: its steady state was not met before the
    # injection, its rollback failed, it was a dry run (from its journal and rollback lines)
    problems: tuple[str, ...] = ()
    # the end of the suite's `hold` step after the action (its journal's `hold-<activity>` entry): the
    # platform was kept under the fault until then, even when the action itself was over at once
    held_until: float | None = None

    @property
    def kind(self) -> str:
        """DRAIN, EVICTION, MEMORY_PRESSURE, NODE_FAILURE, POD_KILL or OTHER."""
        if self.action in ACTION_KINDS:
            return ACTION_KINDS[self.action]
        if self._named(MAINTENANCE_FAULT_WORDS):
            return DRAIN
        if self._named(MEMORY_FAULT_WORDS):
            return MEMORY_PRESSURE
        if self._named(("evict",)):
            return EVICTION
        if self._named(("node-fail", "node_fail", "not-ready", "notready")):
            return NODE_FAILURE
        if self._named(("kill", "controller-failure", "delete")):
            return POD_KILL
        return OTHER

    @property
    def pod_targets(self) -> tuple[str, ...]:
        """`namespace/name` of every pod the fault reported it touched."""
        return tuple(t.split("/", 1)[1] for t in self.targets if t.startswith("pod/") and t.count("/") == 2)

    @property
    def node_targets(self) -> tuple[str, ...]:
        return tuple(t.split("/", 1)[1] for t in self.targets if t.startswith("node/"))

    def targets_pod(self, key: str, node: str = "") -> bool:
        """Whether the pod `namespace/name` (running on `node`) is one of this fault's own targets."""
        return key in self.pod_targets or (bool(node) and node in self.node_targets)

    @property
    def window(self) -> TimeWindow | None:
        """While the platform was under the fault: from its injection to the end of the rollback
        that reverted it (a drain stays cordoned, memory pressure stays applied, until then), or of
        the suite's hold after it (an eviction is over at once, its aftermath is held); None when
        the injection never reported its end."""
        until = self.recovery_from
        if until is None:
            return None
        if self.held_until is not None:
            until = max(until, self.held_until)
        return TimeWindow(start=self.start, end=max(until, self.start))

    @property
    def recovery_from(self) -> float | None:
        """When recovery is timed from: the end of the fault, that is of the rollback that reverted
        it (uncordon, pressure removed), or of the injection when nothing had to be reverted (an
        eviction, a deleted pod)."""
        if self.end is None:
            return None
        if self.rollback_end is not None and self.rollback_end >= self.end:
            return self.rollback_end
        return self.end

    def _named(self, words: tuple[str, ...]) -> bool:
        text = f"{self.fault} {self.experiment} {self.activity}".lower()
        return any(w in text for w in words)

    @property
    def is_memory_pressure(self) -> bool:
        return self.kind == MEMORY_PRESSURE

    @property
    def is_maintenance(self) -> bool:
        """A planned-maintenance (voluntary disruption) fault: drain, cordon, maintenance."""
        return self.kind == DRAIN


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivityRun:
    name: str
    type: str = ""  # action / probe
    status: str = ""  # succeeded / failed
    start: float | None = None
    end: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChaosRun:
    """One Chaos Toolkit journal, judged from its run entries, not its top-level status."""

    experiment: str
    source: str  # the journal file
    fault: str = ""  # the fault name of its `validator` extension (what faults.jsonl calls it)
    actions: tuple[str, ...] = ()  # provider functions of its method's actions (what it injects)
    status: str = ""  # top-level status, kept for display only
    steady_state_before_met: bool | None = None
    activities: tuple[ActivityRun, ...] = ()
    rollbacks: tuple[ActivityRun, ...] = ()
    dry: bool = False

    @property
    def kind(self) -> str:
        return next((ACTION_KINDS[a] for a in self.actions if a in ACTION_KINDS), OTHER)

    @property
    def failed_activities(self) -> tuple[ActivityRun, ...]:
        return tuple(a for a in self.activities if a.status != "succeeded")

    @property
    def trustworthy(self) -> bool:
        """The steady state held before the method and every activity succeeded."""
        return self.steady_state_before_met is not False and not self.failed_activities and not self.dry


@dataclass(frozen=True, slots=True, kw_only=True)
class NotInjected:
    """An experiment whose journal shows that its fault was never injected, and why."""

    fault: str
    kind: str = OTHER
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChaosEvidence:
    faults: tuple[FaultWindow, ...] = ()
    runs: tuple[ChaosRun, ...] = ()
    partial: str = ""  # the record itself is incomplete (unreadable lines, faults.jsonl missing)
    # experiments that ran but injected nothing (steady state failed first, interrupted, dry):
    # a fault that never took effect tests nothing, so what depends on it is inconclusive
    not_injected: tuple[NotInjected, ...] = ()

    @property
    def maintenance(self) -> tuple[FaultWindow, ...]:
        return tuple(f for f in self.faults if f.is_maintenance)

    @property
    def memory_pressure(self) -> tuple[FaultWindow, ...]:
        return tuple(f for f in self.faults if f.is_memory_pressure)
