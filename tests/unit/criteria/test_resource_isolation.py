"""resource_isolation: CPU throttling per agent type, and quota/admission rejections while others ran."""

from __future__ import annotations

import dataclasses

import pytest

from tests.support.evidence import (
    AGENT,
    T0,
    error,
    evidence,
    gap,
    k8s,
    metrics,
    ok,
    record,
    series,
    spec,
    steady,
)
from validator.criteria import resource_isolation as crit
from validator.model import EventState, PodState, ReplicaSetState, StatefulSetState, Verdict


def throttling(**ratios: float):
    return metrics(
        ok(
            "cpu_throttled_periods_by_agent", *(series({AGENT: a}, steady(r * 10)) for a, r in ratios.items())
        ),
        ok("cpu_periods_by_agent", *(series({AGENT: a}, steady(10)) for a in ratios)),
    )


def by_scope(results):
    return {r.scope_text: (r.verdict, None if r.value is None else round(r.value, 4)) for r in results}


THROTTLE_CASES = [
    ("light", {"rex": 0.01}, {"agent=rex,measure=throttling": (Verdict.PASS, 0.01)}),
    ("edge", {"rex": 0.05}, {"agent=rex,measure=throttling": (Verdict.PASS, 0.05)}),
    ("heavy", {"tess": 0.3}, {"agent=tess,measure=throttling": (Verdict.FAIL, 0.3)}),
]


@pytest.mark.parametrize(
    ("ratios", "expected"), [c[1:] for c in THROTTLE_CASES], ids=[c[0] for c in THROTTLE_CASES]
)
def test_throttling(ratios, expected) -> None:
    results = crit.evaluate(spec(crit), evidence(metrics=throttling(**ratios)))
    found = {k: v for k, v in by_scope(results).items() if "throttling" in k}
    assert found == expected


def test_rejections_need_the_watch() -> None:
    results = by_scope(crit.evaluate(spec(crit), evidence(metrics=throttling(rex=0.01))))
    assert results["measure=rejections"] == (Verdict.INCONCLUSIVE, None)


def test_throttling_query_error() -> None:
    found = metrics(error("cpu_throttled_periods_by_agent"), ok("cpu_periods_by_agent"))
    results = by_scope(crit.evaluate(spec(crit), evidence(metrics=found)))
    assert results["measure=throttling"] == (Verdict.INCONCLUSIVE, None)


def rs(name: str, agent: str):
    return record(
        0.1, "ReplicaSet", name, ReplicaSetState(labels={"app.kubernetes.io/name": agent}), type="RELIST"
    )


def running(name: str, agent: str, t: float = 0.1):
    return record(
        t, "Pod", name, PodState(labels={"app.kubernetes.io/name": agent}, phase="Running"), type="RELIST"
    )


def failed_create(t: float, owner: str, message: str, kind: str = "ReplicaSet"):
    return record(
        t,
        "Event",
        f"ev-{t}",
        EventState(
            reason="FailedCreate",
            message=message,
            type="Warning",
            involved_kind=kind,
            involved_name=owner,
            involved_namespace="agents",
            time=T0 + t,
        ),
        type="ADDED",
    )


QUOTA = 'pods "tess-1" is forbidden: exceeded quota: agents, requested: cpu=2, used: cpu=10, limited: cpu=10'

REJECT_CASES = [
    ("none", [rs("tess-rs", "tess"), running("rex-1", "rex")], (Verdict.PASS, 0)),
    (
        "quota-while-rex-runs",
        [rs("tess-rs", "tess"), running("rex-1", "rex"), failed_create(100, "tess-rs", QUOTA)],
        (Verdict.FAIL, 1),
    ),
    (
        "quota-with-no-other-type-running",
        [rs("tess-rs", "tess"), running("tess-2", "tess"), failed_create(100, "tess-rs", QUOTA)],
        (Verdict.PASS, 0),
    ),
    (
        "other-failure-reasons-ignored",
        [rs("tess-rs", "tess"), running("rex-1", "rex"), failed_create(100, "tess-rs", "image pull backoff")],
        (Verdict.PASS, 0),
    ),
]


@pytest.mark.parametrize(
    ("records", "expected"), [c[1:] for c in REJECT_CASES], ids=[c[0] for c in REJECT_CASES]
)
def test_rejections(records, expected) -> None:
    results = by_scope(crit.evaluate(spec(crit), evidence(metrics=throttling(tess=0.01), k8s=k8s(*records))))
    assert results["agent=tess,measure=rejections"] == expected


def test_event_gap_makes_zero_rejections_inconclusive() -> None:
    watch = k8s(rs("tess-rs", "tess"), running("rex-1", "rex"), gaps=[("Event", 100, 200)])
    results = by_scope(crit.evaluate(spec(crit), evidence(metrics=throttling(tess=0.01), k8s=watch)))
    assert results["agent=tess,measure=rejections"] == (Verdict.INCONCLUSIVE, None)


def sts_pod(name: str, agent: str, statefulset: str, t: float = 0.1):
    return record(
        t,
        "Pod",
        name,
        PodState(
            labels={"app.kubernetes.io/name": agent},
            phase="Running",
            owner_kind="StatefulSet",
            owner_name=statefulset,
        ),
        type="RELIST",
    )


def test_statefulset_rejection_is_attributed_through_its_pods() -> None:
    """The platform's agents are StatefulSets: their FailedCreate Events name the StatefulSet."""
    sts_event = failed_create(
        100, "tess", f"create Pod tess-1 in StatefulSet tess failed error: {QUOTA}", kind="StatefulSet"
    )
    watch = k8s(sts_pod("tess-0", "tess", "tess"), running("rex-1", "rex"), sts_event)
    results = by_scope(crit.evaluate(spec(crit), evidence(metrics=throttling(tess=0.01), k8s=watch)))
    assert results["agent=tess,measure=rejections"] == (Verdict.FAIL, 1)


def sts_rejected(t: float = 100):
    return failed_create(
        t, "tess", f"create Pod tess-0 in StatefulSet tess failed error: {QUOTA}", kind="StatefulSet"
    )


def test_statefulset_none_of_whose_pods_was_admitted_is_named_by_its_pod_template() -> None:
    """No tess pod ever existed (the quota refused the first one): the StatefulSet's pod template
    names the agent. Its own labels may lack the agent label; the template's are what pods get."""
    tess = record(
        0.1,
        "StatefulSet",
        "tess",
        StatefulSetState(labels={"team": "qa"}, pod_labels={"app.kubernetes.io/name": "tess"}),
        type="RELIST",
    )
    watch = k8s(tess, running("rex-1", "rex"), sts_rejected())
    results = by_scope(crit.evaluate(spec(crit), evidence(metrics=throttling(rex=0.01), k8s=watch)))
    assert results["agent=tess,measure=rejections"] == (Verdict.FAIL, 1)


def test_statefulset_rejection_without_the_statefulset_or_its_pods_names_no_agent() -> None:
    watch = k8s(running("rex-1", "rex"), sts_rejected())
    results = by_scope(crit.evaluate(spec(crit), evidence(metrics=throttling(rex=0.01), k8s=watch)))
    assert "agent=tess,measure=rejections" not in results


EVENT_GAP_CASES = [
    ("dropped-in-agents-namespace", gap("Event", 100, 200, namespace="agents"), Verdict.INCONCLUSIVE),
    ("cluster-wide", gap("Event", 100, 200), Verdict.INCONCLUSIVE),
    # node events live in `default`: a gap there says nothing about the agents' rejections
    ("other-namespace", gap("Event", 100, 200, namespace="default"), Verdict.PASS),
    # a 410 and a relist: every Event created in the gap was still there to list, with its own time
    ("relisted", gap("Event", 100, 200, namespace="agents", relist=True), Verdict.PASS),
    (
        "relisted-after-the-event-ttl",
        gap("Event", 0, 3700, namespace="agents", relist=True),
        Verdict.INCONCLUSIVE,
    ),
    ("before-the-window", gap("Event", -300, -200, namespace="agents"), Verdict.PASS),
]


@pytest.mark.parametrize(
    ("watch_gap", "expected"), [c[1:] for c in EVENT_GAP_CASES], ids=[c[0] for c in EVENT_GAP_CASES]
)
def test_event_gaps_that_can_hide_a_rejection(watch_gap, expected) -> None:
    watch = k8s(rs("tess-rs", "tess"), running("rex-1", "rex"), gaps=[watch_gap])
    results = by_scope(crit.evaluate(spec(crit), evidence(metrics=throttling(tess=0.01), k8s=watch)))
    assert results["agent=tess,measure=rejections"][0] == expected


def test_relisted_event_from_the_gap_still_fails() -> None:
    """The relist after a 410 delivers the Event created in the gap, timed by its own timestamp."""
    late = failed_create(150, "tess-rs", QUOTA)
    relisted = dataclasses.replace(late, received_ms=int((T0 + 200) * 1000), type="RELIST")
    watch = k8s(
        rs("tess-rs", "tess"),
        running("rex-1", "rex"),
        relisted,
        gaps=[gap("Event", 100, 200, namespace="agents", relist=True)],
    )
    results = by_scope(crit.evaluate(spec(crit), evidence(metrics=throttling(tess=0.01), k8s=watch)))
    assert results["agent=tess,measure=rejections"] == (Verdict.FAIL, 1)


def test_a_whole_second_event_time_counts_a_pod_that_ran_within_that_second() -> None:
    """lastTimestamp is truncated to the second: a rejection stamped T0+100 happened before T0+101,
    so rex, Running from its receipt at T0+100.4, held capacity then (a flake of the sandbox test)."""
    watch = k8s(rs("tess-rs", "tess"), running("rex-1", "rex", t=100.4), failed_create(100, "tess-rs", QUOTA))
    results = by_scope(crit.evaluate(spec(crit), evidence(metrics=throttling(tess=0.01), k8s=watch)))
    assert results["agent=tess,measure=rejections"] == (Verdict.FAIL, 1)


def test_validator_check_judges_throttling_alone() -> None:
    """`validator check` has no watch: it evaluates the throttling measure only (the registry lists
    rejections as not evaluated), so a throttle-free platform passes there."""
    from validator.criteria import registry

    only_throttling = dataclasses.replace(spec(crit), measures=registry.prometheus_measures(crit.ID))
    results = by_scope(crit.evaluate(only_throttling, evidence(metrics=throttling(rex=0.01))))
    assert results == {"agent=rex,measure=throttling": (Verdict.PASS, 0.01)}
    summary = registry.evaluate_all(
        {crit.ID: only_throttling}, evidence(metrics=throttling(rex=0.01)), only=[crit.ID]
    )
    assert summary.outcome(crit.ID).verdict is Verdict.PASS
    assert [(n.id, n.measure) for n in summary.not_evaluated if n.id == crit.ID] == [(crit.ID, "rejections")]


def test_throttling_needs_each_type_measured_over_its_steps() -> None:
    found = metrics(
        ok("cpu_throttled_periods_by_agent", series({AGENT: "rex"}, steady(0.1, start=300, end=300))),
        ok("cpu_periods_by_agent", series({AGENT: "rex"}, steady(10))),
    )
    results = by_scope(crit.evaluate(spec(crit), evidence(metrics=found)))
    assert results["agent=rex,measure=throttling"] == (Verdict.INCONCLUSIVE, None)
