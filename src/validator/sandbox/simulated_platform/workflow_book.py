"""The simulated platform's workflows: the queue, each workflow's stages, and the counters behind
/metrics. Thread-safe, no IO: the HTTP handlers and the cluster driver both call into one book."""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from validator.sandbox.simulated_platform.exposition import Histogram, MetricFamily, render

AGENT_CLASS = {"rex": "implementation", "blaze": "implementation", "cleo": "quality", "tess": "testing"}
STAGE_ORDER = ("implementation", "quality", "testing")
MAX_STAGE_SECONDS = 7 * 24 * 3600.0

# Used when a submission names only its size: real-cluster seconds per stage (implementation,
# quality, testing), the middle of loadprofiles/workflow_mix.py's ranges.
DEFAULT_STAGE_SECONDS = {
    "single-file-change": (600.0, 210.0, 450.0),
    "multi-file-feature": (1950.0, 450.0, 1350.0),
    "service-refactor": (5400.0, 900.0, 2700.0),
    "multi-service-refactor": (16200.0, 1800.0, 5400.0),
}
DISPATCH_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
MAX_STAGE_ATTEMPTS = 3

State = Literal["queued", "running", "completed", "failed"]


class SubmissionInvalid(ValueError):
    """The body of POST /workflows cannot be used; the message says which field and why."""


class QueueFull(RuntimeError):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class Stage:
    agent: str
    agent_class: str
    duration_s: float  # real-cluster seconds, as submitted; the driver compresses them


@dataclass(slots=True, kw_only=True)
class Workflow:
    id: str
    size: str
    stages: tuple[Stage, ...]
    submitted_at: float
    state: State = "queued"
    stage_index: int = -1  # the stage whose pod exists now; -1 while queued
    attempt: int = 0  # of the current stage, from 1
    pod: str = ""  # name of the current stage's pod
    pod_running: bool = False
    dispatched_at: float | None = None
    finished_at: float | None = None
    reason: str = ""
    history: list[dict[str, Any]] = field(default_factory=list)

    def snapshot(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "size": self.size,
            "state": self.state,
            "stages": [
                {"agent": s.agent, "agent_class": s.agent_class, "duration_s": s.duration_s}
                for s in self.stages
            ],
            "stage_index": self.stage_index,
            "attempt": self.attempt,
            "pod": self.pod,
            "submitted_at": self.submitted_at,
            "dispatched_at": self.dispatched_at,
            "finished_at": self.finished_at,
            "reason": self.reason,
            "history": list(self.history),
        }


def parse_submission(body: Any) -> tuple[str, tuple[Stage, ...]]:
    """The size and stages of a submission body: {"size": ..., "stages": [{"agent", "duration_s"}, ...]}.
    Stages, when given, are one implementation agent (rex or blaze), then cleo, then tess."""
    if not isinstance(body, dict):
        raise SubmissionInvalid('the body must be a JSON object like {"size": "single-file-change"}')
    size = body.get("size")
    if not isinstance(size, str) or not size:
        raise SubmissionInvalid("field 'size' must be a non-empty string")
    raw_stages = body.get("stages")
    if raw_stages is None:
        if size not in DEFAULT_STAGE_SECONDS:
            raise SubmissionInvalid(
                f"size {size!r} has no default stages; give 'stages' or one of "
                f"{sorted(DEFAULT_STAGE_SECONDS)}"
            )
        impl, quality, testing = DEFAULT_STAGE_SECONDS[size]
        agent = "rex" if secrets.randbits(1) else "blaze"
        return size, (
            Stage(agent=agent, agent_class="implementation", duration_s=impl),
            Stage(agent="cleo", agent_class="quality", duration_s=quality),
            Stage(agent="tess", agent_class="testing", duration_s=testing),
        )
    if not isinstance(raw_stages, list) or len(raw_stages) != len(STAGE_ORDER):
        raise SubmissionInvalid("field 'stages' must list 3 stages: rex or blaze, then cleo, then tess")
    stages = []
    for index, (raw, expected) in enumerate(zip(raw_stages, STAGE_ORDER, strict=True)):
        if not isinstance(raw, dict):
            raise SubmissionInvalid(f'stages[{index}] must be an object {{"agent", "duration_s"}}')
        stage_agent = raw.get("agent")
        if not isinstance(stage_agent, str) or AGENT_CLASS.get(stage_agent) != expected:
            allowed = [a for a, c in AGENT_CLASS.items() if c == expected]
            raise SubmissionInvalid(
                f"stages[{index}].agent must be one of {allowed} (the {expected} stage), got {stage_agent!r}"
            )
        duration = raw.get("duration_s")
        if (
            not isinstance(duration, int | float)
            or isinstance(duration, bool)
            or not 0 < duration <= MAX_STAGE_SECONDS
        ):
            raise SubmissionInvalid(
                f"stages[{index}].duration_s must be a number of seconds in "
                f"(0, {MAX_STAGE_SECONDS:g}], got {duration!r}"
            )
        stages.append(Stage(agent=stage_agent, agent_class=expected, duration_s=float(duration)))
    return size, tuple(stages)


class WorkflowBook:
    """Every workflow the platform knows, its queue, and the series of /metrics."""

    def __init__(
        self, *, capacity: int, clock: Callable[[], float] = time.time, retain_finished: int = 5000
    ) -> None:
        if capacity <= 0:
            raise ValueError(f"queue capacity must be > 0, got {capacity}")
        self.capacity = capacity
        self._clock = clock
        self._lock = threading.Lock()
        self._queue: deque[str] = deque()
        self._workflows: dict[str, Workflow] = {}
        self._finished: deque[str] = deque()
        self._retain_finished = retain_finished
        self._ids = itertools.count(1)
        self._prefix = secrets.token_hex(3)
        self.submitted = 0
        self.completed = 0
        self.failed = 0
        self.rejected: dict[str, int] = {"queue_full": 0, "invalid": 0, "unavailable": 0}
        self.stage_retries = 0
        self.stages_overdue = 0
        self.pod_create_errors: dict[str, int] = {}
        self.ready_replicas = 0
        self.dispatch_latency = Histogram(DISPATCH_BUCKETS)
        self.accepting = True

    # ------------------------------------------------------------------ submissions
    def submit(self, size: str, stages: tuple[Stage, ...]) -> Workflow:
        with self._lock:
            if len(self._queue) >= self.capacity:
                self.rejected["queue_full"] += 1
                raise QueueFull(f"the queue holds {len(self._queue)} workflows (capacity {self.capacity})")
            wf = Workflow(
                id=f"wf-{self._prefix}-{next(self._ids):06d}",
                size=size,
                stages=stages,
                submitted_at=self._clock(),
            )
            self._workflows[wf.id] = wf
            self._queue.append(wf.id)
            self.submitted += 1
            return wf

    def set_capacity(self, capacity: int) -> None:
        """The queue's limit from now on (the controller's configuration); queued work stays."""
        if capacity <= 0:
            raise ValueError(f"queue capacity must be > 0, got {capacity}")
        with self._lock:
            self.capacity = capacity

    def reject(self, reason: str) -> None:
        with self._lock:
            self.rejected[reason] = self.rejected.get(reason, 0) + 1

    def get(self, workflow_id: str) -> dict[str, Any] | None:
        with self._lock:
            wf = self._workflows.get(workflow_id)
            return wf.snapshot() if wf else None

    def queue_depth(self) -> int:
        with self._lock:
            return len(self._queue)

    # ------------------------------------------------------------------ dispatch and stages
    def take_next(self) -> Workflow | None:
        """The oldest queued workflow, now dispatched (its first stage is about to get a pod)."""
        with self._lock:
            if not self._queue:
                return None
            wf = self._workflows[self._queue.popleft()]
            now = self._clock()
            wf.state, wf.dispatched_at, wf.stage_index, wf.attempt = "running", now, 0, 0
            self.dispatch_latency.observe(now - wf.submitted_at)
            return wf

    def workflow(self, workflow_id: str) -> Workflow | None:
        with self._lock:
            return self._workflows.get(workflow_id)

    def pod_created(self, workflow_id: str, stage_index: int, pod: str) -> None:
        with self._lock:
            wf = self._workflows[workflow_id]
            wf.attempt += 1
            wf.pod, wf.pod_running = pod, False
            wf.history.append(
                {
                    "stage": stage_index,
                    "agent": wf.stages[stage_index].agent,
                    "pod": pod,
                    "attempt": wf.attempt,
                    "created_at": self._clock(),
                }
            )

    def stage_overdue(self) -> None:
        with self._lock:
            self.stages_overdue += 1

    def pod_create_failed(self, reason: str) -> None:
        with self._lock:
            self.pod_create_errors[reason] = self.pod_create_errors.get(reason, 0) + 1

    def pod_running(self, workflow_id: str, pod: str) -> None:
        with self._lock:
            wf = self._workflows.get(workflow_id)
            if wf and wf.pod == pod:
                wf.pod_running = True

    def stage_succeeded(self, workflow_id: str, pod: str) -> int | None:
        """The index of the next stage to start, or None (workflow completed, or an old pod)."""
        with self._lock:
            wf = self._workflows.get(workflow_id)
            if wf is None or wf.state != "running" or wf.pod != pod:
                return None
            wf.history[-1]["succeeded_at"] = self._clock()
            if wf.stage_index + 1 < len(wf.stages):
                wf.stage_index += 1
                wf.attempt, wf.pod, wf.pod_running = 0, "", False
                return wf.stage_index
            self._finish(wf, "completed", "")
            return None

    def stage_lost(self, workflow_id: str, pod: str, reason: str) -> int | None:
        """The stage's pod failed or vanished: the stage index to retry, or None (gave up / old pod)."""
        with self._lock:
            wf = self._workflows.get(workflow_id)
            if wf is None or wf.state != "running" or wf.pod != pod:
                return None
            wf.history[-1]["lost"] = reason
            if wf.attempt >= MAX_STAGE_ATTEMPTS:
                self._finish(
                    wf,
                    "failed",
                    f"stage {wf.stage_index} ({wf.stages[wf.stage_index].agent}) "
                    f"lost {wf.attempt} pods, last: {reason}",
                )
                return None
            self.stage_retries += 1
            wf.pod, wf.pod_running = "", False
            return wf.stage_index

    def fail(self, workflow_id: str, reason: str) -> None:
        with self._lock:
            wf = self._workflows.get(workflow_id)
            if wf is not None and wf.state in ("queued", "running"):
                self._finish(wf, "failed", reason)

    def complete_without_pods(self, workflow_id: str) -> None:
        """No-Kubernetes mode: a dispatched workflow is done at once (the API and queue alone)."""
        with self._lock:
            wf = self._workflows.get(workflow_id)
            if wf is not None and wf.state == "running":
                self._finish(wf, "completed", "")

    def _finish(self, wf: Workflow, state: State, reason: str) -> None:
        wf.state, wf.reason, wf.finished_at = state, reason, self._clock()
        wf.pod_running = False
        if state == "completed":
            self.completed += 1
        else:
            self.failed += 1
        self._finished.append(wf.id)
        while len(self._finished) > self._retain_finished:
            self._workflows.pop(self._finished.popleft(), None)

    def running(self) -> list[Workflow]:
        with self._lock:
            return [wf for wf in self._workflows.values() if wf.state == "running"]

    # ------------------------------------------------------------------ metrics
    def metrics_text(self) -> str:
        with self._lock:
            in_flight: dict[tuple[str, str, str], int] = {}
            for wf in self._workflows.values():
                if wf.state != "running" or wf.stage_index < 0:
                    continue
                stage = wf.stages[wf.stage_index]
                # waiting: no pod yet (e.g. the namespace's quota is full); pending: not Running yet
                phase = "running" if wf.pod_running else ("pending" if wf.pod else "waiting")
                key = (stage.agent_class, stage.agent, phase)
                in_flight[key] = in_flight.get(key, 0) + 1
            families = [
                MetricFamily(
                    "workflow_queue_depth",
                    "gauge",
                    "Workflows waiting for a controller to dispatch them.",
                    [({}, float(len(self._queue)))],
                ),
                MetricFamily(
                    "workflow_queue_capacity",
                    "gauge",
                    "Workflows the queue holds before it answers 429.",
                    [({}, float(self.capacity))],
                ),
                MetricFamily(
                    "workflow_submitted_total",
                    "counter",
                    "Workflows accepted (202).",
                    [({}, float(self.submitted))],
                ),
                MetricFamily(
                    "workflow_completed_total",
                    "counter",
                    "Workflows whose last stage succeeded.",
                    [({}, float(self.completed))],
                ),
                MetricFamily(
                    "workflow_failed_total",
                    "counter",
                    "Workflows given up after repeated pod losses.",
                    [({}, float(self.failed))],
                ),
                MetricFamily(
                    "workflow_rejected_total",
                    "counter",
                    "Submissions refused, by reason.",
                    [({"reason": r}, float(n)) for r, n in sorted(self.rejected.items())],
                ),
                MetricFamily(
                    "workflow_stage_retries_total",
                    "counter",
                    "Stage pods recreated after a failure, eviction or deletion.",
                    [({}, float(self.stage_retries))],
                ),
                MetricFamily(
                    "workflow_stage_overdue_total",
                    "counter",
                    "Stage pods deleted for running far past their duration (then retried).",
                    [({}, float(self.stages_overdue))],
                ),
                MetricFamily(
                    "workflow_pod_create_errors_total",
                    "counter",
                    "Agent pod creations the API refused, by reason.",
                    [({"reason": r}, float(n)) for r, n in sorted(self.pod_create_errors.items())],
                ),
                MetricFamily(
                    "workflow_in_flight",
                    "gauge",
                    "Dispatched workflows by current stage and pod phase.",
                    [
                        ({"stage": c, "agent": a, "phase": p}, float(n))
                        for (c, a, p), n in sorted(in_flight.items())
                    ],
                ),
                MetricFamily(
                    "workflow_controller_ready_replicas",
                    "gauge",
                    "Ready replicas of the controller Deployment (they set the drain rate).",
                    [({}, float(self.ready_replicas))],
                ),
            ]
            histogram = self.dispatch_latency.snapshot()
        return render(
            families,
            [
                (
                    "workflow_dispatch_latency_seconds",
                    "Seconds from submission to dispatch (first agent pod requested).",
                    histogram,
                )
            ],
        )
