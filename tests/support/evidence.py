"""Small builders of Evidence for the criteria's table tests (times are offsets from T0, in seconds)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import ModuleType

from validator.criteria.registry import default_spec
from validator.model import (
    ChaosEvidence,
    CriterionSpec,
    Evidence,
    FaultWindow,
    K8sEvidence,
    LoadEvidence,
    LoadSample,
    MetricsEvidence,
    QueryResult,
    QueryStatus,
    Result,
    RunManifest,
    Series,
    SourceName,
    TimeWindow,
    Verdict,
    WatchGap,
    WatchRecord,
)
from validator.model.k8s import ObjectState

T0 = 1763604000.0  # 2025-11-20T02:00:00Z
WINDOW = 600.0
STEP = 15.0
AGENT = "label_app_kubernetes_io_name"


def manifest(duration: float = WINDOW, **kw: object) -> RunManifest:
    return RunManifest(
        run_id="test-run",
        window=TimeWindow(start=T0, end=T0 + duration),
        namespaces=("agents",),
        **kw,  # type: ignore[arg-type]
    )


def steady(
    value: float | Callable[[float], float], start: float = 0.0, end: float = WINDOW, step: float = STEP
):
    """Points every `step` seconds from T0+start to T0+end inclusive; value may be f(offset)."""
    out = []
    t = start
    while t <= end + 1e-9:
        out.append((T0 + t, value(t) if callable(value) else float(value)))
        t += step
    return tuple(out)


def series(labels: Mapping[str, str], points: Iterable[tuple[float, float]]) -> Series:
    return Series(labels=dict(labels), points=tuple(points))


def ok(key: str, *found: Series, promql: str = "…") -> QueryResult:
    return QueryResult(key=key, promql=promql, series=tuple(found))


def error(
    key: str, why: str = "HTTP 500 from Prometheus after 4 attempts", *, promql: str = "…"
) -> QueryResult:
    return QueryResult(key=key, promql=promql, status=QueryStatus.ERROR, error=why)


def metrics(*results: QueryResult, step: float = STEP, prometheus_url: str = "") -> MetricsEvidence:
    return MetricsEvidence(
        queries={r.key: r for r in results}, step_seconds=step, prometheus_url=prometheus_url
    )


def record(
    t: float,
    kind: str,
    name: str,
    state: ObjectState | None,
    *,
    type: str = "MODIFIED",
    namespace: str = "agents",
    uid: str = "",
    origin: float = T0,
) -> WatchRecord:
    """A watch line `t` seconds after `origin` (the window's start by default)."""
    return WatchRecord(
        received_ms=int((origin + t) * 1000),
        kind=kind,
        type=type,
        namespace=namespace,
        name=name,
        uid=uid or f"uid-{name}",
        state=state,
    )


def gap(kind: str, start: float, end: float, *, namespace: str = "", relist: bool = False) -> WatchGap:
    return WatchGap(
        kind=kind,
        from_ms=int((T0 + start) * 1000),
        to_ms=int((T0 + end) * 1000),
        reason="410 Gone; relisted" if relist else "watch dropped",
        namespace=namespace,
        relist=relist,
    )


def k8s(
    *records: WatchRecord, gaps: Iterable[tuple[str, float, float] | WatchGap] = (), partial: str = ""
) -> K8sEvidence:
    """The evidence the reader folds these lines into (per-object timelines, repeats collapsed)."""
    return K8sEvidence.from_records(
        records,
        gaps=tuple(g if isinstance(g, WatchGap) else gap(*g) for g in gaps),
        partial=partial,
    )


def fault(name: str, start: float, end: float | None, *, origin: float = T0, **kw: object) -> FaultWindow:
    """A fault from `start` to `end` seconds after `origin` (the window's start by default)."""
    rollback = kw.pop("rollback_end", None)
    return FaultWindow(
        fault=name,
        experiment=str(kw.pop("experiment", name)),
        activity=str(kw.pop("activity", f"inject-{name}")),
        start=origin + start,
        end=None if end is None else origin + end,
        rollback_end=None if rollback is None else origin + float(rollback),  # type: ignore[arg-type]
        targets=tuple(kw.pop("targets", ())),  # type: ignore[call-overload]
        status=str(kw.pop("status", "succeeded")),
        action=str(kw.pop("action", "")),
        problems=tuple(kw.pop("problems", ())),  # type: ignore[call-overload]
    )


def chaos(*faults: FaultWindow) -> ChaosEvidence:
    return ChaosEvidence(faults=tuple(faults))


def load(rows: Iterable[tuple[float, int, int, float | None]]) -> LoadEvidence:
    """(offset, total requests, total failures, p95 seconds) rows of the Aggregated line."""
    return LoadEvidence(
        samples=tuple(
            LoadSample(timestamp=T0 + t, name="Aggregated", total_requests=r, total_failures=f, p95=p)
            for t, r, f, p in rows
        )
    )


def evidence(
    *,
    k8s: K8sEvidence | None = None,
    metrics: MetricsEvidence | None = None,
    load: LoadEvidence | None = None,
    chaos: ChaosEvidence | None = None,
    manifest_: RunManifest | None = None,
    missing: Mapping[SourceName, str] | None = None,
) -> Evidence:
    """Evidence of these sources; an absent source is missing (`missing` replaces those reasons)."""
    absent: dict[SourceName, str] = {}
    for source, value in (
        (SourceName.K8S, k8s),
        (SourceName.METRICS, metrics),
        (SourceName.LOAD, load),
        (SourceName.CHAOS, chaos),
    ):
        if value is None:
            absent[source] = f"{source.value} not collected in this test"
    return Evidence(
        manifest=manifest_ or manifest(),
        k8s=k8s,
        metrics=metrics,
        load=load,
        chaos=chaos,
        missing=absent if missing is None else dict(missing),
    )


def spec(module: ModuleType, **thresholds: float) -> CriterionSpec:
    base = default_spec(module.ID)
    return CriterionSpec(
        id=base.id, thresholds={**base.thresholds, **thresholds}, queries=base.queries, info=base.info
    )


def verdicts(results: list[Result]) -> dict[str, Verdict]:
    return {r.scope_text: r.verdict for r in results}


def only(results: list[Result]) -> Result:
    assert len(results) == 1, [(r.scope_text, r.verdict, r.detail) for r in results]
    return results[0]
