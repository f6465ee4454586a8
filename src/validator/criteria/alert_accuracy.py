"""< 5% false positive alerts.

Each firing (a run of consecutive `ALERTS{alertstate="firing"}` samples of one series) is expected
when it starts inside an injected fault's window plus a grace period, its alertname is listed for
that fault in the manifest's `expected_alerts`, and, when it is about a pod, that pod is one of the
fault's own targets (or ran on a node the fault targeted). A firing about a pod (labels
`namespace`, `pod`) that the Kubernetes watch saw end abnormally (an OOM kill, a crash, a non-zero
exit; not a container that completed) within the grace period before it is justified: a true
alert about a real incident, not a false one. A firing already in progress when the window opens
(its first sample within two steps of the start) began before the run and is not the run's: it is
listed, not counted. Every other firing is false. Watchdog and InfoInhibitor (always firing by
design in kube-prometheus-stack) are ignored. With no firing at all the rate is undefined:
inconclusive.
"""

from __future__ import annotations

from validator.criteria import fault_windows
from validator.criteria.evidence_checks import inconclusive, judged
from validator.criteria.wording import at, pct
from validator.model import CriterionSpec, Evidence, FaultWindow, PodState, Result, SourceName

ID = "alert_accuracy"
INFO = False
PROMETHEUS_ONLY = False
SOURCES = (SourceName.METRICS, SourceName.CHAOS, SourceName.K8S)
MEASURES: tuple[str, ...] = ()
PROMETHEUS_MEASURES: tuple[str, ...] = ()
QUERIES: dict[str, str] = {"alerts_firing": 'ALERTS{alertstate="firing"}'}
DEFAULTS: dict[str, float] = {"max": 0.05, "grace_seconds": 300}
ALWAYS_FIRING = frozenset({"Watchdog", "InfoInhibitor"})


def evaluate(spec: CriterionSpec, evidence: Evidence) -> list[Result]:
    band = spec.band("max")
    if evidence.metrics is None:
        why = evidence.why_missing(SourceName.METRICS)
        return [inconclusive(spec, f"Prometheus evidence missing: {why}", unit="ratio", threshold=band)]
    result = evidence.metrics.get("alerts_firing")
    if not result.ok:
        return [inconclusive(spec, result.problem(), unit="ratio", threshold=band)]
    step = evidence.metrics.step_seconds
    grace = spec.threshold("grace_seconds")
    faults = [(f, w.widened(after=grace)) for f, w in fault_windows.closed(evidence)]
    expected_names = evidence.manifest.expected_alerts
    firings: list[tuple[str, float, tuple[str, str]]] = []
    carried: list[str] = []
    for series in result.series:
        name = series.label("alertname")
        if name in ALWAYS_FIRING:
            continue
        about = (series.label("namespace"), series.label("pod"))
        previous: float | None = None
        for t, _ in series.points:
            if not evidence.window.start <= t <= evidence.window.end:
                continue
            if previous is None and t - evidence.window.start <= 2 * step:
                carried.append(name)  # firing before the run began
            elif previous is None or t - previous > 2 * step:
                firings.append((name, t, about))
            previous = t
    ended = _terminations(evidence)
    nodes = _pod_nodes(evidence)
    expected, justified, false = [], [], []
    for name, start, about in sorted(firings, key=lambda x: (x[1], x[0])):
        if any(
            w.start <= start <= w.end
            and name in expected_names.get(f.fault, expected_names.get(f.experiment, ()))
            and _about_its_targets(f, about, nodes)
            for f, w in faults
        ):
            expected.append((name, start))
        elif about[1] and any(start - grace <= t <= start + step for t in ended.get(about, ())):
            justified.append((name, start))
        else:
            false.append((name, start))
    never = sorted(
        {
            f"{name} (for {f.fault})"
            for f, w in faults
            for name in expected_names.get(f.fault, ())
            if not any(n == name and w.start <= t <= w.end for n, t in expected)
        }
    )
    never_text = f"; expected but never fired: {', '.join(never)}" if never else ""
    if carried:
        names = ", ".join(sorted(set(carried)))
        never_text += f"; already firing when the window opened, not counted: {names}"
    if not firings:
        return [
            inconclusive(
                spec,
                "no alert fired in the window: the false-positive rate is undefined" + never_text,
                unit="ratio",
                threshold=band,
                advice=tuple(
                    f"alert {n} never fired: check its rule's expression and `for:`" for n in never[:5]
                ),
            )
        ]
    value = len(false) / len(firings)
    detail = f"{len(false)} false of {len(firings)} firings ({pct(value)})"
    if false:
        detail += ": " + ", ".join(f"{n} at {at(t)}" for n, t in false[:5])
    if justified:
        detail += (
            f"; {len(justified)} justified by a termination of their pod the watch saw "
            f"({', '.join(sorted({n for n, _ in justified}))})"
        )
    ok = value < spec.threshold("max")
    advice = tuple(
        f"alert {n} fired at {at(t)} outside any fault expecting it: tighten its threshold or `for:`, "
        f"or list it "
        "in expected_alerts"
        for n, t in false[:5]
    )
    return [judged(spec, ok, value, detail + never_text, unit="ratio", threshold=band, advice=advice)]


def _terminations(evidence: Evidence) -> dict[tuple[str, str], set[float]]:
    """(namespace, pod) -> the times its containers ended abnormally (OOM kills, crashes, errors),
    from the watch. A container that completed its work (exit 0) justifies no alert."""
    out: dict[tuple[str, str], set[float]] = {}
    if evidence.k8s is None:
        return out
    for record in evidence.k8s.of_kind("Pod"):
        if isinstance(record.state, PodState):
            for ended in record.state.terminations:
                if ended.finished_at is not None and ended.abnormal:
                    out.setdefault((record.namespace, record.name), set()).add(ended.finished_at)
    return out


def _pod_nodes(evidence: Evidence) -> dict[str, set[str]]:
    """`namespace/pod` -> the nodes the watch saw it on."""
    out: dict[str, set[str]] = {}
    if evidence.k8s is None:
        return out
    for key, line in evidence.k8s.changes("Pod").items():  # per pod: no need of the global order
        nodes = {r.state.node_name for r in line if isinstance(r.state, PodState) and r.state.node_name}
        if nodes:
            out[key] = nodes
    return out


def _about_its_targets(fault: FaultWindow, about: tuple[str, str], nodes: dict[str, set[str]]) -> bool:
    """An alert about a pod is the fault's only if that pod is one of its targets (or ran on a node
    it targeted); an alert about no particular pod (a budget, an agent type) is judged by name."""
    namespace, pod = about
    if not pod or not fault.targets:
        return True
    key = f"{namespace}/{pod}"
    return key in fault.pod_targets or bool(nodes.get(key, set()) & set(fault.node_targets))
