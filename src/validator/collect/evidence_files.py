"""Reading a run directory back into `Evidence` (no network): the loaders where raw JSON stops.

Layout and formats: docs/run-directory.md. A missing source is recorded in `Evidence.missing` with
the reason; a damaged one (a truncated last line after a crash, an unreadable line) is kept with its
`partial` reason, so criteria can say inconclusive rather than pass. Only a run directory that cannot
be used at all (no directory, no or invalid manifest.json) raises.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from validator.config.criteria_file import parse_criteria_overrides
from validator.errors import ConfigError
from validator.model import (
    DEFAULT_CONTROLLER_SELECTOR,
    WORKLOAD_KINDS,
    ActivityRun,
    ChaosEvidence,
    ChaosRun,
    ContainerTermination,
    DaemonSetState,
    DeploymentState,
    EventState,
    Evidence,
    FaultWindow,
    HpaMetric,
    HpaState,
    K8sEvidence,
    LabelSelector,
    LoadEvidence,
    LoadFailure,
    LoadSample,
    MetricsEvidence,
    NodeState,
    NotInjected,
    PdbState,
    PodState,
    QueryResult,
    QueryStatus,
    ReplicaSetState,
    RunManifest,
    Series,
    SourceName,
    StatefulSetState,
    TimeWindow,
    WatchGap,
    WatchRecord,
    WorkloadState,
    parse_rfc3339,
)
from validator.model.k8s import ObjectState
from validator.model.quantity import parse_quantity

MANIFEST = "manifest.json"
K8S = "evidence/k8s.jsonl"
METRICS = "evidence/metrics.json"
LOCUST_HISTORY = "load/locust_stats_history.csv"
LOCUST_FAILURES = "load/locust_failures.csv"
FAULTS = "chaos/faults.jsonl"

T = TypeVar("T")

__all__ = [
    "load_chaos",
    "load_k8s",
    "load_load",
    "load_manifest",
    "load_metrics",
    "load_run_directory",
    "parse_quantity",
]


def load_run_directory(run_dir: Path) -> Evidence:
    """Everything a run directory holds. Raises ConfigError when it is not a usable run directory."""
    if not run_dir.is_dir():
        raise ConfigError(
            f"run directory {run_dir} does not exist",
            where=str(run_dir),
            fix="pass a directory written by `validator run` (reports/<run-id>/)",
        )
    manifest = load_manifest(run_dir / MANIFEST)
    missing: dict[SourceName, str] = {}
    k8s = _optional(run_dir / K8S, SourceName.K8S, missing, load_k8s, "the Kubernetes recorder did not run")
    metrics = _optional(
        run_dir / METRICS, SourceName.METRICS, missing, load_metrics, "Prometheus was not queried"
    )
    load = _optional(run_dir / LOCUST_HISTORY, SourceName.LOAD, missing, load_load, "no load was generated")
    chaos: ChaosEvidence | None = None
    journals = sorted((run_dir / "chaos").glob("journal*.json")) if (run_dir / "chaos").is_dir() else []
    if (run_dir / FAULTS).is_file() or journals:
        chaos = load_chaos(run_dir / FAULTS, journals)
    else:
        missing[SourceName.CHAOS] = f"{FAULTS} and chaos/journal*.json not found (no fault was injected)"
    return Evidence(manifest=manifest, k8s=k8s, metrics=metrics, load=load, chaos=chaos, missing=missing)


def _optional(
    path: Path, source: SourceName, missing: dict[SourceName, str], loader: Callable[[Path], T], why: str
) -> T | None:
    if not path.is_file():
        missing[source] = f"{path.parent.name}/{path.name} not found ({why})"
        return None
    try:
        return loader(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        missing[source] = f"{path.parent.name}/{path.name} unreadable: {exc}"
        return None


# --- manifest.json ----------------------------------------------------------------------------


def load_manifest(path: Path) -> RunManifest:
    where = str(path)
    if not path.is_file():
        raise ConfigError(
            f"{path.parent} is not a run directory: {path.name} not found",
            where=where,
            fix="pass a directory written by `validator run`; the manifest is written first",
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{where}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}",
            where=where,
            fix="repair or rewrite it",
        ) from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a JSON object", where=where)
    errors: list[str] = []
    run_id = raw.get("run_id")
    if not isinstance(run_id, str) or not run_id:
        errors.append(f"{where}: run_id: missing or not a string")
    window_raw = raw.get("window")
    start = end = None
    if not isinstance(window_raw, dict):
        errors.append(f'{where}: window: missing; expected {{"start": RFC3339, "end": RFC3339}}')
    else:
        for key in ("start", "end"):
            value = window_raw.get(key)
            try:
                parsed = parse_rfc3339(value) if isinstance(value, str) else None
            except ValueError as exc:
                errors.append(f"{where}: window.{key}: {exc}")
                continue
            if parsed is None:
                errors.append(
                    f"{where}: window.{key}: missing; expected an RFC 3339 time like 2026-11-20T02:00:00Z"
                )
            elif key == "start":
                start = parsed
            else:
                end = parsed
        if start is not None and end is not None and end < start:
            errors.append(
                f"{where}: window.end ({window_raw.get('end')}) precedes window.start "
                f"({window_raw.get('start')})"
            )
    namespaces = raw.get("namespaces", [])
    if not isinstance(namespaces, list) or not all(isinstance(n, str) for n in namespaces):
        errors.append(f"{where}: namespaces: expected a list of names")
        namespaces = []
    expected_raw = raw.get("expected_alerts", {}) or {}
    expected: dict[str, tuple[str, ...]] = {}
    if not isinstance(expected_raw, dict):
        errors.append(f"{where}: expected_alerts: expected a mapping of fault name to alert names")
    else:
        for fault, names in expected_raw.items():
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                errors.append(f"{where}: expected_alerts.{fault}: expected a list of alert names")
            else:
                expected[str(fault)] = tuple(names)
    selector_text = raw.get("controller_selector", DEFAULT_CONTROLLER_SELECTOR)
    selector = _parse_selector(selector_text, where, errors)
    agent_label = raw.get("agent_label", "app.kubernetes.io/name")
    if not isinstance(agent_label, str) or not agent_label:
        errors.append(f"{where}: agent_label: expected a label key like app.kubernetes.io/name")
        agent_label = "app.kubernetes.io/name"
    load_raw = raw.get("load") or {}
    time_factor = load_raw.get("time_factor", 1) if isinstance(load_raw, dict) else 1
    if isinstance(time_factor, bool) or not isinstance(time_factor, (int, float)) or time_factor <= 0:
        errors.append(f"{where}: load.time_factor: expected a positive number (1 on a real cluster)")
        time_factor = 1
    try:
        overrides = parse_criteria_overrides(raw.get("criteria", {}), source=where)
    except ConfigError as exc:
        errors.extend(line.strip() for line in exc.what.splitlines()[1:])
        overrides = {}
    if errors or start is None or end is None or not isinstance(run_id, str):
        raise ConfigError(
            f"invalid manifest ({len(errors)} problem(s)):\n  " + "\n  ".join(errors),
            where=where,
            fix="see docs/run-directory.md for the manifest's fields",
        )
    return RunManifest(
        run_id=run_id,
        window=TimeWindow(start=start, end=end),
        suite=str(raw.get("suite", "") or ""),
        context=str(raw.get("context", "") or ""),
        namespaces=tuple(namespaces),
        sandbox=bool(raw.get("sandbox", False)),
        time_factor=float(time_factor),
        agent_label=agent_label,
        controller_selector=selector,
        expected_alerts=expected,
        criteria=overrides,
    )


def _parse_selector(text: object, where: str, errors: list[str]) -> LabelSelector:
    if not isinstance(text, str):
        errors.append(f"{where}: controller_selector: expected a label selector like `key=value[,key=value]`")
        return LabelSelector.parse(DEFAULT_CONTROLLER_SELECTOR)
    try:
        return LabelSelector.parse(text)
    except ValueError as exc:
        errors.append(f"{where}: controller_selector: {exc}")
        return LabelSelector.parse(DEFAULT_CONTROLLER_SELECTOR)


# --- evidence/k8s.jsonl -----------------------------------------------------------------------


def load_k8s(path: Path) -> K8sEvidence:
    """Stream the recorder's lines. A truncated last line (a crash mid-write) or a bad line makes the
    evidence partial; it is never fatal."""
    records: list[WatchRecord] = []
    gaps: list[WatchGap] = []
    problems: list[str] = []
    cut_off_ms: int | None = None
    for number, line, last in _lines(path):
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
        except ValueError as exc:
            if last and not line.endswith("\n"):
                problems.append(f"{K8S}: last line {number} is truncated (the recorder stopped mid-write)")
                cut_off_ms = max((r.received_ms for r in records), default=0)
            else:
                problems.append(f"{K8S}:{number}: unreadable line skipped ({exc})")
            continue
        kind = str(raw.get("kind", ""))
        event_type = str(raw.get("type", ""))
        if event_type == "GAP":
            gaps.append(
                WatchGap(
                    kind=kind,
                    from_ms=int(raw.get("from_ms", 0) or 0),
                    to_ms=int(raw.get("to_ms", 0) or 0),
                    reason=str(raw.get("reason", "")),
                    namespace=str(raw.get("namespace", "") or ""),
                    relist=raw.get("relist") is True,
                )
            )
            records.append(
                WatchRecord(
                    received_ms=int(raw.get("received_ms", raw.get("to_ms", 0)) or 0),
                    kind=kind,
                    type="GAP",
                    namespace=str(raw.get("namespace", "") or ""),
                    name="",
                )
            )
            continue
        obj = raw.get("object")
        try:
            state = parse_object(kind, obj) if isinstance(obj, dict) else None
        except (TypeError, ValueError, AttributeError) as exc:
            problems.append(f"{K8S}:{number}: {kind} object not understood ({exc})")
            state = None
        records.append(
            WatchRecord(
                received_ms=int(raw.get("received_ms", 0) or 0),
                kind=kind,
                type=event_type,
                namespace=str(raw.get("namespace", "") or ""),
                name=str(raw.get("name", "") or ""),
                uid=str(raw.get("uid", "") or ""),
                resource_version=str(raw.get("resource_version", "") or ""),
                state=state,
            )
        )
    records = _deletions_during_gaps(records)
    partial = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
    return K8sEvidence(
        records=tuple(r for r in records if r.type != "GAP"),
        gaps=tuple(gaps),
        partial=partial,
        cut_off_ms=cut_off_ms,
    )


def _lines(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(1-based number, text, is_last) for each non-blank line, streaming."""
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        previous: tuple[int, str] | None = None
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            if previous is not None:
                yield previous[0], previous[1], False
            previous = (number, line)
        if previous is not None:
            yield previous[0], previous[1], True


def _deletions_during_gaps(records: list[WatchRecord]) -> list[WatchRecord]:
    """An object seen before a GAP and absent from the RELIST batch right after it was deleted in
    the gap (docs of the recorder): add a DELETED record at the batch's time."""
    out: list[WatchRecord] = []
    alive: dict[tuple[str, str], set[str]] = {}  # (kind, namespace) -> names
    batch: dict[tuple[str, str], tuple[int, set[str]]] = {}  # open relist batch after a gap
    for record in records:
        scope = (record.kind, record.namespace)
        if record.type == "GAP":
            batch[scope] = (-1, set())
            out.append(record)
            continue
        for open_scope in [s for s in batch if s[0] == record.kind and (s[1] in ("", record.namespace))]:
            started, names = batch[open_scope]
            if record.type == "RELIST":
                batch[open_scope] = (record.received_ms if started < 0 else started, names | {record.name})
                continue
            if started >= 0:  # the batch ended: whatever it did not list is gone
                out.extend(_close_batch(open_scope, started, names, alive))
            del batch[open_scope]
        names_alive = alive.setdefault(scope, set())
        if record.type == "DELETED":
            names_alive.discard(record.name)
        else:
            names_alive.add(record.name)
        out.append(record)
    for open_scope, (started, names) in batch.items():
        if started >= 0:
            out.extend(_close_batch(open_scope, started, names, alive))
    return out


def _close_batch(
    scope: tuple[str, str], started: int, listed: set[str], alive: dict[tuple[str, str], set[str]]
) -> list[WatchRecord]:
    kind, namespace = scope
    gone: list[WatchRecord] = []
    for (k, ns), names in alive.items():
        if k != kind or (namespace and ns != namespace):
            continue
        for name in sorted(names - listed):
            gone.append(WatchRecord(received_ms=started, kind=kind, type="DELETED", namespace=ns, name=name))
        names &= listed
    return gone


def parse_object(kind: str, obj: Mapping[str, Any]) -> ObjectState | None:
    """A typed view of one Kubernetes object (camelCase JSON, as the apiserver sends it)."""
    meta = _map(obj.get("metadata"))
    spec = _map(obj.get("spec"))
    status = _map(obj.get("status"))
    labels = {str(k): str(v) for k, v in _map(meta.get("labels")).items()}
    if kind == "Pod":
        return _pod(meta, spec, status, labels)
    if kind == "Node":
        return NodeState(
            unschedulable=bool(spec.get("unschedulable", False)), ready=_condition(status, "Ready")
        )
    if kind in WORKLOAD_KINDS:
        return _workload(kind, spec, status, labels)
    if kind == "ReplicaSet":
        owners = _list(meta.get("ownerReferences"))
        owner = _map(owners[0]) if owners else {}
        return ReplicaSetState(
            labels=labels,
            owner_name=str(owner.get("name", "") or ""),
            owner_kind=str(owner.get("kind", "") or ""),
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
        involved = _map(obj.get("involvedObject"))
        when = None
        for key in ("eventTime", "lastTimestamp", "firstTimestamp"):
            when = _time(obj.get(key))
            if when is not None:
                break
        return EventState(
            reason=str(obj.get("reason", "") or ""),
            message=str(obj.get("message", "") or ""),
            type=str(obj.get("type", "") or ""),
            involved_kind=str(involved.get("kind", "") or ""),
            involved_name=str(involved.get("name", "") or ""),
            involved_namespace=str(involved.get("namespace", "") or meta.get("namespace", "") or ""),
            time=when,
        )
    return None


def _selector(raw: object) -> LabelSelector:
    """The object's label selector; one the apiserver accepted is well formed, anything else is a
    ValueError (the line is then reported as not understood)."""
    return LabelSelector.from_api(raw if isinstance(raw, dict) else None)


def _workload(
    kind: str, spec: Mapping[str, Any], status: Mapping[str, Any], labels: dict[str, str]
) -> WorkloadState:
    template = _map(_map(spec.get("template")).get("metadata"))
    common: dict[str, Any] = {
        "labels": labels,
        "pod_labels": {str(k): str(v) for k, v in _map(template.get("labels")).items()},
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
    owners = _list(meta.get("ownerReferences"))
    owner = _map(owners[0]) if owners else {}
    terminations: list[ContainerTermination] = []
    for cs in _list(status.get("containerStatuses")) + _list(status.get("initContainerStatuses")):
        cs = _map(cs)
        restarts = int(cs.get("restartCount", 0) or 0)
        for holder, count in ((cs.get("state"), restarts), (cs.get("lastState"), restarts)):
            term = _map(_map(holder).get("terminated"))
            if term:
                code = term.get("exitCode")
                terminations.append(
                    ContainerTermination(
                        container=str(cs.get("name", "")),
                        reason=str(term.get("reason", "") or ""),
                        exit_code=int(code) if code is not None else None,
                        finished_at=_time(term.get("finishedAt")),
                        restart_count=count,
                    )
                )
    evicted_at = None
    for cond in _list(status.get("conditions")):
        cond = _map(cond)
        if (
            cond.get("type") == "DisruptionTarget"
            and cond.get("status") == "True"
            and cond.get("reason") == "EvictionByEvictionAPI"
        ):
            evicted_at = _time(cond.get("lastTransitionTime"))
    return PodState(
        labels=labels,
        node_name=str(spec.get("nodeName", "") or ""),
        phase=str(status.get("phase", "") or ""),
        ready=_condition(status, "Ready"),
        deleting=bool(meta.get("deletionTimestamp")),
        owner_kind=str(owner.get("kind", "") or ""),
        owner_name=str(owner.get("name", "") or ""),
        terminations=tuple(terminations),
        evicted_at=evicted_at,
    )


def _hpa(spec: Mapping[str, Any], status: Mapping[str, Any]) -> HpaState:
    targets: dict[tuple[str, str], float | None] = {}
    for metric in _list(spec.get("metrics")):
        ident, target = _hpa_metric(_map(metric), "target")
        targets[ident] = target
    currents: dict[tuple[str, str], float | None] = {}
    for metric in _list(status.get("currentMetrics")):
        ident, current = _hpa_metric(_map(metric), "current")
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
    body = _map(
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
    name = str(body.get("name", "") or _map(body.get("metric")).get("name", "") or "")
    values = _map(body.get(side))
    for key in ("averageUtilization", "averageValue", "value"):
        if values.get(key) is not None:
            return (mtype, name), parse_quantity(values[key])
    return (mtype, name), None


def _condition(status: Mapping[str, Any], ctype: str) -> bool:
    return any(
        _map(c).get("type") == ctype and _map(c).get("status") == "True"
        for c in _list(status.get("conditions"))
    )


def _map(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _time(value: object) -> float | None:
    """Epoch seconds of a Kubernetes or Chaos Toolkit timestamp; naive times are UTC."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    try:
        return parse_rfc3339(text)
    except ValueError:
        try:
            return parse_rfc3339(text + "Z")
        except ValueError:
            return None


# --- evidence/metrics.json --------------------------------------------------------------------


def load_metrics(path: Path) -> MetricsEvidence:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("queries"), dict):
        raise ValueError("expected an object with a `queries` mapping (schema validator.metrics/v1)")
    problems: list[str] = []
    queries: dict[str, QueryResult] = {}
    for key, entry in raw["queries"].items():
        if not isinstance(entry, dict):
            problems.append(f"queries.{key}: not an object")
            continue
        status = entry.get("status")
        if status == "ok":
            series = []
            unread = 0
            for item in _list(entry.get("series")):
                item = _map(item)
                points = []
                for point in _list(item.get("points")):
                    try:
                        t, v = float(point[0]), float(point[1])
                    except (TypeError, ValueError, IndexError):
                        unread += 1
                        continue
                    if math.isfinite(v):
                        points.append((t, v))
                labels = {str(k): str(v) for k, v in _map(item.get("labels")).items()}
                series.append(Series(labels=labels, points=tuple(sorted(points))))
            partial = f"{unread} point(s) of query `{key}` are not [time, value]" if unread else ""
            if partial:
                problems.append(f"queries.{key}: {partial}")
            queries[str(key)] = QueryResult(
                key=str(key), promql=str(entry.get("promql", "")), series=tuple(series), partial=partial
            )
        else:
            queries[str(key)] = QueryResult(
                key=str(key),
                promql=str(entry.get("promql", "")),
                status=QueryStatus.ERROR,
                error=str(entry.get("error", "") or f"status {status!r}"),
            )
    step = raw.get("step_seconds", 15)
    return MetricsEvidence(
        queries=queries,
        step_seconds=float(step) if isinstance(step, int | float) and step > 0 else 15.0,
        prometheus_url=str(raw.get("prometheus_url", "") or ""),
        partial="; ".join(problems[:3]),
    )


# --- load/locust_stats_history.csv ------------------------------------------------------------


def load_load(path: Path) -> LoadEvidence:
    """Locust 2.47 `--csv-full-history` rows (epoch-second Timestamp, response times in ms)."""
    samples: list[LoadSample] = []
    problems: list[str] = []
    with path.open("r", encoding="utf-8", newline="") as handle:
        text = handle.read()
    truncated = bool(text) and not text.endswith("\n")
    reader = csv.DictReader(text.splitlines())
    required = {"Timestamp", "Name", "Total Request Count", "Total Failure Count"}
    if reader.fieldnames is None or not required <= set(reader.fieldnames):
        raise ValueError(f"not a Locust stats history: needs columns {', '.join(sorted(required))}")
    rows = list(reader)
    for number, row in enumerate(rows, start=2):
        try:
            samples.append(
                LoadSample(
                    timestamp=float(row["Timestamp"]),
                    name=row["Name"] or "",
                    request_type=row.get("Type") or "",
                    user_count=int(float(row.get("User Count") or 0)),
                    requests_per_s=_num(row.get("Requests/s")) or 0.0,
                    failures_per_s=_num(row.get("Failures/s")) or 0.0,
                    p50=_ms(row.get("50%")),
                    p95=_ms(row.get("95%")),
                    p99=_ms(row.get("99%")),
                    total_requests=int(float(row["Total Request Count"])),
                    total_failures=int(float(row["Total Failure Count"])),
                )
            )
        except (TypeError, ValueError):
            if number == len(rows) + 1 and truncated:
                problems.append(f"{LOCUST_HISTORY}: last row is truncated")
            else:
                problems.append(f"{LOCUST_HISTORY}:{number}: unreadable row skipped")
    failures = _load_failures(path.parent / Path(LOCUST_FAILURES).name)
    return LoadEvidence(samples=tuple(samples), failures=failures, partial="; ".join(problems[:3]))


def _load_failures(path: Path) -> tuple[LoadFailure, ...]:
    """Locust's failures table beside the history (Method, Name, Error, Occurrences, First Seen,
    Last Seen); absent: none known. It only names causes in advice (no verdict reads it), so an
    unreadable row is skipped without making the load evidence partial."""
    if not path.is_file():
        return ()
    found: list[LoadFailure] = []
    reader = csv.DictReader(path.read_text(encoding="utf-8").splitlines())
    for row in reader:
        try:
            found.append(
                LoadFailure(
                    method=row.get("Method") or "",
                    name=row.get("Name") or "",
                    error=row.get("Error") or "",
                    occurrences=int(float(row.get("Occurrences") or 0)),
                    first_seen=_utc(row.get("First Seen")),
                    last_seen=_utc(row.get("Last Seen")),
                )
            )
        except (TypeError, ValueError):
            continue
    return tuple(found)


def _utc(text: str | None) -> float | None:
    """Locust's `2026-12-05T22:18:43Z` as epoch seconds; empty: None."""
    return parse_rfc3339(text) if text and text.strip() else None


def _num(text: str | None) -> float | None:
    if text is None or text.strip() in ("", "N/A"):
        return None
    value = float(text)
    return value if math.isfinite(value) else None


def _ms(text: str | None) -> float | None:
    value = _num(text)
    return None if value is None else value / 1000.0


# --- chaos/faults.jsonl and chaos/journal*.json -------------------------------------------------


def _as_written(value: Any) -> str:
    """A budget's int-or-percentage field as written: 0 stays "0" (it is the budget that blocks)."""
    return "" if value is None else str(value)


def load_chaos(faults_path: Path, journals: list[Path]) -> ChaosEvidence:
    """Fault windows (chaos/faults.jsonl) and the journals. `partial` holds only what makes the
    record itself incomplete (unreadable lines, faults.jsonl missing); what went wrong with one
    fault (its steady state not met before, a failed rollback, a dry run) is that fault's
    `problems`, and an experiment whose journal shows no injection is `not_injected`."""
    problems: list[str] = []
    faults: list[FaultWindow] = []
    if faults_path.is_file():
        faults = _fault_windows(faults_path, problems)
    runs: list[ChaosRun] = []
    for journal in journals:
        try:
            runs.append(_journal(journal))
        except (OSError, ValueError) as exc:
            problems.append(f"chaos/{journal.name}: unreadable ({exc})")
    if not faults_path.is_file() and runs:
        problems.append(f"{FAULTS} not found: fault windows taken from the journals' actions")
        faults = [
            FaultWindow(
                fault=r.fault or a.name,
                experiment=r.experiment,
                activity=a.name,
                start=a.start,
                end=a.end,
                status=a.status,
                rollback_end=max((b.end for b in r.rollbacks if b.end is not None), default=None),
            )
            for r in runs
            for a in r.activities
            if a.type == "action" and a.start is not None
        ]
    not_injected: list[NotInjected] = []
    for run in runs:
        trouble = _run_problems(run)
        mine = [i for i, f in enumerate(faults) if run.fault and f.fault == run.fault]
        for i in mine:
            held = [
                a.end for a in run.activities if a.name == f"hold-{faults[i].activity}" and a.end is not None
            ]
            faults[i] = replace(
                faults[i],
                problems=tuple(dict.fromkeys((*faults[i].problems, *trouble))),
                held_until=max(held) if held else faults[i].held_until,
            )
        if not mine:
            why = "; ".join(trouble) or "its method never ran an action"
            not_injected.append(NotInjected(fault=run.fault or run.experiment, kind=run.kind, reason=why))
    return ChaosEvidence(
        faults=tuple(sorted(faults, key=lambda f: (f.start, f.fault))),
        runs=tuple(runs),
        partial="; ".join(problems),
        not_injected=tuple(not_injected),
    )


def _run_problems(run: ChaosRun) -> list[str]:
    """Why a fault's results cannot count as a pass, from its journal."""
    out = []
    if run.steady_state_before_met is False:
        out.append("its steady state was not met before the injection (the platform was already disturbed)")
    for rollback in run.rollbacks:
        if rollback.status != "succeeded":
            out.append(f"rollback `{rollback.name}` {rollback.status or 'did not finish'}")
    if run.dry:
        out.append("it was a dry run: nothing was injected")
    return out


def _fault_windows(path: Path, problems: list[str]) -> list[FaultWindow]:
    opened: list[dict[str, Any]] = []
    for number, line, last in _lines(path):
        try:
            raw = json.loads(line)
            if not isinstance(raw, dict):
                raise ValueError("not an object")
            ts = float(raw["ts_ms"]) / 1000.0
        except (ValueError, KeyError, TypeError):
            what = "truncated last line" if last and not line.endswith("\n") else "unreadable line skipped"
            problems.append(f"{FAULTS}:{number}: {what}")
            continue
        phase = raw.get("phase")
        fault = str(raw.get("fault", "") or raw.get("experiment", ""))
        experiment = str(raw.get("experiment", "") or "")
        activity = str(raw.get("activity", "") or "")
        targets = tuple(str(t) for t in _list(raw.get("targets")))
        if phase == "inject_start":
            opened.append(
                {
                    "fault": fault,
                    "experiment": experiment,
                    "activity": activity,
                    "start": ts,
                    "targets": targets,
                    "action": str(raw.get("action", "") or ""),
                    "problems": [],
                }
            )
        elif phase == "inject_end":
            match = next(
                (
                    o
                    for o in opened
                    if "end" not in o
                    and (o["fault"], o["experiment"], o["activity"]) == (fault, experiment, activity)
                ),
                None,
            ) or next(
                (
                    o
                    for o in opened
                    if "end" not in o and (o["fault"], o["experiment"]) == (fault, experiment)
                ),
                None,
            )
            if match is None:
                problems.append(f"{FAULTS}:{number}: inject_end without an inject_start")
                continue
            match["end"] = ts
            match["status"] = str(raw.get("status", "") or "")
            match["error"] = str(raw.get("error", "") or "")
            match["mechanism"] = str(raw.get("mechanism", "") or "")
            if targets:  # what the action reports it touched, rather than what it was pointed at
                match["targets"] = targets
        elif phase == "rollback_end":
            match = next(
                (
                    o
                    for o in reversed(opened)
                    if "rollback_end" not in o and (o["fault"], o["experiment"]) == (fault, experiment)
                ),
                None,
            )
            if match is not None:
                match["rollback_end"] = ts
                if raw.get("status") == "failed":
                    why = str(raw.get("error", "") or "no reason given")
                    match["problems"].append(f"rollback `{activity}` failed: {why}")
        elif phase != "rollback_start":
            problems.append(f"{FAULTS}:{number}: unknown phase {phase!r}")
    problems.extend(
        f"fault `{o['fault']}` has inject_start but no inject_end" for o in opened if "end" not in o
    )
    return [
        FaultWindow(
            fault=o["fault"],
            experiment=o["experiment"],
            activity=o["activity"],
            start=o["start"],
            end=o.get("end"),
            status=o.get("status", ""),
            error=o.get("error", ""),
            rollback_end=o.get("rollback_end"),
            targets=o["targets"],
            action=o["action"],
            mechanism=o.get("mechanism", ""),
            problems=tuple(o["problems"]),
        )
        for o in opened
    ]


def _journal(path: Path) -> ChaosRun:
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError("not a Chaos Toolkit journal (expected an object)")
    experiment = _map(raw.get("experiment"))
    before = _map(_map(raw.get("steady_states")).get("before"))
    met = before.get("steady_state_met")
    activities = tuple(_activity(entry) for entry in _list(raw.get("run")))
    rollbacks = tuple(_activity(entry) for entry in _list(raw.get("rollbacks")))
    # the name the control writes into faults.jsonl: its `validator` extension's, else the title's slug
    fault = _slug(str(experiment.get("title", "") or ""))
    for ext in _list(experiment.get("extensions")):
        ext = _map(ext)
        if ext.get("name") == "validator":
            fault = str(ext.get("fault") or ext.get("experiment") or fault)
    actions = tuple(
        str(_map(_map(a).get("provider")).get("func") or "")
        for a in _list(experiment.get("method"))
        if _map(a).get("type") == "action"
    )
    return ChaosRun(
        experiment=str(experiment.get("title", "") or path.stem),
        source=path.name,
        fault=fault,
        actions=actions,
        status=str(raw.get("status", "") or ""),
        steady_state_before_met=met if isinstance(met, bool) else None,
        activities=activities,
        rollbacks=rollbacks,
        dry=bool(raw.get("dry")),
    )


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _activity(entry: object) -> ActivityRun:
    """One run or rollback entry of a journal: its own status, never the experiment's."""
    item = _map(entry)
    activity = _map(item.get("activity"))
    return ActivityRun(
        name=str(activity.get("name", "") or ""),
        type=str(activity.get("type", "") or ""),
        status=str(item.get("status", "") or ""),
        start=_time(item.get("start")),
        end=_time(item.get("end")),
    )
