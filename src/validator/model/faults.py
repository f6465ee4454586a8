"""Injected faults: windows from chaos/faults.jsonl and runs from the Chaos Toolkit journals."""

from __future__ import annotations

from dataclasses import dataclass

from validator.model.window import TimeWindow

MEMORY_FAULT_WORDS = ("memory", "oom")
MAINTENANCE_FAULT_WORDS = ("drain", "maintenance", "cordon")


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
    targets: tuple[str, ...] = ()

    @property
    def window(self) -> TimeWindow | None:
        if self.end is None:
            return None
        return TimeWindow(start=self.start, end=max(self.end, self.start))

    @property
    def recovery_from(self) -> float | None:
        """When recovery is timed from: the end of the injection, or for a drain its rollback."""
        if self.is_maintenance and self.rollback_end is not None:
            return self.rollback_end
        return self.end

    def _named(self, words: tuple[str, ...]) -> bool:
        text = f"{self.fault} {self.experiment} {self.activity}".lower()
        return any(w in text for w in words)

    @property
    def is_memory_pressure(self) -> bool:
        return self._named(MEMORY_FAULT_WORDS)

    @property
    def is_maintenance(self) -> bool:
        """A planned-maintenance (voluntary disruption) fault: drain, cordon, maintenance."""
        return self._named(MAINTENANCE_FAULT_WORDS)


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
    status: str = ""  # top-level status, kept for display only
    steady_state_before_met: bool | None = None
    activities: tuple[ActivityRun, ...] = ()
    rollbacks: tuple[ActivityRun, ...] = ()
    dry: bool = False

    @property
    def failed_activities(self) -> tuple[ActivityRun, ...]:
        return tuple(a for a in self.activities if a.status != "succeeded")

    @property
    def trustworthy(self) -> bool:
        """The steady state held before the method and every activity succeeded."""
        return self.steady_state_before_met is not False and not self.failed_activities and not self.dry


@dataclass(frozen=True, slots=True, kw_only=True)
class ChaosEvidence:
    faults: tuple[FaultWindow, ...] = ()
    runs: tuple[ChaosRun, ...] = ()
    partial: str = ""

    @property
    def maintenance(self) -> tuple[FaultWindow, ...]:
        return tuple(f for f in self.faults if f.is_maintenance)

    @property
    def memory_pressure(self) -> tuple[FaultWindow, ...]:
        return tuple(f for f in self.faults if f.is_memory_pressure)
