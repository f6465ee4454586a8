"""PDBs protect critical components.

Per PodDisruptionBudget: moments when a voluntary disruption (an eviction, or a planned-maintenance
fault such as a drain) left its healthy pods below the desired count, plus evictions of its pods that
succeeded while it allowed no disruption. Without any voluntary disruption the PDBs were not tested:
inconclusive.
"""

from __future__ import annotations

from dataclasses import dataclass

from validator.criteria import fault_windows
from validator.criteria.evidence_checks import inconclusive, judged, queries
from validator.criteria.series_math import max_by
from validator.criteria.watch_timeline import state_at, timelines
from validator.criteria.wording import at
from validator.model import CriterionSpec, Evidence, PdbState, PodState, Result, TimeWindow

ID = "pdb_respected"
INFO = False
PROMETHEUS_ONLY = False
QUERIES: dict[str, str] = {
    "pdb_current_healthy": "kube_poddisruptionbudget_status_current_healthy{{namespace_matcher}}",
    "pdb_desired_healthy": "kube_poddisruptionbudget_status_desired_healthy{{namespace_matcher}}",
}
DEFAULTS: dict[str, float] = {"max": 0, "grace_seconds": 60}


@dataclass(frozen=True, slots=True, kw_only=True)
class Eviction:
    pod: str
    namespace: str
    labels: dict[str, str]
    time: float


def evaluate(spec: CriterionSpec, evidence: Evidence) -> list[Result]:
    band = spec.band("max")
    grace = spec.threshold("grace_seconds")
    maintenance = [w.widened(after=grace) for f, w in fault_windows.closed(evidence) if f.is_maintenance]
    if evidence.k8s is not None and evidence.k8s.kind_seen("PodDisruptionBudget"):
        return _from_watch(spec, evidence, maintenance)
    found, problem = queries(evidence, tuple(QUERIES))
    if problem:
        return [
            inconclusive(spec, f"no PDB in the Kubernetes watch, and {problem}", unit="count", threshold=band)
        ]
    if not maintenance:
        return [
            inconclusive(
                spec,
                "no planned-maintenance fault in the run: PDBs were not tested",
                unit="count",
                threshold=band,
            )
        ]
    labels = ("namespace", "poddisruptionbudget")
    current = max_by(found["pdb_current_healthy"], *labels, window=evidence.window)
    desired = {
        k: dict(v) for k, v in max_by(found["pdb_desired_healthy"], *labels, window=evidence.window).items()
    }
    results: list[Result] = []
    for key in sorted(current):
        name = "/".join(key)
        breaches = _breach_starts(
            [(t, v < desired.get(key, {}).get(t, 0)) for t, v in current[key]], maintenance
        )
        scope = {"pdb": name}
        if breaches:
            results.append(
                judged(
                    spec,
                    False,
                    float(len(breaches)),
                    "healthy pods below desired during maintenance at "
                    + ", ".join(at(t) for t in breaches[:5]),
                    scope=scope,
                    unit="count",
                    threshold=band,
                    advice=(
                        f"PDB `{name}` was breached during maintenance: make the drain use the eviction API",
                    ),
                )
            )
        else:
            results.append(
                inconclusive(
                    spec,
                    "no breach seen in kube-state-metrics, but evictions are not visible without the "
                    "Kubernetes watch",
                    scope=scope,
                    unit="count",
                    threshold=band,
                )
            )
    return results


def _breach_starts(flags: list[tuple[float, bool]], windows: list[TimeWindow]) -> list[float]:
    """Times a PDB went below its desired healthy count inside one of `windows`."""
    out: list[float] = []
    below = False
    for t, now_below in flags:
        if now_below and not below and fault_windows.inside_any(t, windows):
            out.append(t)
        below = now_below
    return out


def _from_watch(spec: CriterionSpec, evidence: Evidence, maintenance: list[TimeWindow]) -> list[Result]:
    assert evidence.k8s is not None
    band = spec.band("max")
    grace = spec.threshold("grace_seconds")
    window = evidence.window
    evictions = _evictions(evidence)
    voluntary = maintenance + [TimeWindow(start=e.time, end=e.time + grace) for e in evictions]
    if not voluntary:
        return [
            inconclusive(
                spec,
                "no eviction and no planned-maintenance fault in the run: PDBs were not tested",
                unit="count",
                threshold=band,
            )
        ]
    results: list[Result] = []
    for name, line in sorted(timelines(evidence.k8s, "PodDisruptionBudget", PdbState).items()):
        namespace = name.split("/", 1)[0]
        flags = [
            (t, s.current_healthy < s.desired_healthy)
            for t, s in line
            if s is not None and window.start <= t <= window.end
        ]
        breaches = _breach_starts(flags, voluntary)
        overruns: list[Eviction] = []
        for e in evictions:
            if e.namespace != namespace:
                continue
            state = state_at(line, e.time - 1.0)
            if state is None or not state.selector:
                continue
            if (
                all(e.labels.get(k) == v for k, v in state.selector.items())
                and state.disruptions_allowed == 0
            ):
                overruns.append(e)
        value = float(len(breaches) + len(overruns))
        last = next((s for _, s in reversed(line) if s is not None), None)
        parts = [f"{len(breaches)} breach(es) of desired healthy during voluntary disruption"]
        if breaches:
            parts.append("at " + ", ".join(at(t) for t in breaches[:5]))
        parts.append(f"{len(overruns)} eviction(s) while disruptionsAllowed was 0")
        if overruns:
            parts.append(", ".join(f"{e.pod} at {at(e.time)}" for e in overruns[:5]))
        advice: list[str] = []
        if overruns:
            advice.append(
                f"PDB `{name}` was overrun by evictions: make sure drains use the eviction API, not pod "
                f"deletion"
            )
        if breaches and last is not None:
            advice.append(
                f"PDB `{name}` fell below {last.desired_healthy} healthy pods during maintenance: "
                "add replicas so a drain can proceed without breaching it"
            )
        if last is not None and last.disruptions_allowed == 0 and last.expected_pods <= last.desired_healthy:
            target = max(last.expected_pods - 1, 0)
            field = "minAvailable" if last.min_available else "maxUnavailable"
            fix = (
                f"lower minAvailable to {target}" if field == "minAvailable" else "raise maxUnavailable to 1"
            )
            advice.append(f"PDB `{name}` allows no disruption: {fix}")
        results.append(
            judged(
                spec,
                value <= spec.threshold("max"),
                value,
                "; ".join(parts),
                scope={"pdb": name},
                unit="count",
                threshold=band,
                advice=tuple(advice),
            )
        )
    return results


def _evictions(evidence: Evidence) -> list[Eviction]:
    assert evidence.k8s is not None
    seen: dict[str, Eviction] = {}
    for record in evidence.k8s.of_kind("Pod"):
        state = record.state
        if isinstance(state, PodState) and state.evicted_at is not None:
            ident = record.uid or record.key
            if ident not in seen and evidence.window.start <= state.evicted_at <= evidence.window.end:
                seen[ident] = Eviction(
                    pod=record.key,
                    namespace=record.namespace,
                    labels=dict(state.labels),
                    time=state.evicted_at,
                )
    return sorted(seen.values(), key=lambda e: e.time)
