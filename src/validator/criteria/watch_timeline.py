"""The state of each watched object over time, from the per-object changes the reader folded the
recorder's lines into (K8sEvidence.changes: receipt order, repeated states already collapsed)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TypeVar, cast

from validator.model import K8sEvidence, LabelSelector, NodeState, PodState, TimeWindow, WatchRecord
from validator.model.k8s import ObjectState

S = TypeVar("S", bound=ObjectState)

# (receipt time in seconds, state or None once deleted), in receipt order; read-only: one is shared
# by every criterion that asks for the same kind
Timeline = tuple[tuple[float, S | None], ...]


def timelines(k8s: K8sEvidence, kind: str, state_type: type[S]) -> Mapping[str, Timeline[S]]:
    """Per object key (`namespace/name`), its states in receipt order; DELETED appends None. Built
    once per evidence, kind and state type (several criteria read every pod's), then shared."""
    key = ("timelines", kind, state_type)
    found = k8s.derived.get(key)
    if found is None:
        found = MappingProxyType({
            name: tuple(
                (r.received_ms / 1000.0, None if r.type == "DELETED" else cast(S, r.state))
                for r in records
                if r.type == "DELETED" or isinstance(r.state, state_type)
            )
            for name, records in k8s.changes(kind).items()
        })
        k8s.derived[key] = found
    return cast(Mapping[str, Timeline[S]], found)


def state_at(timeline: Timeline[S], t: float) -> S | None:
    """The latest state received at or before `t` (None before the first or after deletion)."""
    current: S | None = None
    for ts, state in timeline:
        if ts > t:
            break
        current = state
    return current


def states_during(timeline: Timeline[S], window: TimeWindow) -> list[S]:
    """The object's state at the window's start and every state received inside it."""
    found = [state_at(timeline, window.start), *(s for t, s in timeline if window.start <= t <= window.end)]
    return [s for s in found if s is not None]


def gap_windows(k8s: K8sEvidence, kind: str) -> list[TimeWindow]:
    return [
        TimeWindow(start=g.from_ms / 1000.0, end=max(g.to_ms, g.from_ms) / 1000.0) for g in k8s.gaps_of(kind)
    ]


def blind_spans(k8s: K8sEvidence, kind: str, window: TimeWindow) -> list[TimeWindow]:
    """Parts of `window` the recorder did not see for `kind`: before its first line, its GAPs, and
    everything after the last whole line of a file that ends truncated (the recorder crashed)."""
    spans: list[TimeWindow] = []
    if k8s.cut_off_ms is not None and k8s.cut_off_ms / 1000.0 < window.end:
        spans.append(TimeWindow(start=max(window.start, k8s.cut_off_ms / 1000.0), end=window.end))
    first_ms = k8s.first_received_ms(kind)
    if first_ms is None:
        return [window]
    first = first_ms / 1000.0
    if first > window.start:
        spans.append(TimeWindow(start=window.start, end=min(first, window.end)))
    for gap in gap_windows(k8s, kind):
        clipped = window.clip(gap)
        if clipped is not None:
            spans.append(clipped)
    return merge(spans)


def merge(spans: Iterable[TimeWindow]) -> list[TimeWindow]:
    ordered = sorted(spans, key=lambda w: w.start)
    out: list[TimeWindow] = []
    for span in ordered:
        if out and span.start <= out[-1].end:
            out[-1] = TimeWindow(start=out[-1].start, end=max(out[-1].end, span.end))
        else:
            out.append(span)
    return out


def total(spans: Iterable[TimeWindow]) -> float:
    return sum(s.duration for s in merge(spans))


def change_times(records: Iterable[WatchRecord], after: float, until: float) -> list[float]:
    return sorted({r.received for r in records if after <= r.received <= until})


def unready_on_nodes_not_ready(
    k8s: K8sEvidence, t: float, pods: Callable[[str, PodState], bool], since: float | None = None
) -> list[str]:
    """The pods (`ns/name`) that `pods` keeps, not Ready at `t` on a node that was not Ready then, or
    at any moment from `since` to `t`: an involuntary disruption (a node failure), which no budget
    guards and no drain caused. `since` covers a node back before `t`: a kubelet cut off (and kwok)
    leaves its pods NotReady until they are replaced."""
    nodes = timelines(k8s, "Node", NodeState)
    window = TimeWindow(start=t if since is None else since, end=t)
    out = []
    for key, pod_line in timelines(k8s, "Pod", PodState).items():
        pod = state_at(pod_line, t)
        if pod is None or pod.ready is True or not pod.node_name or not pods(key, pod):
            continue
        if any(not node.ready for node in states_during(nodes.get(pod.node_name, ()), window)):
            out.append(key)
    return sorted(out)


def selected_in(namespace: str, selector: LabelSelector) -> Callable[[str, PodState], bool]:
    """A pod filter for unready_on_nodes_not_ready: the pods of `namespace` that `selector` matches."""
    return lambda key, pod: key.startswith(f"{namespace}/") and selector.matches(pod.labels)
