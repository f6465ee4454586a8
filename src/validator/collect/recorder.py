"""Kubernetes recorder: every change of the watched objects, appended to evidence/k8s.jsonl on receipt.

What it watches, in each selected namespace: Pods, Deployments, ReplicaSets, StatefulSets,
DaemonSets, HPAs (autoscaling/v2), PDBs (policy/v1) and Events (core v1); and Nodes cluster-wide. One
background thread per (kind, namespace) lists once, then watches from the list's resourceVersion with
`allowWatchBookmarks` and a server-side timeout, re-watching from the last resourceVersion it saw
(bookmarks included) whenever the apiserver ends a watch. Watches only: there is no polling loop.

The lines it writes (format: docs/run-directory.md):

- `ADDED` / `MODIFIED` / `DELETED`: a watch event, stamped `received_ms` when its line arrived.
- `RELIST`: the state of an object as a *list* returned it. The first list of each resource is
  written as `RELIST` too, not as `ADDED`: it is a snapshot of objects that already existed, not a
  creation observed at that moment, and it is the same operation as the relist after a `410 Gone`.
  A `RELIST` batch that follows a `GAP` of the same kind is the state after that gap; a batch with
  no `GAP` before it is the state when recording began. An object that was seen before a gap and is
  absent from the `RELIST` batch after it was deleted during the gap.
- `GAP`: a span `[from_ms, to_ms]` whose changes the recorder could not time: the watch's
  resourceVersion expired (`410 Gone`, then a relist), the connection dropped or went silent past
  the read timeout (then it reconnects with backoff; when the apiserver still has the history, the
  missed changes are replayed and arrive with `received_ms` at the reconnection, so their times
  inside the span are unknown), or the apiserver refused the request (e.g. RBAC). `from_ms` is
  the last moment the stream was known alive (its last line), so the span errs on the long side.
  A gap still open when the recorder stops is closed at the stop time. A GAP line carries
  `relist: true` when a relist closed it (the `RELIST` lines after it, possibly none, are the whole
  state) and `relist: false` when the watch resumed and replayed the changes instead.

Why core v1 Events rather than events.k8s.io/v1: both APIs serve the same stored objects, and the
core v1 form carries every field of the other (`eventTime`, `series`, `reportingController`)
plus `involvedObject`, `firstTimestamp`, `lastTimestamp` and `count`, which the legacy event
recorder used by most controllers (deployment, replicaset, HPA, kubelet) fills and the evidence
loader reads. Watching both would write every event twice.

One writer owns the file: each line is written whole under a lock and flushed at once, so a crash
of the process loses nothing already received. Objects are streamed to disk, never kept; memory
stays bounded by one list page (`list_page_size` objects) per thread.

The client configuration is explicit: a kubeconfig path and a context (see
`validator.kube.api_client`); the default `~/.kube/config` and the process-wide default
configuration are never used.

Use::

    with KubernetesRecorder.from_kubeconfig(run_dir / "evidence" / "k8s.jsonl",
                                             kubeconfig=path, context="kwok-validator-sandbox",
                                             namespaces=["agents"]) as recorder:
        ...  # start() has returned and every resource's first list is written
    # stop() has returned: every thread ended and the file is complete
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

import urllib3
from kubernetes import client as k8s_client
from kubernetes.client.exceptions import ApiException

from validator.errors import ConfigError, EvidenceUnavailable
from validator.kube import api_client
from validator.model.k8s import KINDS  # the kinds the evidence model reads, each watched here
from validator.redaction import redact_text
from validator.run_directory.k8s_watch import watch_line

log = logging.getLogger(__name__)

CLUSTER_SCOPED_KINDS = frozenset({"Node"})
WATCH_TYPES = frozenset({"ADDED", "MODIFIED", "DELETED"})
_API_VERSIONS = {
    "Pod": "v1",
    "Node": "v1",
    "Deployment": "apps/v1",
    "ReplicaSet": "apps/v1",
    "StatefulSet": "apps/v1",
    "DaemonSet": "apps/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
    "PodDisruptionBudget": "policy/v1",
    "Event": "v1",
}
_HTTP_GONE = 410


def now_ms() -> int:
    """Epoch milliseconds, the unit of every `*_ms` field."""
    return time.time_ns() // 1_000_000


# --- configuration ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RecorderTuning:
    """Timeouts and backoff. The defaults suit a real cluster; tests shorten them.

    The apiserver ends each watch after `server_timeout_seconds` (the recorder then re-watches from
    the last resourceVersion, which a bookmark just before the end keeps fresh). The client's read
    timeout is that plus `read_margin_seconds`, so a connection that died silently is noticed within
    `server_timeout_seconds + read_margin_seconds`.
    """

    server_timeout_seconds: int = 60
    read_margin_seconds: float = 15.0
    connect_timeout_seconds: float = 5.0
    list_timeout_seconds: float = 30.0
    list_page_size: int = 500
    backoff_base_seconds: float = 0.5
    backoff_max_seconds: float = 15.0

    def backoff(self, attempt: int) -> float:
        """Wait before retry `attempt` (from 1): exponential, capped, with jitter in [50%, 100%]."""
        ceiling = min(self.backoff_max_seconds, self.backoff_base_seconds * (2 ** max(0, attempt - 1)))
        return float(ceiling * random.uniform(0.5, 1.0))


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchedResource:
    """One list/watch stream: a kind, in one namespace ("" for cluster-wide), and its list call.

    `list_call` is a kubernetes client method such as `CoreV1Api.list_namespaced_pod`; it is called
    with keyword arguments only (`namespace` when namespaced, `watch`, `resource_version`,
    `allow_watch_bookmarks`, `timeout_seconds`, `limit`, `_continue`, `_preload_content=False`,
    `_request_timeout`) and must return the raw urllib3 response.
    """

    kind: str
    namespace: str
    list_call: Callable[..., Any]

    @property
    def api_version(self) -> str:
        return _API_VERSIONS.get(self.kind, "")

    @property
    def label(self) -> str:
        return (
            f"{self.kind} in namespace {self.namespace}" if self.namespace else f"{self.kind} (cluster-wide)"
        )


def watched_resources(
    api_client: k8s_client.ApiClient, namespaces: Sequence[str], kinds: Sequence[str] = KINDS
) -> list[WatchedResource]:
    """The streams to open: each namespaced kind in each namespace, and each cluster-scoped kind once."""
    unknown = [k for k in kinds if k not in _API_VERSIONS]
    if unknown:
        raise ConfigError(
            f"unknown kinds to record: {', '.join(unknown)}",
            where="recorder kinds",
            fix=f"use some of: {', '.join(KINDS)}",
        )
    if any(k not in CLUSTER_SCOPED_KINDS for k in kinds) and not namespaces:
        raise ConfigError(
            "no namespace selected for the recorder",
            where="recorder namespaces",
            fix="name the namespaces whose pods, deployments, HPAs, PDBs and events to record",
        )
    core = k8s_client.CoreV1Api(api_client)
    apps = k8s_client.AppsV1Api(api_client)
    autoscaling = k8s_client.AutoscalingV2Api(api_client)
    policy = k8s_client.PolicyV1Api(api_client)
    namespaced: dict[str, Callable[..., Any]] = {
        "Pod": core.list_namespaced_pod,
        "Deployment": apps.list_namespaced_deployment,
        "ReplicaSet": apps.list_namespaced_replica_set,
        "StatefulSet": apps.list_namespaced_stateful_set,
        "DaemonSet": apps.list_namespaced_daemon_set,
        "HorizontalPodAutoscaler": autoscaling.list_namespaced_horizontal_pod_autoscaler,
        "PodDisruptionBudget": policy.list_namespaced_pod_disruption_budget,
        "Event": core.list_namespaced_event,
    }
    cluster: dict[str, Callable[..., Any]] = {"Node": core.list_node}
    out: list[WatchedResource] = []
    for kind in kinds:
        if kind in cluster:
            out.append(WatchedResource(kind=kind, namespace="", list_call=cluster[kind]))
        else:
            out.extend(
                WatchedResource(kind=kind, namespace=ns, list_call=namespaced[kind])
                for ns in dict.fromkeys(namespaces)
            )
    return out


# --- the one writer ---------------------------------------------------------------------------------


class JsonlWriter:
    """Appends one JSON object per line, whole and flushed, from any thread.

    Writes after `close()` are counted in `dropped` and not written."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._file: IO[str] | None = path.open("a", encoding="utf-8")
        self.lines = 0
        self.dropped = 0

    def write(self, record: dict[str, Any]) -> bool:
        line = watch_line(record)
        with self._lock:
            if self._file is None:
                self.dropped += 1
                return False
            self._file.write(line)
            self._file.flush()
            self.lines += 1
            return True

    def close(self) -> None:
        with self._lock:
            if self._file is None:
                return
            self._file.flush()
            with contextlib.suppress(OSError):
                os.fsync(self._file.fileno())
            self._file.close()
            self._file = None


def object_record(received_ms: int, kind: str, event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    """One k8s.jsonl line for an object; managedFields are removed from the object."""
    metadata = obj.get("metadata")
    if not isinstance(metadata, dict):
        metadata = {}
    metadata.pop("managedFields", None)
    return {
        "received_ms": received_ms,
        "kind": kind,
        "type": event_type,
        "namespace": metadata.get("namespace", "") or "",
        "name": metadata.get("name", "") or "",
        "uid": metadata.get("uid", "") or "",
        "resource_version": metadata.get("resourceVersion", "") or "",
        "object": obj,
    }


def gap_record(
    kind: str, from_ms: int, to_ms: int, reason: str, namespace: str = "", *, relist: bool = False
) -> dict[str, Any]:
    """A GAP line. `relist` is true when a relist closed the gap: the `RELIST` lines that follow
    (possibly none, when nothing is left) are the complete state; false when the watch resumed and
    replayed the missed changes, or the recorder stopped first."""
    record: dict[str, Any] = {
        "received_ms": to_ms,
        "kind": kind,
        "type": "GAP",
        "from_ms": from_ms,
        "to_ms": to_ms,
        "reason": reason,
        "relist": relist,
    }
    if namespace:
        record["namespace"] = namespace
    return record


# --- statistics ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RecorderStats:
    lines: int
    watch_events: int
    relisted_objects: int
    relists: int
    gaps: int
    bookmarks: int
    reconnects: int
    dropped_after_stop: int
    last_errors: dict[str, str]
    # requests to the apiserver: list pages (the first list, relists) and watches (each renewal)
    list_requests: int = 0
    watch_requests: int = 0


# --- one stream ------------------------------------------------------------------------------------


class _Gone(Exception):
    """The watch's resourceVersion is too old (410): relist."""


class _ResourceWatcher:
    """List, then watch from the list's resourceVersion, for one WatchedResource, until stopped."""

    def __init__(
        self,
        resource: WatchedResource,
        writer: JsonlWriter,
        tuning: RecorderTuning,
        stopping: threading.Event,
        started_ms: int,
    ) -> None:
        self.resource = resource
        self._writer = writer
        self._tuning = tuning
        self._stopping = stopping
        self._resource_version: str | None = None
        self._last_alive_ms = started_ms
        self._open_gap: tuple[int, str] | None = None
        self._response: Any = None
        self._response_lock = threading.Lock()
        self.synced = threading.Event()
        self.synced_ms: int | None = None
        self.last_error = ""
        self.watch_events = 0
        self.relisted_objects = 0
        self.relists = 0
        self.gaps = 0
        self.bookmarks = 0
        self.reconnects = 0
        self.list_requests = 0
        self.watch_requests = 0

    # -- control, from the recorder's thread

    def interrupt(self) -> None:
        """Unblock a read in progress, so the thread sees `stopping` at once."""
        with self._response_lock:
            response = self._response
        if response is None:
            return
        with contextlib.suppress(Exception):
            response.shutdown()
            return
        with contextlib.suppress(Exception):
            sock = getattr(getattr(response, "connection", None), "sock", None)
            if sock is not None:
                sock.shutdown(socket.SHUT_RDWR)

    # -- the thread

    def run(self) -> None:
        attempt = 0
        empty_ends = 0
        while not self._stopping.is_set():
            try:
                if self._resource_version is None:
                    self._list()
                began = time.monotonic()
                lines = self._watch()
                attempt = 0
                if lines == 0 and time.monotonic() - began < 1.0 and not self._stopping.is_set():
                    # the apiserver ended an empty watch at once: do not spin on it
                    empty_ends += 1
                    self._stopping.wait(self._tuning.backoff(empty_ends))
                else:
                    empty_ends = 0
            except _Gone as exc:
                # routine (client-go's reflectors relist the same way, quietly): Events above all,
                # which the apiserver does not cache, so a quiet namespace's watch expires after each
                # etcd compaction. The GAP line records it; the console stays for real trouble.
                self._note_failure(f"resourceVersion expired (410 Gone: {exc}); relisted", routine=True)
                self._resource_version = None
                attempt += 1
                if attempt > 1:  # a second 410 in a row: do not hammer the apiserver
                    self._stopping.wait(self._tuning.backoff(attempt - 1))
            except Exception as exc:
                if self._stopping.is_set():
                    break
                self._note_failure(_describe(exc))
                attempt += 1
                self._stopping.wait(self._tuning.backoff(attempt))
        if self._open_gap is not None:
            reason = self._open_gap[1]
            self._close_gap(now_ms(), reason + "; the recorder stopped before the stream recovered")

    def _note_failure(self, reason: str, *, routine: bool = False) -> None:
        reason = redact_text(reason)
        self.last_error = reason
        if self._open_gap is None:
            log.log(
                logging.INFO if routine else logging.WARNING, "recorder: %s: %s", self.resource.label, reason
            )
            self._open_gap = (self._last_alive_ms, reason)
        else:
            since, earlier = self._open_gap
            if reason not in earlier:
                self._open_gap = (since, f"{earlier}; then {reason}")

    def _close_gap(self, to_ms: int, reason: str | None = None, *, relist: bool = False) -> None:
        if self._open_gap is None:
            return
        since, why = self._open_gap
        self._open_gap = None
        self.gaps += 1
        self._writer.write(
            gap_record(
                self.resource.kind,
                since,
                max(since, to_ms),
                reason or why,
                self.resource.namespace,
                relist=relist,
            )
        )

    def _call(self, **kwargs: Any) -> Any:
        if self.resource.namespace:
            kwargs["namespace"] = self.resource.namespace
        if kwargs.get("watch"):
            self.watch_requests += 1
        else:
            self.list_requests += 1
        response = self.resource.list_call(_preload_content=False, **kwargs)
        with self._response_lock:
            self._response = response
        if self._stopping.is_set():
            self.interrupt()
        return response

    def _release(self, response: Any) -> None:
        with self._response_lock:
            self._response = None
        with contextlib.suppress(Exception):
            response.close()
        with contextlib.suppress(Exception):
            response.release_conn()

    def _list(self) -> None:
        tuning = self._tuning
        token: str | None = None
        first_page = True
        relisting = False
        count = 0
        while True:
            kwargs: dict[str, Any] = {
                "limit": tuning.list_page_size,
                "_request_timeout": (tuning.connect_timeout_seconds, tuning.list_timeout_seconds),
            }
            if token:
                kwargs["_continue"] = token
            try:
                response = self._call(**kwargs)
            except ApiException as exc:
                if exc.status == _HTTP_GONE:  # the continue token expired: start the list again
                    raise _Gone("list continue token expired") from None
                raise
            try:
                body = response.data
            finally:
                self._release(response)
            received = now_ms()
            self._last_alive_ms = received
            page = json.loads(body)
            if first_page:
                first_page = False
                relisting = self._open_gap is not None
                self._close_gap(received, relist=True)
            for item in page.get("items") or []:
                if isinstance(item, dict):
                    item.setdefault("apiVersion", self.resource.api_version)
                    item.setdefault("kind", self.resource.kind)
                    self._writer.write(object_record(received, self.resource.kind, "RELIST", item))
                    count += 1
            metadata = page.get("metadata") or {}
            token = metadata.get("continue") or None
            if token is None:
                self._resource_version = str(metadata.get("resourceVersion") or "") or None
                if self._resource_version is None:
                    raise ValueError(f"the list of {self.resource.label} carried no resourceVersion")
                break
        self.relisted_objects += count
        if relisting:
            self.relists += 1
        if not self.synced.is_set():
            self.synced_ms = now_ms()
            self.synced.set()

    def _watch(self) -> int:
        """Watch from the current resourceVersion until the apiserver ends it; the lines handled."""
        tuning = self._tuning
        handled = 0
        try:
            response = self._watch_call(tuning)
        except ApiException as exc:
            if exc.status == _HTTP_GONE:
                raise _Gone(exc.reason or "Gone") from None
            raise
        try:
            opened = now_ms()
            self._last_alive_ms = opened
            if self._open_gap is not None:  # the connection is back; history is replayed from here
                self.reconnects += 1
                self._close_gap(opened)
            for line in _lines(response):
                received = now_ms()
                self._last_alive_ms = received
                if self._stopping.is_set():
                    break
                self._handle(received, line)
                handled += 1
        finally:
            self._release(response)
        return handled

    def _watch_call(self, tuning: RecorderTuning) -> Any:
        return self._call(
            watch=True,
            resource_version=self._resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=tuning.server_timeout_seconds,
            _request_timeout=(
                tuning.connect_timeout_seconds,
                tuning.server_timeout_seconds + tuning.read_margin_seconds,
            ),
        )

    def _handle(self, received: int, line: str) -> None:
        event = json.loads(line)
        event_type = event.get("type")
        obj = event.get("object")
        if not isinstance(obj, dict):
            raise ValueError(f"watch line of {self.resource.label} has no object (type {event_type!r})")
        if event_type == "ERROR":
            code = obj.get("code")
            message = str(obj.get("message") or obj.get("reason") or "")
            if code == _HTTP_GONE:
                raise _Gone(message)
            raise ApiException(status=code, reason=f"watch ERROR event: {message}")
        metadata = obj.get("metadata") or {}
        if event_type == "BOOKMARK":
            self.bookmarks += 1
            self._resource_version = str(metadata.get("resourceVersion") or self._resource_version)
            return
        if event_type not in WATCH_TYPES:
            raise ValueError(f"unknown watch event type {event_type!r} for {self.resource.label}")
        self._writer.write(object_record(received, self.resource.kind, event_type, obj))
        self.watch_events += 1
        version = metadata.get("resourceVersion")
        if version:
            self._resource_version = str(version)


def _lines(response: Any) -> Iterator[str]:
    """The non-empty lines of a streaming response, each as soon as its newline arrives."""
    buffer = bytearray()
    for chunk in response.stream(amt=None, decode_content=False):
        buffer.extend(chunk if isinstance(chunk, bytes) else str(chunk).encode("utf-8"))
        start = 0
        while True:
            end = buffer.find(b"\n", start)
            if end < 0:
                break
            line = buffer[start:end].decode("utf-8", errors="replace").strip()
            start = end + 1
            if line:
                yield line
        del buffer[:start]
    tail = buffer.decode("utf-8", errors="replace").strip()
    if tail:
        yield tail


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ApiException):
        reason = str(exc.reason or "").strip().splitlines()
        return f"apiserver answered HTTP {exc.status} ({reason[0] if reason else 'no reason'})"
    if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
        return "no data from the watch within the read timeout (connection presumed dead)"
    if isinstance(exc, urllib3.exceptions.ProtocolError | urllib3.exceptions.HTTPError | OSError):
        return f"connection error: {type(exc).__name__}: {str(exc)[:200]}"
    if isinstance(exc, ValueError):
        return f"unreadable response: {str(exc)[:200]}"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


# --- the recorder --------------------------------------------------------------------------------


class KubernetesRecorder:
    """Background list+watch of the selected resources into one JSONL file.

    `start()` opens the file and starts one daemon thread per resource; `wait_until_synced()` blocks
    until each has written its first list; `stop()` ends every thread within about `stop_timeout`
    seconds, closes the still-open gaps and the file. Usable as a context manager.
    """

    def __init__(
        self,
        output: Path | str,
        resources: Sequence[WatchedResource],
        *,
        tuning: RecorderTuning | None = None,
        api_client: k8s_client.ApiClient | None = None,
    ) -> None:
        if not resources:
            raise ConfigError(
                "nothing to record", where="recorder resources", fix="select kinds and namespaces"
            )
        self.output = Path(output)
        self.resources = tuple(resources)
        self.tuning = tuning or RecorderTuning()
        self._api_client = api_client
        self._writer: JsonlWriter | None = None
        self._stopping = threading.Event()
        self._watchers: list[_ResourceWatcher] = []
        self._threads: list[threading.Thread] = []
        self.started_ms: int | None = None
        self.stopped_ms: int | None = None

    @classmethod
    def from_kubeconfig(
        cls,
        output: Path | str,
        *,
        kubeconfig: Path | str,
        context: str,
        namespaces: Sequence[str],
        kinds: Sequence[str] = KINDS,
        tuning: RecorderTuning | None = None,
    ) -> KubernetesRecorder:
        streams = sum(1 if k in CLUSTER_SCOPED_KINDS else len(set(namespaces)) for k in kinds)
        api = api_client(kubeconfig, context, connections=streams + 2)
        return cls(
            output, watched_resources(api, namespaces, kinds), tuning=tuning, api_client=api
        )

    def start(self) -> None:
        if self._threads:
            raise RuntimeError("recorder already started; a recorder runs once")
        self.started_ms = now_ms()
        self._writer = JsonlWriter(self.output)
        for resource in self.resources:
            watcher = _ResourceWatcher(resource, self._writer, self.tuning, self._stopping, self.started_ms)
            thread = threading.Thread(
                target=watcher.run,
                name=f"recorder-{resource.kind}-{resource.namespace or 'cluster'}",
                daemon=True,
            )
            self._watchers.append(watcher)
            self._threads.append(thread)
        for thread in self._threads:
            thread.start()

    def wait_until_synced(self, timeout: float = 30.0) -> None:
        """Block until every resource's first list is written.

        Raises EvidenceUnavailable naming each resource still unlisted and its last error."""
        deadline = time.monotonic() + timeout
        for watcher in self._watchers:
            watcher.synced.wait(max(0.0, deadline - time.monotonic()))
        late = [w for w in self._watchers if not w.synced.is_set()]
        if late:
            details = "; ".join(f"{w.resource.label}: {w.last_error or 'no answer yet'}" for w in late)
            raise EvidenceUnavailable(
                f"the Kubernetes recorder could not list {len(late)} resource(s) "
                f"within {timeout:.0f} s: {details}",
                where=str(self.output),
                fix="check that the apiserver is reachable and that the kubeconfig's user "
                "may list and watch these kinds",
            )

    @property
    def synced(self) -> bool:
        return bool(self._watchers) and all(w.synced.is_set() for w in self._watchers)

    @property
    def synced_ms(self) -> int | None:
        """When the last resource's first list was written: the earliest start of a fully seen window.

        A run's window should lie within [synced_ms, stopped_ms]: before it some kinds were not yet
        seen, and after stop() nothing is."""
        times = [w.synced_ms for w in self._watchers]
        if not times or any(t is None for t in times):
            return None
        return max(t for t in times if t is not None)

    def stop(self, timeout: float = 3.0) -> RecorderStats:
        """End every thread (within about `timeout` s), write the open gaps, close the file."""
        self._stopping.set()
        for watcher in self._watchers:
            watcher.interrupt()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in self._threads if t.is_alive()]
        if stuck:
            log.warning(
                "recorder: threads still blocked after %.1f s, their late lines are dropped: %s",
                timeout,
                stuck,
            )
        if self.stopped_ms is None:
            self.stopped_ms = now_ms()
        if self._writer is not None:
            self._writer.close()
        if self._api_client is not None:
            with contextlib.suppress(Exception):
                self._api_client.close()  # type: ignore[no-untyped-call,unused-ignore]
        return self.stats()

    def stats(self) -> RecorderStats:
        writer = self._writer
        return RecorderStats(
            lines=writer.lines if writer else 0,
            watch_events=sum(w.watch_events for w in self._watchers),
            relisted_objects=sum(w.relisted_objects for w in self._watchers),
            relists=sum(w.relists for w in self._watchers),
            gaps=sum(w.gaps for w in self._watchers),
            bookmarks=sum(w.bookmarks for w in self._watchers),
            reconnects=sum(w.reconnects for w in self._watchers),
            dropped_after_stop=writer.dropped if writer else 0,
            last_errors={w.resource.label: w.last_error for w in self._watchers if w.last_error},
            list_requests=sum(w.list_requests for w in self._watchers),
            watch_requests=sum(w.watch_requests for w in self._watchers),
        )

    def __enter__(self) -> Self:
        self.start()
        try:
            self.wait_until_synced()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
