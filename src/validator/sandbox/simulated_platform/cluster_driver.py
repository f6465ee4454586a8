"""The simulated platform's Kubernetes side: watches, agent pods, simulated usage.

- watches the controller Deployment(s) (label app.kubernetes.io/component=controller): the sum of
  their READY replicas sets the drain rate of the queue;
- dispatches queued workflows at `ready x dispatch_rate_per_replica x time_factor` per second, at
  most `max_running_workflows` in flight (the controller's concurrency limit; each holds one agent
  pod at a time, so this bounds the platform's agent pods as its quota expects), and
  creates each stage's agent pod when the previous stage's pod has Succeeded (watching its own
  pods, label app.kubernetes.io/managed-by=validator-simulated-platform); a pod that fails, is
  evicted or deleted is recreated, up to workflow_book.MAX_STAGE_ATTEMPTS times; its pods carry
  its instance label, and it deletes the stage pods an earlier stand-in left (their workflows died
  with that process), so one run's workflows never work on in the next;
- writes simulated usage: the controller pods' from the queue depth (so the HPA reacts), the
  running agent pods' from their profile with noise; at most `max_writes_per_s` usage patches per
  second, and a controller pod only when its value moved by more than 5%; a controller whose need
  reaches its memory limit is OOM-killed;
- builds each stage pod from its agent's StatefulSet template (requests, limits, priority class;
  watched, label app.kubernetes.io/component=agent), and OOM-kills a large workflow's stage pod
  whose memory limit is under the stage's transient peak (agent_pods.memory_peak), PEAK_AT into it;
- takes the queue's limit from the controller Deployment's `--max-queued-workflows=N`;
- gives the platform's standing agent replicas (its StatefulSets' pods, label
  app.kubernetes.io/component=agent, not managed by us) the same profile's usage and a workspace
  claim filled to about 65%, as soon as they run and again a usage interval after each write
  (longer past `standing_rewrites_per_s` replicas rewritten a second), in
  turn, within a write budget of their own (thousands of replicas are each written, none starved
  by those watched first; stage pods keep theirs). A pod a chaos experiment holds (annotation
  validator.io/run-id) is left alone, and every such write carries the resourceVersion it was
  computed from, so it can never overwrite an experiment's change.

kwok restarts a pod's `complete-after` delay whenever the pod changes, so a usage patch on an agent
pod also pins the end of its stage with `complete-at` (the time it would have ended), and a pod in
the last stretch of its stage is not patched at all. A CPU change on a running pod carries the
annotations that keep its CPU counter continuous (`usage.cpu_counter_annotations`), computed from
the pod as last watched; every such write carries that resourceVersion, so one computed from a
stale pod is refused (409) and made again from the fresh one at the next interval.

One worker thread makes every write; watch threads only hand it events. No polling of the API.
"""

from __future__ import annotations

import heapq
import itertools
import json
import logging
import queue
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from validator.sandbox.simulated_platform.agent_pods import (
    AGENT_NAME_LABEL,
    INSTANCE_LABEL,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    PROFILES,
    WORKFLOW_LABEL,
    AgentTemplate,
    agent_pod,
    agent_template,
    container_limit,
    controller_usage,
    differs_enough,
    held_by_chaos,
    memory_peak,
    memory_quantity,
    sample_usage,
    stage_seconds,
    standing_agent_usage,
    workspace_claim,
)
from validator.sandbox.simulated_platform.workflow_book import WorkflowBook
from validator.sandbox.usage import (
    COMPLETE_AFTER,
    COMPLETE_AT,
    CPU,
    MEMORY,
    OOM_KILL,
    parse_quantity,
    rfc3339,
    usage_patch,
)

log = logging.getLogger(__name__)

CONTROLLER_SELECTOR = "app.kubernetes.io/component=controller"
STANDING_AGENT_SELECTOR = f"app.kubernetes.io/component=agent,{MANAGED_BY_LABEL}!={MANAGED_BY}"
AGENT_STATEFULSET_SELECTOR = "app.kubernetes.io/component=agent"
# The controller's queue limit: its container's `--max-queued-workflows=N` argument (the platform's
# configuration); without one the simulated platform's --queue-capacity holds.
QUEUE_LIMIT_ARG = "--max-queued-workflows="
# A large workflow's memory peak comes this far into its stage (and at least a second in).
PEAK_AT = 0.25
# A pod the apiserver refuses is retried, CREATE_RETRY_S apart at first, then up to CREATE_RETRY_MAX_S.
# A full ResourceQuota only delays a stage (a real controller waits for capacity, it does not drop
# work); any other refusal fails the workflow after MAX_CREATE_TRIES.
MAX_CREATE_TRIES = 12
CREATE_RETRY_S = 5.0
CREATE_RETRY_MAX_S = 30.0
WATCH_TIMEOUT_S = 60
# A stage pod still not Succeeded this long after its compressed duration is deleted and its stage
# retried: a pod whose node flapped NotReady loses its Ready condition, and kwok only completes
# Ready pods, so without this a workflow could wait forever.
STAGE_OVERDUE_FACTOR = 2.0
STAGE_OVERDUE_GRACE_S = 60.0


@dataclass(frozen=True, slots=True, kw_only=True)
class DriverOptions:
    namespace: str = "agents"
    controller_namespace: str = "workflow-system"
    controller_selector: str = CONTROLLER_SELECTOR
    time_factor: float = 1.0
    dispatch_rate_per_replica: float = 0.05  # workflows/s per ready replica, real-cluster time
    max_running_workflows: int = 0  # the controller's concurrency limit (0: none); the rest wait queued
    usage_interval_s: float = 15.0
    controller_interval_s: float = 5.0
    max_writes_per_s: float = 20.0
    # rewrites of standing replicas that already have their usage, a second, at most: each one is
    # rewritten every `usage_interval_s`, or less often when there are more than this rate covers
    # (2,000 replicas: every 500 s). Every write of a pod wakes the controllers of its StatefulSet
    # and budget, each of which reads all the set's pods: at 20 rewrites a second of 600-pod sets,
    # the controller-manager fell behind its 1 s HPA sync in the 1,000-node nightly.
    standing_rewrites_per_s: float = 4.0
    keep_finished_s: float = 120.0  # finished agent pods are deleted this long after they Succeeded
    agent_usage_updates: bool = True
    seed: int | None = None
    instance: str = field(default_factory=lambda: uuid.uuid4().hex[:12])  # labels this process's pods


class _Bucket:
    """Token bucket bounding API writes."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst, self.tokens, self.at = rate, burst, burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


def _running(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and not (pod.get("metadata") or {}).get("deletionTimestamp")


def _ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    if status.get("phase") != "Running" or (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])


@dataclass(slots=True)
class _RunningAgent:
    agent_class: str
    ends_at: float  # monotonic: when kwok should complete it (Ready + complete-after)
    ends_at_epoch: float  # the same, by the wall clock (its `complete-at` once its usage changes)
    pod: dict[str, Any]  # as last watched


def _seconds(duration: str) -> float:
    """A complete-after value as written by agent_pods.complete_after ("86s")."""
    return float(duration.removesuffix("s")) if duration.endswith("s") else 0.0


class ClusterDriver:
    def __init__(
        self,
        book: WorkflowBook,
        api_client: client.ApiClient,
        options: DriverOptions,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.book = book
        self.options = options
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.scheduling = client.SchedulingV1Api(api_client)
        self._rng = random.Random(options.seed)
        self._stop = threading.Event()
        self._actions: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self._threads: list[threading.Thread] = []
        self._watches: list[watch.Watch] = []
        self._lock = threading.Lock()
        self._deployment_ready: dict[str, int] = {}
        self._controller_pods: dict[str, dict[str, Any]] = {}
        self._controller_written: dict[str, tuple[str, str]] = {}
        self._running_agents: dict[str, _RunningAgent] = {}
        self.orphans_deleted = 0  # earlier stand-ins' pods this one deleted
        self._usage_order: list[str] = []
        self._standing: dict[str, dict[str, Any]] = {}  # standing agent pods, as last watched
        # when each standing pod's usage is next written: a heap of (monotonic time, name), and the
        # pod's current turn (a heap entry that is not it is stale)
        self._standing_due: list[tuple[float, str]] = []
        self._standing_turn: dict[str, float] = {}
        self._claim_capacity: dict[str, str] = {}
        self._templates: dict[str, AgentTemplate] = {}  # agent name -> its StatefulSet's template
        self._queue_limits: dict[str, int] = {}  # controller Deployment -> its --max-queued-workflows
        self._default_capacity = book.capacity
        self._timers: list[tuple[float, int, str, tuple[Any, ...]]] = []
        self._timer_ids = itertools.count()
        self._create_tries: dict[tuple[str, int], int] = {}
        self._tokens = 0.0
        self._with_priority = False
        self._bucket = _Bucket(options.max_writes_per_s, max(1.0, options.max_writes_per_s))
        # the standing replicas' writes have a budget of their own: thousands of them must not
        # take the workflow stage pods' (nor be starved by them)
        self._standing_bucket = _Bucket(options.max_writes_per_s, max(1.0, options.max_writes_per_s))
        self._on_error = on_error or (lambda message: log.warning("%s", message))

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        self._with_priority = self._priority_classes_exist()
        selector = {
            "namespace": self.options.controller_namespace,
            "label_selector": self.options.controller_selector,
        }
        specs: list[
            tuple[
                str,
                Callable[..., Any],
                dict[str, Any],
                Callable[[list[dict[str, Any]]], None],
                Callable[[str, dict[str, Any]], None],
            ]
        ] = [
            (
                "watch-controller-deployments",
                self.apps.list_namespaced_deployment,
                selector,
                self._deployments_listed,
                self._deployment_event,
            ),
            (
                "watch-controller-pods",
                self.core.list_namespaced_pod,
                selector,
                self._controller_pods_listed,
                self._controller_pod_event,
            ),
            (
                "watch-agent-pods",
                self.core.list_namespaced_pod,
                {"namespace": self.options.namespace, "label_selector": f"{MANAGED_BY_LABEL}={MANAGED_BY}"},
                lambda pods: self._actions.put(("agent-list", {"items": pods, "listed_at": time.time()})),
                lambda kind, pod: self._actions.put((f"agent-{kind}", pod)),
            ),
            (
                "watch-agent-statefulsets",
                self.apps.list_namespaced_stateful_set,
                {"namespace": self.options.namespace, "label_selector": AGENT_STATEFULSET_SELECTOR},
                self._statefulsets_listed,
                self._statefulset_event,
            ),
            (
                "watch-standing-agents",
                self.core.list_namespaced_pod,
                {"namespace": self.options.namespace, "label_selector": STANDING_AGENT_SELECTOR},
                lambda pods: self._actions.put(("standing-list", {"items": pods})),
                lambda kind, pod: self._actions.put((f"standing-{kind}", pod)),
            ),
        ]
        for name, list_fn, kwargs, on_list, on_event in specs:
            thread = threading.Thread(
                target=self._watch_forever,
                name=name,
                daemon=True,
                args=(name, list_fn, kwargs, on_list, on_event),
            )
            thread.start()
            self._threads.append(thread)
        worker = threading.Thread(target=self._work, name="platform-worker", daemon=True)
        worker.start()
        self._threads.append(worker)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stops writing; deletes nothing (its own pods keep their managed-by label for cleanup)."""
        self._stop.set()
        self._actions.put(("stop", {}))
        for w in list(self._watches):
            w.stop()  # type: ignore[no-untyped-call, unused-ignore]
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def ready_replicas(self) -> int:
        with self._lock:
            return sum(self._deployment_ready.values())

    # ------------------------------------------------------------------ watches (no writes here)
    def _watch_forever(
        self,
        name: str,
        list_fn: Callable[..., Any],
        kwargs: dict[str, Any],
        on_list: Callable[[list[dict[str, Any]]], None],
        on_event: Callable[[str, dict[str, Any]], None],
    ) -> None:
        resource_version: str | None = None
        backoff = 0.5
        while not self._stop.is_set():
            try:
                if resource_version is None:
                    response = list_fn(**kwargs, _preload_content=False)
                    listing = json.loads(response.data)
                    resource_version = listing["metadata"]["resourceVersion"]
                    on_list(listing.get("items") or [])
                w = watch.Watch()  # type: ignore[no-untyped-call, unused-ignore]
                self._watches.append(w)
                try:
                    events = w.stream(
                        list_fn,
                        **kwargs,
                        resource_version=resource_version,  # type: ignore[no-untyped-call, unused-ignore]
                        timeout_seconds=WATCH_TIMEOUT_S,
                        allow_watch_bookmarks=True,
                    )
                    for event in events:
                        if self._stop.is_set():
                            break
                        raw = event.get("raw_object") or {}
                        version = (raw.get("metadata") or {}).get("resourceVersion")
                        if version:
                            resource_version = version
                        if event["type"] in ("ADDED", "MODIFIED", "DELETED"):
                            on_event(event["type"], raw)
                finally:
                    self._watches.remove(w)
                backoff = 0.5
            except ApiException as error:
                if error.status == 410:  # too old: relist
                    resource_version = None
                    continue
                self._on_error(f"{name}: HTTP {error.status} {error.reason}; retrying in {backoff:g}s")
                resource_version = None
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)
            except Exception as error:  # connection drops, apiserver restarts
                self._on_error(f"{name}: {type(error).__name__}: {error}; retrying in {backoff:g}s")
                resource_version = None
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    def _deployments_listed(self, items: list[dict[str, Any]]) -> None:
        with self._lock:
            self._deployment_ready = {
                d["metadata"]["name"]: int((d.get("status") or {}).get("readyReplicas") or 0) for d in items
            }
            self._queue_limits = {
                d["metadata"]["name"]: limit for d in items if (limit := queue_limit(d)) is not None
            }
        self._apply_queue_limit()
        self.book.ready_replicas = self.ready_replicas()

    def _deployment_event(self, kind: str, deployment: dict[str, Any]) -> None:
        name = deployment["metadata"]["name"]
        with self._lock:
            self._queue_limits.pop(name, None)
            if kind == "DELETED":
                self._deployment_ready.pop(name, None)
            else:
                self._deployment_ready[name] = int((deployment.get("status") or {}).get("readyReplicas") or 0)
                if (limit := queue_limit(deployment)) is not None:
                    self._queue_limits[name] = limit
        self._apply_queue_limit()
        self.book.ready_replicas = self.ready_replicas()

    def _apply_queue_limit(self) -> None:
        with self._lock:
            limits = list(self._queue_limits.values())
        self.book.set_capacity(min(limits) if limits else self._default_capacity)

    def _statefulsets_listed(self, items: list[dict[str, Any]]) -> None:
        with self._lock:
            self._templates = {_agent_name(s): agent_template(s) for s in items}

    def _statefulset_event(self, kind: str, statefulset: dict[str, Any]) -> None:
        with self._lock:
            if kind == "DELETED":
                self._templates.pop(_agent_name(statefulset), None)
            else:
                self._templates[_agent_name(statefulset)] = agent_template(statefulset)

    def _controller_pods_listed(self, items: list[dict[str, Any]]) -> None:
        with self._lock:
            self._controller_pods = {p["metadata"]["name"]: p for p in items if _running(p)}

    def _controller_pod_event(self, kind: str, pod: dict[str, Any]) -> None:
        name = pod["metadata"]["name"]
        with self._lock:
            if kind == "DELETED" or not _running(pod):  # an unready replica still burns CPU
                self._controller_pods.pop(name, None)
                self._controller_written.pop(name, None)
            else:
                self._controller_pods[name] = pod

    # ------------------------------------------------------------------ the worker: every write
    def _work(self) -> None:
        last = time.monotonic()
        next_controller = last
        next_usage = last + self.options.usage_interval_s
        while not self._stop.is_set():
            try:
                kind, payload = self._actions.get(timeout=0.2)
                self._handle(kind, payload)
            except queue.Empty:
                pass
            except Exception as error:
                self._on_error(f"platform worker: {type(error).__name__}: {error}")
            if self._stop.is_set():
                return
            now = time.monotonic()
            try:
                self._dispatch(now - last)
                last = now
                self._run_timers(now)
                if now >= next_controller:
                    next_controller = now + self.options.controller_interval_s
                    self._write_controller_usage()
                if now >= next_usage:
                    next_usage = now + self.options.usage_interval_s
                    if self.options.agent_usage_updates:
                        self._write_agent_usage()
                if self.options.agent_usage_updates:
                    self._refresh_standing_usage(now)
            except Exception as error:
                self._on_error(f"platform worker: {type(error).__name__}: {error}")

    def _handle(self, kind: str, payload: dict[str, Any]) -> None:
        if kind == "standing-list":
            self._standing = {}
            self._standing_due, self._standing_turn = [], {}
            for pod in payload["items"]:
                self._standing_event("MODIFIED", pod)
        elif kind.startswith("standing-"):
            self._standing_event(kind.removeprefix("standing-"), payload)
        elif kind == "agent-list":
            self._agents_relisted(payload["items"], payload["listed_at"])
        elif kind.startswith("agent-"):
            self._agent_pod_event(kind.removeprefix("agent-"), payload)

    def _schedule(self, delay_s: float, action: str, *args: Any) -> None:
        heapq.heappush(self._timers, (time.monotonic() + delay_s, next(self._timer_ids), action, args))

    def _run_timers(self, now: float) -> None:
        while self._timers and self._timers[0][0] <= now:
            _, _, action, args = heapq.heappop(self._timers)
            if action == "create":
                self._create_stage_pod(*args)
            elif action == "delete":
                self._delete_finished_pod(*args)
            elif action == "overdue":
                self._delete_overdue_pod(*args)
            elif action == "peak":
                self._oom_at_peak(*args)

    # ------------------------------------------------------------------ dispatch
    def _dispatch(self, elapsed_s: float) -> None:
        ready = self.ready_replicas()
        self.book.ready_replicas = ready
        rate = ready * self.options.dispatch_rate_per_replica * self.options.time_factor
        self._tokens = min(self._tokens + rate * elapsed_s, max(1.0, float(ready)) if ready else 0.0)
        while self._tokens >= 1.0:
            if self.options.max_running_workflows and (
                len(self.book.running()) >= self.options.max_running_workflows
            ):
                return  # every slot busy: the queue waits, as a real controller's would
            workflow = self.book.take_next()
            if workflow is None:
                return
            self._tokens -= 1.0
            self._create_stage_pod(workflow.id, 0)

    def _create_stage_pod(self, workflow_id: str, stage_index: int) -> None:
        workflow = self.book.workflow(workflow_id)
        if (
            workflow is None
            or workflow.state != "running"
            or workflow.stage_index != stage_index
            or workflow.pod
        ):
            return
        stage = workflow.stages[stage_index]
        with self._lock:
            template = self._templates.get(stage.agent)
        body = agent_pod(
            workflow_id=workflow_id,
            agent=stage.agent,
            agent_class=stage.agent_class,
            stage_index=stage_index,
            attempt=workflow.attempt + 1,
            duration_s=stage.duration_s,
            time_factor=self.options.time_factor,
            namespace=self.options.namespace,
            rng=self._rng,
            with_priority_class=self._with_priority,
            template=template,
            instance=self.options.instance,
        )
        name = body["metadata"]["name"]
        try:
            self.core.create_namespaced_pod(self.options.namespace, body)  # type: ignore[arg-type, unused-ignore]
        except ApiException as error:
            if error.status != 409:  # 409: created by an earlier try whose answer was lost
                quota = error.status == 403 and "quota" in str(error.body)
                reason = "quota" if quota else f"http_{error.status}"
                self.book.pod_create_failed(reason)
                key = (workflow_id, stage_index)
                tries = self._create_tries[key] = self._create_tries.get(key, 0) + 1
                if not quota and tries >= MAX_CREATE_TRIES:
                    self.book.fail(
                        workflow_id, f"could not create pod {name}: HTTP {error.status} {error.reason}"
                    )
                    self._create_tries.pop(key, None)
                else:
                    delay = min(CREATE_RETRY_S * 2 ** min(tries - 1, 8), CREATE_RETRY_MAX_S)
                    self._schedule(delay, "create", workflow_id, stage_index)
                return
        self._create_tries.pop((workflow_id, stage_index), None)
        self.book.pod_created(workflow_id, stage_index, name)
        wall_s = stage_seconds(stage.duration_s, self.options.time_factor)
        overdue = wall_s * STAGE_OVERDUE_FACTOR + STAGE_OVERDUE_GRACE_S
        self._schedule(overdue, "overdue", workflow_id, name)

    # ------------------------------------------------------------------ agent pods' lifecycle
    def _agent_pod_event(self, kind: str, pod: dict[str, Any]) -> None:
        meta = pod.get("metadata") or {}
        name = meta.get("name", "")
        if (meta.get("labels") or {}).get(INSTANCE_LABEL) != self.options.instance:
            # an earlier stand-in's pod: its workflow is gone with that process
            if kind != "DELETED" and not meta.get("deletionTimestamp"):
                self.orphans_deleted += 1
                self._delete_finished_pod(name)
            return
        workflow_id = (meta.get("labels") or {}).get(WORKFLOW_LABEL, "")
        phase = (pod.get("status") or {}).get("phase", "")
        if _ready(pod) and kind != "DELETED":
            agent_class = (meta.get("labels") or {}).get("agent-platform.io/agent-class", "")
            if agent_class in PROFILES and name not in self._running_agents:
                stage_s = _seconds(str((meta.get("annotations") or {}).get(COMPLETE_AFTER, "")))
                self._running_agents[name] = _RunningAgent(
                    agent_class=agent_class,
                    ends_at=time.monotonic() + stage_s,
                    ends_at_epoch=time.time() + stage_s,
                    pod=pod,
                )
                self._usage_order.append(name)
                workflow = self.book.workflow(workflow_id)
                peak = memory_peak(PROFILES[agent_class], workflow.size) if workflow is not None else None
                limit = container_limit(pod, "memory")
                if peak is not None and limit is not None and peak >= limit:
                    self._schedule(max(1.0, PEAK_AT * stage_s), "peak", name, 0)
            elif name in self._running_agents:
                self._running_agents[name].pod = pod
            self.book.pod_running(workflow_id, name)
        else:
            self._forget_agent(name)
        if phase == "Succeeded":
            next_stage = self.book.stage_succeeded(workflow_id, name)
            if kind != "DELETED":
                self._schedule(self.options.keep_finished_s, "delete", name)
            if next_stage is not None:
                self._create_stage_pod(workflow_id, next_stage)
        elif phase == "Failed" or kind == "DELETED" or meta.get("deletionTimestamp"):
            status = pod.get("status") or {}
            reason = status.get("reason") or (
                "deleted" if kind == "DELETED" or meta.get("deletionTimestamp") else "Failed"
            )
            retry = self.book.stage_lost(workflow_id, name, str(reason))
            if retry is not None:
                self._create_stage_pod(workflow_id, retry)

    def _agents_relisted(self, items: list[dict[str, Any]], listed_at: float) -> None:
        present = {(p.get("metadata") or {}).get("name") for p in items}
        for pod in items:
            self._agent_pod_event("MODIFIED", pod)
        for workflow in self.book.running():
            created_at = workflow.history[-1].get("created_at", 0.0) if workflow.history else 0.0
            if workflow.pod and workflow.pod not in present and created_at < listed_at - 1.0:
                retry = self.book.stage_lost(workflow.id, workflow.pod, "missing after relist")
                if retry is not None:
                    self._create_stage_pod(workflow.id, retry)
        for name in [n for n in self._running_agents if n not in present]:
            self._forget_agent(name)

    def _forget_agent(self, name: str) -> None:
        if self._running_agents.pop(name, None) is not None:
            self._usage_order.remove(name)

    def _delete_overdue_pod(self, workflow_id: str, name: str) -> None:
        """Its DELETED event retries the stage (stage_lost), like any other lost pod."""
        workflow = self.book.workflow(workflow_id)
        if workflow is None or workflow.state != "running" or workflow.pod != name:
            return
        self.book.stage_overdue()
        self._delete_finished_pod(name)

    def _delete_finished_pod(self, name: str) -> None:
        try:
            self.core.delete_namespaced_pod(name, self.options.namespace, grace_period_seconds=0)
        except ApiException as error:
            if error.status != 404:
                self._on_error(f"deleting finished pod {name}: HTTP {error.status} {error.reason}")

    # ------------------------------------------------------------------ simulated usage
    def _oom_at_peak(self, name: str, tries: int) -> None:
        """The stage's peak crosses its memory limit: the kubelet's OOM killer ends the container
        (kwok's OOM stage). The stage keeps its end (`complete-at`); a write computed from a stale
        pod (409) is made again a second later."""
        agent = self._running_agents.get(name)
        if agent is None or tries >= 5:
            return
        meta = agent.pod.get("metadata") or {}
        annotations = {OOM_KILL: "memory-peak", COMPLETE_AT: rfc3339(agent.ends_at_epoch)}
        body = {"metadata": {"resourceVersion": meta.get("resourceVersion"), "annotations": annotations}}
        try:
            self.core.patch_namespaced_pod(name, meta.get("namespace", self.options.namespace), body)
        except ApiException as error:
            if error.status == 409:
                self._schedule(1.0, "peak", name, tries + 1)
            elif error.status != 404:
                self._on_error(f"memory peak of pod {name}: HTTP {error.status} {error.reason}")

    def _patch_usage(
        self,
        pod: dict[str, Any],
        cpu: str,
        memory: str,
        complete_at: float | None = None,
        extra: dict[str, str] | None = None,
    ) -> bool | None:
        """Set a running pod's usage (its CPU counter kept continuous). None when out of write
        budget; else whether the pod now has that CPU (not when the pod changed since it was
        watched, 409, or a CPU switch is still pending: the next interval redoes it)."""
        if not self._bucket.take():
            return None
        meta = pod.get("metadata") or {}
        namespace, name = meta.get("namespace", ""), meta.get("name", "")
        annotations = {**usage_patch(pod, cpu, now=time.time())["metadata"]["annotations"], MEMORY: memory}
        if complete_at is not None:
            annotations[COMPLETE_AT] = rfc3339(complete_at)
        annotations.update(extra or {})
        body = {"metadata": {"resourceVersion": meta.get("resourceVersion"), "annotations": annotations}}
        try:
            self.core.patch_namespaced_pod(name, namespace, body)
        except ApiException as error:
            if error.status not in (404, 409):  # gone, or changed since it was watched
                self._on_error(f"usage of pod {namespace}/{name}: HTTP {error.status} {error.reason}")
            return False
        return CPU in annotations

    def _write_controller_usage(self) -> None:
        depth, ready = self.book.queue_depth(), self.ready_replicas()
        cpu, memory = controller_usage(depth, ready)
        with self._lock:
            pods = list(self._controller_pods.items())
        for name, pod in pods:
            # the need, whatever the limit: one that reaches it OOM-kills the replica (showing the
            # limit as its working set), again at every interval while the need stays there
            limit = container_limit(pod, "memory")
            killed = limit is not None and parse_quantity(memory) >= limit
            shown = memory_quantity(limit) if killed and limit is not None else memory
            written = self._controller_written.get(name)
            if (
                not killed
                and written
                and not differs_enough(written[0], cpu)
                and not differs_enough(written[1], shown)
            ):
                continue
            extra = {OOM_KILL: "memory-limit"} if killed else None
            if self._patch_usage(pod, cpu, shown, extra=extra):  # else written again at the next interval
                with self._lock:
                    if name in self._controller_pods:
                        self._controller_written[name] = (cpu, shown)

    def _write_agent_usage(self) -> None:
        budget = int(self.options.max_writes_per_s * self.options.usage_interval_s)
        now = time.monotonic()
        for name in list(self._usage_order[:budget]):
            agent = self._running_agents[name]
            remaining = agent.ends_at - now
            if remaining >= max(3.0, 2 * self.options.usage_interval_s):  # else its last stretch:
                profile = PROFILES[agent.agent_class]  # leave it alone
                cpu, memory = sample_usage(profile, self._rng, container_limit(agent.pod, "cpu"))
                limit = container_limit(agent.pod, "memory")
                extra = None
                if limit is not None and parse_quantity(memory) >= limit:  # its need: OOM-killed
                    memory, extra = memory_quantity(limit), {OOM_KILL: "memory-limit"}
                if self._patch_usage(agent.pod, cpu, memory, agent.ends_at_epoch, extra) is None:
                    break  # out of write budget
            self._usage_order.remove(name)  # round robin: visited pods go to the back
            self._usage_order.append(name)

    # ------------------------------------------------------------------ standing agents
    def _standing_event(self, kind: str, pod: dict[str, Any]) -> None:
        name = (pod.get("metadata") or {}).get("name", "")
        if kind == "DELETED" or not _running(pod):
            self._standing.pop(name, None)
            self._standing_turn.pop(name, None)
            return
        self._standing[name] = pod
        if name not in self._standing_turn:  # a new replica (or one back): usage at once, if it has none
            idle = CPU not in ((pod.get("metadata") or {}).get("annotations") or {})
            self._next_turn(name, time.monotonic() + (0.0 if idle else self._standing_interval_s()))

    def _next_turn(self, name: str, at: float) -> None:
        self._standing_turn[name] = at
        heapq.heappush(self._standing_due, (at, name))

    def _refresh_standing_usage(self, now: float) -> None:
        """Write the usage of every standing replica whose turn has come (each one
        `_standing_interval_s` after its last write, a new one at once), as far as the standing
        budget goes; what it does not reach now keeps its turn, so at any number of replicas each
        gets its usage in turn (a thousand new ones at 20 writes a second: within 50 s), none
        starved by the ones watched first, and is rewritten at most `standing_rewrites_per_s` in
        all (a thousand: every 250 s)."""
        due = self._standing_due
        while due and due[0][0] <= now:
            at, name = due[0]
            pod = self._standing.get(name)
            if pod is None or self._standing_turn.get(name) != at:
                heapq.heappop(due)  # gone, or a turn since replaced: it lapses
                continue
            if not self._write_standing_usage(pod):
                return  # out of budget: this pod keeps the head of the line
            heapq.heappop(due)
            self._next_turn(name, now + self._standing_interval_s())

    def _standing_interval_s(self) -> float:
        """How long after its last write a standing replica's usage is rewritten: the usage
        interval, or longer when the replicas outnumber `standing_rewrites_per_s` over it."""
        return max(self.options.usage_interval_s, len(self._standing) / self.options.standing_rewrites_per_s)

    def _write_standing_usage(self, pod: dict[str, Any]) -> bool:
        """Write one standing replica's usage; False when out of write budget (nothing written)."""
        meta = pod.get("metadata") or {}
        if held_by_chaos(pod):
            return True
        claim = workspace_claim(pod)
        capacity = self._workspace_capacity(meta.get("namespace", self.options.namespace), claim)
        annotations = standing_agent_usage(pod, capacity, self._rng)
        if annotations is None:
            return True
        if not self._standing_bucket.take():
            return False
        # the resourceVersion makes the apiserver refuse (409) a write computed from a stale pod,
        # e.g. one a memory-pressure experiment annotated meanwhile
        body = {"metadata": {"resourceVersion": meta.get("resourceVersion"), "annotations": annotations}}
        try:
            self.core.patch_namespaced_pod(meta.get("name", ""), meta.get("namespace", ""), body)
        except ApiException as error:
            if error.status not in (404, 409):
                self._on_error(
                    f"usage of standing agent {meta.get('name')}: HTTP {error.status} {error.reason}"
                )
        return True

    def _workspace_capacity(self, namespace: str, claim: str | None) -> str | None:
        if not claim:
            return None
        if claim not in self._claim_capacity:
            try:
                pvc = self.core.read_namespaced_persistent_volume_claim(claim, namespace)
            except ApiException as error:
                if error.status != 404:
                    self._on_error(f"workspace claim {namespace}/{claim}: HTTP {error.status} {error.reason}")
                return None
            requested = (pvc.spec.resources.requests or {}) if pvc.spec and pvc.spec.resources else {}
            capacity = ((pvc.status and pvc.status.capacity) or {}).get("storage") or requested.get("storage")
            if not capacity:
                return None
            self._claim_capacity[claim] = str(capacity)
        return self._claim_capacity[claim]

    def _priority_classes_exist(self) -> bool:
        names = {p.priority_class for p in PROFILES.values()}
        try:
            for name in names:
                self.scheduling.read_priority_class(name)
        except ApiException:
            return False
        return True


def _agent_name(statefulset: dict[str, Any]) -> str:
    meta = statefulset.get("metadata") or {}
    return str((meta.get("labels") or {}).get(AGENT_NAME_LABEL) or meta.get("name", ""))


def queue_limit(deployment: dict[str, Any]) -> int | None:
    """A controller Deployment's `--max-queued-workflows=N` (its first container that sets it)."""
    spec = ((deployment.get("spec") or {}).get("template") or {}).get("spec") or {}
    for container in spec.get("containers") or []:
        for arg in container.get("args") or []:
            if isinstance(arg, str) and arg.startswith(QUEUE_LIMIT_ARG):
                value = arg.removeprefix(QUEUE_LIMIT_ARG)
                if value.isdigit() and int(value) > 0:
                    return int(value)
    return None
