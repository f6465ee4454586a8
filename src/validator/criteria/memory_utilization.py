"""< 90% memory utilisation: max over the window and over pods of working set / memory limit.

"During normal operations", as the brief says: samples of a memory-pressure fault's own targets
inside it (plus its grace period) are not judged; the detail says how many were set aside. Another
pod's samples meanwhile are normal operation. Each agent type must be measured (working set and
limit) at `min_coverage` of the steps it ran (seen by either series), or a pass is inconclusive.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from operator import itemgetter, truediv

from validator.criteria import fault_windows, promql, workloads
from validator.criteria.evidence_checks import inconclusive, judged, queries, query_coverage_problem
from validator.criteria.series_math import MIN_COVERAGE, max_by_samples, ratio_points
from validator.criteria.wording import at, pct
from validator.model import CriterionSpec, Evidence, PodState, Result, SamplePoints, SourceName, TimeWindow

ID = "memory_utilization"
INFO = False
PROMETHEUS_ONLY = True
SOURCES = (SourceName.METRICS, SourceName.CHAOS)
MEASURES: tuple[str, ...] = ()
PROMETHEUS_MEASURES: tuple[str, ...] = ()
QUERIES: dict[str, str] = {
    "memory_working_set_by_pod": (
        "max by (namespace, pod, {agent_label}) ("
        + promql.container_gauge("container_memory_working_set_bytes")
        + " * on(namespace, pod) group_left({agent_label}) "
        "max by (namespace, pod, {agent_label}) (kube_pod_labels{{namespace_matcher}}))"
    ),
    # limits of Running pods only: a finished pod keeps its limit in kube-state-metrics but uses nothing
    # (the steps a type ran at)
    "memory_limits_by_pod": promql.running_pod_resource("kube_pod_container_resource_limits", "memory"),
    # every pod's limit, whatever its phase: the divisor of a working set. A stage pod of a second or
    # two can be Pending at one kube-state-metrics scrape and Succeeded at the next, never seen
    # Running there, while the kubelet reported its working set: it still has its limit.
    "memory_limits_any_phase_by_pod": (
        'sum by (namespace, pod) (kube_pod_container_resource_limits{resource="memory",{namespace_matcher}})'
    ),
}
REQUIRED = ("memory_working_set_by_pod", "memory_limits_by_pod")
DEFAULTS: dict[str, float] = {"max": 0.9, "fault_grace_seconds": 60, "min_coverage": MIN_COVERAGE}


def evaluate(spec: CriterionSpec, evidence: Evidence) -> list[Result]:
    band = spec.band("max")
    found, problem = queries(evidence, REQUIRED)
    if problem:
        return [inconclusive(spec, problem, unit="ratio", threshold=band)]
    usage, limits = found["memory_working_set_by_pod"], found["memory_limits_by_pod"]
    # optional: evidence collected before this query existed divides by the Running pods' limits
    optional = evidence.metrics.get("memory_limits_any_phase_by_pod") if evidence.metrics else None
    any_phase = (
        max_by_samples(optional, "namespace", "pod", window=evidence.window)
        if optional is not None and optional.ok
        else {}
    )
    problem = query_coverage_problem(evidence, usage)
    if problem:
        return [inconclusive(spec, problem, unit="ratio", threshold=band)]
    label = evidence.manifest.agent_metric_label
    grace = spec.threshold("fault_grace_seconds")
    # samples of a memory-pressure fault's own targets, inside it (+ grace), are not normal operation
    pressure = [
        (f, w.widened(before=0.0, after=grace))
        for f, w in fault_windows.closed(evidence)
        if f.is_memory_pressure
    ]
    pressure += [
        (f, TimeWindow(start=f.start, end=max(f.start, evidence.window.end)))
        for f in fault_windows.unterminated(evidence)
        if f.is_memory_pressure
    ]

    def windows_on(pod_key: str) -> list[TimeWindow]:
        """The pressure windows of the faults on this pod (usually none)."""
        return [w for f, w in pressure if f.targets_pod(pod_key)]

    step = evidence.metrics.step_seconds if evidence.metrics is not None else 15.0
    origin = evidence.window.start
    # a running container always has a working set: a zero is a pod that was not running (a finished
    # workflow-stage pod the kubelet still reports), which has no limit among the Running pods' either
    used = {
        key: points
        for key, points in max_by_samples(usage, "namespace", "pod", label, window=evidence.window).items()
        if max(points.values()) > 0
    }
    limit = max_by_samples(limits, "namespace", "pod", window=evidence.window)
    agent_of: dict[tuple[str, str], str] = {(k[0], k[1]): k[2] for k in used if k[2]}
    agent_of.update(
        _agents_from_watch(evidence, {(k[0], k[1]) for k in limit if (k[0], k[1]) not in agent_of})
    )
    # per agent: its highest ratio as (ratio, time, pod), the first of equal (ratio, time) kept; the
    # times it was seen to exist at (usage or limit) and measured at (usage and limit): sets of
    # sample times, turned into steps once at the end (a big run has hundreds of thousands of samples)
    peak: dict[str, tuple[float, float, str] | None] = {}
    seen_at: dict[str, set[float]] = {}
    covered_at: dict[str, set[float]] = {}
    set_aside: dict[str, int] = {}
    unlimited: dict[str, set[str]] = {}
    for (namespace, pod), limits_of_pod in limit.items():
        agent = agent_of.get((namespace, pod), "")
        if agent:
            windows = windows_on(f"{namespace}/{pod}")
            seen_at.setdefault(agent, set()).update(
                [t for t, _ in limits_of_pod if not _inside(windows, t)] if windows else limits_of_pod.times()
            )
    for (namespace, pod, agent), samples in used.items():
        if not agent:
            continue
        points: Sequence[tuple[float, float]] = samples
        if min(samples.values()) <= 0:
            points = [(t, v) for t, v in samples if v > 0]
        key = f"{namespace}/{pod}"
        windows = windows_on(key)
        best = peak.setdefault(agent, None)
        lim = any_phase.get((namespace, pod)) or limit.get((namespace, pod))
        if not lim:
            unlimited.setdefault(agent, set()).add(key)
        seen = seen_at.setdefault(agent, set())
        if not windows and points is samples and isinstance(lim, SamplePoints) and lim:
            times = samples.times()
            limits_at = lim.values()
            if lim.times() == times and min(limits_at) > 0:
                # the usual pod: its working set and limit at the same times, the limit never 0; the
                # ratio at every time, divided in C, its first peak the earliest (times increase)
                seen.update(times)
                covered_at.setdefault(agent, set()).update(times)
                ratio_at = array("d", map(truediv, samples.values(), limits_at))
                top = max(ratio_at)
                when = times[ratio_at.index(top)]
                if best is None or top > best[0] or (top == best[0] and when < best[1]):
                    peak[agent] = (top, when, key)
                continue
        ratios = ratio_points(points, lim or [])
        if windows:
            kept = [t for t, _ in points if not _inside(windows, t)]
            if len(kept) < len(points):
                set_aside[agent] = set_aside.get(agent, 0) + len(points) - len(kept)
            seen.update(kept)
            ratios = [(t, r) for t, r in ratios if not _inside(windows, t)]
        elif points is samples:
            seen.update(samples.times())
        else:
            seen.update([t for t, _ in points])
        if not ratios:
            continue
        covered_at.setdefault(agent, set()).update([t for t, _ in ratios])
        # the pod's peak, the earliest of equal ratios (they are in time order), then the agent's: a
        # later pod replaces an earlier one only with a higher ratio, or the same ratio earlier
        when, top = max(ratios, key=itemgetter(1))
        if best is None or top > best[0] or (top == best[0] and when < best[1]):
            peak[agent] = (top, when, key)

    def as_steps(times: set[float]) -> set[int]:
        return {round((t - origin) / step) for t in times}

    span = {agent: as_steps(times) for agent, times in seen_at.items()}
    covered = {agent: as_steps(times) for agent, times in covered_at.items()}
    results: list[Result] = []
    need = spec.threshold("min_coverage")
    for agent in sorted(peak):
        scope = {"agent": agent}
        highest = peak[agent]
        missing = sorted(unlimited.get(agent, ()))
        steps = span.get(agent, set())
        if not steps:
            results.append(
                inconclusive(
                    spec,
                    f"every sample of agent `{agent}` lies inside memory-pressure faults on its own pods",
                    scope=scope,
                    unit="ratio",
                    threshold=band,
                )
            )
            continue
        if highest is None:
            results.append(
                inconclusive(
                    spec,
                    f"no memory limit on any pod of agent `{agent}` ({', '.join(missing[:3])})",
                    scope=scope,
                    unit="ratio",
                    threshold=band,
                    advice=(f"agent `{agent}`: set resources.limits.memory on its containers",),
                )
            )
            continue
        value, when, pod = highest
        ok = value < spec.threshold("max")
        share = len(covered.get(agent, set()) & steps) / len(steps)
        detail = (
            f"peak {pct(value)} on pod {pod} at {at(when)}; working set and limit at {share:.0%} of "
            f"the {len(steps)} steps the type ran"
        )
        if set_aside.get(agent):
            detail += (
                f"; {set_aside[agent]} sample(s) of the faults' own targets inside injected "
                "memory-pressure faults not judged"
            )
        if missing:
            detail += f"; {len(missing)} pod(s) without a memory limit not counted"
        if ok and (missing or share < need):
            # what was not seen may have been above the limit: no pass on partial data
            why = f"partial data: {detail}"
            if share < need:
                why = (
                    f"partial data: agent `{agent}` measured at {share:.0%} of its steps "
                    f"(need {need:.0%}); {detail}"
                )
            results.append(
                inconclusive(
                    spec,
                    why,
                    scope=scope,
                    unit="ratio",
                    threshold=band,
                    advice=(f"agent `{agent}`: set resources.limits.memory on {', '.join(missing[:3])}",)
                    if missing
                    else (),
                )
            )
            continue
        results.append(
            judged(
                spec,
                ok,
                value,
                detail,
                scope=scope,
                unit="ratio",
                threshold=band,
                advice=(
                    f"{workloads.configured_in(evidence, agent)}pod `{pod}` (agent `{agent}`) reached "
                    f"{pct(value)} of its memory limit: raise resources.limits.memory or find the leak",
                ),
            )
        )
    if not results:
        return [
            inconclusive(spec, f"no series carries the agent label `{label}`", unit="ratio", threshold=band)
        ]
    return results


def _inside(windows: list[TimeWindow], t: float) -> bool:
    return any(w.start <= t <= w.end for w in windows)


def _agents_from_watch(evidence: Evidence, pods: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """The agent type of pods known only by their limit, from the labels the watch saw."""
    if evidence.k8s is None or not pods:
        return {}
    key = evidence.manifest.agent_label
    out: dict[tuple[str, str], str] = {}
    for line in evidence.k8s.changes("Pod").values():
        for record in line:
            if (
                (record.namespace, record.name) in pods
                and isinstance(record.state, PodState)
                and (agent := record.state.labels.get(key, ""))
            ):
                out[(record.namespace, record.name)] = agent
    return out
