"""evidence/k8s.jsonl: the Kubernetes recorder's lines (one watch event, gap or sync per line),
read back into the states the criteria judge. `watch_line` is the writer's side: the one way a
record becomes a line."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from sys import intern
from typing import Any

import msgspec

from validator.model import (
    WORKLOAD_KINDS,
    ContainerTermination,
    DaemonSetState,
    DeploymentState,
    EventState,
    HpaMetric,
    HpaState,
    K8sEvidence,
    LabelSelector,
    NodeState,
    PdbState,
    PodState,
    ReplicaSetState,
    StatefulSetState,
    WatchFold,
    WatchGap,
    WatchRecord,
    WorkloadState,
)
from validator.model.k8s import ObjectState
from validator.model.quantity import parse_quantity
from validator.run_directory.json_values import as_list, as_map, decode_line, numbered_lines, timestamp
from validator.run_directory.layout import K8S


def watch_line(record: Mapping[str, Any]) -> str:
    """One record as the recorder writes it: compact JSON, UTF-8 kept, one line."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"


def load_k8s(path: Path) -> K8sEvidence:
    """Fold the recorder's lines into per-object timelines in one streaming pass (memory grows with
    the objects and their state changes, not with the lines). A truncated last line (a crash
    mid-write) or a bad line makes the evidence partial; it is never fatal."""
    fold = WatchFold()
    relists = _RelistDeletions()
    shared: LabelSets = {}
    gaps: list[WatchGap] = []
    problems: list[str] = []
    cut_off_ms: int | None = None
    latest_ms = 0
    for number, line, last in numbered_lines(path):
        record = _typed_record(line, shared)
        if record is not None:  # a pod or an event of the usual shape: decoded typed, no dicts
            latest_ms = max(latest_ms, record.received_ms)
            for inferred in relists.record(record):
                fold.add(inferred)
            fold.add(record)
            continue
        try:
            raw = decode_line(line)
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            if last and not line.endswith("\n"):
                problems.append(f"{K8S}: last line {number} is truncated (the recorder stopped mid-write)")
                cut_off_ms = latest_ms
            else:
                problems.append(f"{K8S}:{number}: unreadable line skipped ({exc})")
            continue
        kind = intern(str(raw.get("kind", "")))
        event_type = intern(str(raw.get("type", "")))
        if event_type == "GAP":
            gap = WatchGap(
                kind=kind,
                from_ms=int(raw.get("from_ms", 0) or 0),
                to_ms=int(raw.get("to_ms", 0) or 0),
                reason=str(raw.get("reason", "")),
                namespace=str(raw.get("namespace", "") or ""),
                relist=raw.get("relist") is True,
            )
            gaps.append(gap)
            relists.gap(kind, gap.namespace)
            latest_ms = max(latest_ms, int(raw.get("received_ms", gap.to_ms) or 0))
            continue
        obj = raw.get("object")
        try:
            state = parse_object(kind, obj, shared=shared) if isinstance(obj, dict) else None
        except (TypeError, ValueError, AttributeError) as exc:
            problems.append(f"{K8S}:{number}: {kind} object not understood ({exc})")
            state = None
        record = WatchRecord(
            received_ms=int(raw.get("received_ms", 0) or 0),
            kind=kind,
            type=event_type,
            namespace=intern(str(raw.get("namespace", "") or "")),
            name=intern(str(raw.get("name", "") or "")),
            uid=intern(str(raw.get("uid", "") or "")),
            resource_version=str(raw.get("resource_version", "") or ""),
            state=state,
        )
        latest_ms = max(latest_ms, record.received_ms)
        for inferred in relists.record(record):
            fold.add(inferred)
        fold.add(record)
    for inferred in relists.close():
        fold.add(inferred)
    partial = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
    return fold.evidence(gaps=tuple(gaps), partial=partial, cut_off_ms=cut_off_ms)


# The lines of most runs are pods and their events. Decoded into these types (only the fields the
# evidence keeps; msgspec skips the rest without building them), they cost a fraction of a decode
# into dicts and a walk over them. Any line these types do not fit (another kind, a GAP, a field of
# an unexpected type, a truncated line) is read by the dict path below, whose reading a typed one
# matches field by field: the same record either way.


class _Owner(msgspec.Struct):
    name: str = ""
    kind: str = ""


class _Meta(msgspec.Struct, rename="camel"):
    labels: dict[str, str] = {}
    owner_references: list[_Owner] = []
    deletion_timestamp: Any = None  # only whether it is set
    namespace: str = ""


class _PodSpec(msgspec.Struct, rename="camel"):
    node_name: str = ""


class _Condition(msgspec.Struct, rename="camel"):
    type: str | None = None
    status: str | None = None
    reason: str | None = None
    last_transition_time: str | None = None


class _ContainerState(msgspec.Struct):
    terminated: dict[str, Any] | None = None


class _ContainerStatus(msgspec.Struct, rename="camel"):
    name: str = ""
    restart_count: int = 0
    state: _ContainerState | None = None
    last_state: _ContainerState | None = None


class _PodStatus(msgspec.Struct, rename="camel"):
    phase: str = ""
    conditions: list[_Condition] = []
    container_statuses: list[_ContainerStatus] = []
    init_container_statuses: list[_ContainerStatus] = []


class _Involved(msgspec.Struct):
    kind: str = ""
    name: str = ""
    namespace: str = ""


class _Object(msgspec.Struct, rename="camel"):
    """A pod's fields and an event's in one type, so a line is decoded in one pass whichever it is."""

    metadata: _Meta = msgspec.field(default_factory=_Meta)
    spec: _PodSpec = msgspec.field(default_factory=_PodSpec)  # a pod's
    status: _PodStatus = msgspec.field(default_factory=_PodStatus)
    involved_object: _Involved = msgspec.field(default_factory=_Involved)  # an event's
    reason: str = ""
    message: str = ""
    type: str = ""
    event_time: str | None = None
    last_timestamp: str | None = None
    first_timestamp: str | None = None


class _Line(msgspec.Struct):
    received_ms: int = 0
    kind: str = ""
    type: str = ""
    namespace: str = ""
    name: str = ""
    uid: str = ""
    resource_version: str = ""
    object: _Object | None = None


_LINE = msgspec.json.Decoder(_Line)


def _typed_record(line: str, shared: LabelSets) -> WatchRecord | None:
    """The record of a pod or event line, decoded typed; None for any other line."""
    try:
        head = _LINE.decode(line)
        obj = head.object
        if obj is None or head.type == "GAP":
            return None
        state: ObjectState
        if head.kind == "Pod":
            state = _typed_pod(obj, shared)
        elif head.kind == "Event":
            state = _typed_event(obj)
        else:
            return None
    except (msgspec.MsgspecError, TypeError, ValueError, AttributeError):
        return None  # the dict path reads it, and says what is wrong with it
    return WatchRecord(
        received_ms=head.received_ms,
        kind=intern(head.kind),
        type=intern(head.type),
        namespace=intern(head.namespace),
        name=intern(head.name),
        uid=intern(head.uid),
        resource_version=head.resource_version,
        state=state,
    )


def _typed_pod(pod: _Object, shared: LabelSets) -> PodState:
    """`_pod`, of a typed pod."""
    meta, status = pod.metadata, pod.status
    owner = meta.owner_references[0] if meta.owner_references else _Owner()
    terminations: list[ContainerTermination] = []
    for cs in status.container_statuses + status.init_container_statuses:
        for holder in (cs.state, cs.last_state):
            term = holder.terminated if holder is not None else None
            if term:
                code = term.get("exitCode")
                terminations.append(
                    ContainerTermination(
                        container=intern(cs.name),
                        reason=intern(str(term.get("reason", "") or "")),
                        exit_code=int(code) if code is not None else None,
                        finished_at=timestamp(term.get("finishedAt")),
                        restart_count=cs.restart_count,
                    )
                )
    evicted_at = None
    ready = False
    for cond in status.conditions:
        if cond.type == "Ready" and cond.status == "True":
            ready = True
        if (
            cond.type == "DisruptionTarget"
            and cond.status == "True"
            and cond.reason == "EvictionByEvictionAPI"
        ):
            evicted_at = timestamp(cond.last_transition_time)
    return PodState(
        labels=_typed_labels(meta.labels, shared),
        node_name=intern(pod.spec.node_name),
        phase=intern(status.phase),
        ready=ready,
        deleting=bool(meta.deletion_timestamp),
        owner_kind=intern(owner.kind),
        owner_name=intern(owner.name),
        terminations=tuple(terminations),
        evicted_at=evicted_at,
    )


def _typed_labels(labels: dict[str, str], shared: LabelSets) -> dict[str, str]:
    """`_labels` of labels decoded typed (every key and value a string already)."""
    key = tuple(labels.items())
    found = shared.get(key)
    if found is None:
        found = shared[key] = {intern(k): intern(v) for k, v in labels.items()}
    return found


def _typed_event(event: _Object) -> EventState:
    """`parse_object`'s event, of a typed one."""
    when = None
    for written in (event.event_time, event.last_timestamp, event.first_timestamp):
        when = timestamp(written)
        if when is not None:
            break
    involved = event.involved_object
    return EventState(
        reason=intern(event.reason),
        message=event.message,
        type=intern(event.type),
        involved_kind=intern(involved.kind),
        involved_name=intern(involved.name),
        involved_namespace=intern(involved.namespace or event.metadata.namespace),
        time=when,
    )


class _RelistDeletions:
    """An object seen before a GAP and absent from the RELIST batch right after it was deleted in
    the gap (docs of the recorder): yields a DELETED record at the batch's time. Streaming: it keeps
    the names alive per (kind, namespace), never the lines."""

    def __init__(self) -> None:
        self._alive: dict[tuple[str, str], set[str]] = {}  # (kind, namespace) -> names
        self._batch: dict[tuple[str, str], tuple[int, set[str]]] = {}  # open relist batch after a gap

    def gap(self, kind: str, namespace: str) -> None:
        self._batch[(kind, namespace)] = (-1, set())

    def record(self, record: WatchRecord) -> list[WatchRecord]:
        """The deletions `record` reveals (it ends a relist batch), before `record` itself."""
        out: list[WatchRecord] = []
        if self._batch:
            for scope in [s for s in self._batch if s[0] == record.kind and s[1] in ("", record.namespace)]:
                started, names = self._batch[scope]
                if record.type == "RELIST":
                    names.add(record.name)
                    self._batch[scope] = (record.received_ms if started < 0 else started, names)
                    continue
                if started >= 0:  # the batch ended: whatever it did not list is gone
                    out.extend(self._close(scope, started, names))
                del self._batch[scope]
        names_alive = self._alive.setdefault((record.kind, record.namespace), set())
        if record.type == "DELETED":
            names_alive.discard(record.name)
        else:
            names_alive.add(record.name)
        return out

    def close(self) -> list[WatchRecord]:
        out: list[WatchRecord] = []
        for scope, (started, names) in self._batch.items():
            if started >= 0:
                out.extend(self._close(scope, started, names))
        self._batch.clear()
        return out

    def _close(self, scope: tuple[str, str], started: int, listed: set[str]) -> list[WatchRecord]:
        kind, namespace = scope
        gone: list[WatchRecord] = []
        for (k, ns), names in self._alive.items():
            if k != kind or (namespace and ns != namespace):
                continue
            for name in sorted(names - listed):
                gone.append(
                    WatchRecord(received_ms=started, kind=kind, type="DELETED", namespace=ns, name=name)
                )
            names &= listed
        return gone


# Label sets seen while reading one file: equal sets share one dict (the pods of one workload carry
# the same labels, and the evidence keeps thousands of them).
LabelSets = dict[tuple[tuple[str, str], ...], dict[str, str]]  # keyed by the labels as written


def _labels(raw: object, shared: LabelSets | None) -> dict[str, str]:
    items = as_map(raw).items()
    if shared is not None and all(type(k) is str and type(v) is str for k, v in items):
        key = tuple(items)
        found = shared.get(key)
        if found is None:
            found = shared[key] = {intern(k): intern(v) for k, v in items}
        return found
    return {intern(str(k)): intern(str(v)) for k, v in items}


def parse_object(kind: str, obj: Mapping[str, Any], *, shared: LabelSets | None = None) -> ObjectState | None:
    """A typed view of one Kubernetes object (camelCase JSON, as the apiserver sends it). Strings
    the evidence repeats are interned; `shared` lets equal label sets share one dict."""
    meta = as_map(obj.get("metadata"))
    spec = as_map(obj.get("spec"))
    status = as_map(obj.get("status"))
    labels = _labels(meta.get("labels"), shared)
    if kind == "Pod":
        return _pod(meta, spec, status, labels)
    if kind == "Node":
        return NodeState(
            unschedulable=bool(spec.get("unschedulable", False)), ready=_condition(status, "Ready")
        )
    if kind in WORKLOAD_KINDS:
        return _workload(kind, spec, status, labels, shared)
    if kind == "ReplicaSet":
        owners = as_list(meta.get("ownerReferences"))
        owner = as_map(owners[0]) if owners else {}
        return ReplicaSetState(
            labels=labels,
            owner_name=intern(str(owner.get("name", "") or "")),
            owner_kind=intern(str(owner.get("kind", "") or "")),
        )
    if kind == "HorizontalPodAutoscaler":
        return _hpa(spec, status)
    if kind == "PodDisruptionBudget":
        return PdbState(
            selector=_selector(spec.get("selector")),
            min_available=_as_written(spec.get("minAvailable")),
            max_unavailable=_as_written(spec.get("maxUnavailable")),
            current_healthy=int(status.get("currentHealthy", 0) or 0),
            desired_healthy=int(status.get("desiredHealthy", 0) or 0),
            disruptions_allowed=int(status.get("disruptionsAllowed", 0) or 0),
            expected_pods=int(status.get("expectedPods", 0) or 0),
        )
    if kind == "Event":
        involved = as_map(obj.get("involvedObject"))
        when = None
        for key in ("eventTime", "lastTimestamp", "firstTimestamp"):
            when = timestamp(obj.get(key))
            if when is not None:
                break
        return EventState(
            reason=intern(str(obj.get("reason", "") or "")),
            message=str(obj.get("message", "") or ""),
            type=intern(str(obj.get("type", "") or "")),
            involved_kind=intern(str(involved.get("kind", "") or "")),
            involved_name=intern(str(involved.get("name", "") or "")),
            involved_namespace=intern(str(involved.get("namespace", "") or meta.get("namespace", "") or "")),
            time=when,
        )
    return None


def _selector(raw: object) -> LabelSelector:
    """The object's label selector; one the apiserver accepted is well formed, anything else is a
    ValueError (the line is then reported as not understood)."""
    return LabelSelector.from_api(raw if isinstance(raw, dict) else None)


def _workload(
    kind: str,
    spec: Mapping[str, Any],
    status: Mapping[str, Any],
    labels: dict[str, str],
    shared: LabelSets | None,
) -> WorkloadState:
    template = as_map(as_map(spec.get("template")).get("metadata"))
    common: dict[str, Any] = {
        "labels": labels,
        "pod_labels": _labels(template.get("labels"), shared),
        "selector": _selector(spec.get("selector")),
    }
    if kind == "DaemonSet":
        return DaemonSetState(
            **common,
            replicas=int(status.get("desiredNumberScheduled", 0) or 0),
            ready_replicas=int(status.get("numberReady", 0) or 0),
            available_replicas=int(status.get("numberAvailable", 0) or 0),
        )
    replicas = spec.get("replicas")
    state = DeploymentState if kind == "Deployment" else StatefulSetState
    return state(
        **common,
        replicas=int(replicas) if replicas is not None else 1,
        ready_replicas=int(status.get("readyReplicas", 0) or 0),
        available_replicas=int(status.get("availableReplicas", 0) or 0),
    )


def _pod(
    meta: Mapping[str, Any], spec: Mapping[str, Any], status: Mapping[str, Any], labels: dict[str, str]
) -> PodState:
    owners = as_list(meta.get("ownerReferences"))
    owner = as_map(owners[0]) if owners else {}
    terminations: list[ContainerTermination] = []
    for cs in as_list(status.get("containerStatuses")) + as_list(status.get("initContainerStatuses")):
        cs = as_map(cs)
        restarts = int(cs.get("restartCount", 0) or 0)
        for holder, count in ((cs.get("state"), restarts), (cs.get("lastState"), restarts)):
            term = as_map(as_map(holder).get("terminated"))
            if term:
                code = term.get("exitCode")
                terminations.append(
                    ContainerTermination(
                        container=intern(str(cs.get("name", ""))),
                        reason=intern(str(term.get("reason", "") or "")),
                        exit_code=int(code) if code is not None else None,
                        finished_at=timestamp(term.get("finishedAt")),
                        restart_count=count,
                    )
                )
    evicted_at = None
    for cond in as_list(status.get("conditions")):
        cond = as_map(cond)
        if (
            cond.get("type") == "DisruptionTarget"
            and cond.get("status") == "True"
            and cond.get("reason") == "EvictionByEvictionAPI"
        ):
            evicted_at = timestamp(cond.get("lastTransitionTime"))
    return PodState(
        labels=labels,
        node_name=intern(str(spec.get("nodeName", "") or "")),
        phase=intern(str(status.get("phase", "") or "")),
        ready=_condition(status, "Ready"),
        deleting=bool(meta.get("deletionTimestamp")),
        owner_kind=intern(str(owner.get("kind", "") or "")),
        owner_name=intern(str(owner.get("name", "") or "")),
        terminations=tuple(terminations),
        evicted_at=evicted_at,
    )


def _hpa(spec: Mapping[str, Any], status: Mapping[str, Any]) -> HpaState:
    targets: dict[tuple[str, str], float | None] = {}
    for metric in as_list(spec.get("metrics")):
        ident, target = _hpa_metric(as_map(metric), "target")
        targets[ident] = target
    currents: dict[tuple[str, str], float | None] = {}
    for metric in as_list(status.get("currentMetrics")):
        ident, current = _hpa_metric(as_map(metric), "current")
        currents[ident] = current
    metrics = tuple(
        HpaMetric(name=f"{t}/{n}", current=currents.get((t, n)), target=target)
        for (t, n), target in sorted(targets.items())
    )
    return HpaState(
        min_replicas=int(spec.get("minReplicas", 1) or 1),
        max_replicas=int(spec.get("maxReplicas", 0) or 0),
        current_replicas=int(status.get("currentReplicas", 0) or 0),
        desired_replicas=int(status.get("desiredReplicas", 0) or 0),
        metrics=metrics,
    )


def _hpa_metric(metric: Mapping[str, Any], side: str) -> tuple[tuple[str, str], float | None]:
    """((type, name), value) of an autoscaling/v2 MetricSpec (side=target) or MetricStatus (current)."""
    mtype = str(metric.get("type", ""))
    body = as_map(
        metric.get(
            {
                "Resource": "resource",
                "ContainerResource": "containerResource",
                "Pods": "pods",
                "Object": "object",
                "External": "external",
            }.get(mtype, "")
        )
    )
    name = str(body.get("name", "") or as_map(body.get("metric")).get("name", "") or "")
    values = as_map(body.get(side))
    for key in ("averageUtilization", "averageValue", "value"):
        if values.get(key) is not None:
            return (mtype, name), parse_quantity(values[key])
    return (mtype, name), None


def _condition(status: Mapping[str, Any], ctype: str) -> bool:
    return any(
        as_map(c).get("type") == ctype and as_map(c).get("status") == "True"
        for c in as_list(status.get("conditions"))
    )


def _as_written(value: Any) -> str:
    """A budget's int-or-percentage field as written: 0 stays "0" (it is the budget that blocks)."""
    return "" if value is None else str(value)
