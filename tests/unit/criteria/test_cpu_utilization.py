"""cpu_utilization: mean over the window of usage / requests per agent type, band 0.6..0.8."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.support.evidence import (
    AGENT,
    T0,
    error,
    evidence,
    k8s,
    metrics,
    ok,
    only,
    record,
    series,
    spec,
    steady,
)
from validator.criteria import cpu_utilization as crit
from validator.model import PodState, TimeWindow, Verdict


def usage(agent: str, value, **kw):
    return series({AGENT: agent}, steady(value, **kw))


CASES = [
    # id, usage series, request series, expected {scope: verdict}, expected value of the first scope
    ("in-band", [usage("rex", 0.7)], [usage("rex", 1.0)], {"agent=rex": Verdict.PASS}, 0.7),
    ("below-band", [usage("tess", 0.41)], [usage("tess", 1.0)], {"agent=tess": Verdict.FAIL}, 0.41),
    ("above-band", [usage("rex", 0.9)], [usage("rex", 1.0)], {"agent=rex": Verdict.FAIL}, 0.9),
    ("edges-inclusive", [usage("rex", 0.8)], [usage("rex", 1.0)], {"agent=rex": Verdict.PASS}, 0.8),
    (
        "two-agents-each-judged",
        [usage("rex", 0.7), usage("cleo", 0.2)],
        [usage("rex", 1.0), usage("cleo", 1.0)],
        {"agent=cleo": Verdict.FAIL, "agent=rex": Verdict.PASS},
        0.2,
    ),
    (
        "requests-change-mid-window",  # pods come and go: requests double halfway, usage steady
        [usage("rex", 0.9)],
        [usage("rex", lambda t: 1.0 if t < 300 else 1.5)],
        {"agent=rex": Verdict.PASS},
        None,
    ),
    (
        "no-requests-for-one-agent",
        [usage("blaze", 0.5), usage("rex", 0.7)],
        [usage("rex", 1.0)],
        {"agent=blaze": Verdict.INCONCLUSIVE, "agent=rex": Verdict.PASS},
        None,
    ),
]


@pytest.mark.parametrize(
    ("used", "asked", "expected", "value"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_band_per_agent(used, asked, expected, value) -> None:
    ev = evidence(metrics=metrics(ok("cpu_usage_by_agent", *used), ok("cpu_requests_by_agent", *asked)))
    results = crit.evaluate(spec(crit), ev)
    assert {r.scope_text: r.verdict for r in results} == expected
    if value is not None:
        assert results[0].value == pytest.approx(value)
        assert results[0].unit == "ratio"
        assert dict(results[0].threshold) == {"min": 0.6, "max": 0.8}


def test_requests_change_mid_window_weights_usage_by_requests() -> None:
    ev = evidence(
        metrics=metrics(
            ok("cpu_usage_by_agent", usage("rex", 0.9)),
            ok("cpu_requests_by_agent", usage("rex", lambda t: 1.0 if t < 450 else 1.5)),
        )
    )
    result = only(crit.evaluate(spec(crit), ev))
    # the CPU used over the window over the CPU requested over it, from one rate window (300 s on
    # this clock) after the start: 21 samples of 0.9 used, 10 samples of 1.0 and 11 of 1.5
    # requested (not the mean of the per-sample ratios)
    assert result.value == pytest.approx(21 * 0.9 / (10 * 1.0 + 11 * 1.5))


def test_a_sample_with_few_requests_does_not_swing_the_average() -> None:
    """Pods come and go: a short-lived pod's usage lingers in the rate window after its request is
    gone. Four such samples (2.0 used of 1.0 requested) among 17 at 7 of 10 are a blip (73%), where
    the mean of the per-sample ratios would say 95% and fail."""
    blip = {300.0, 315.0, 330.0, 345.0}
    used = usage("cleo", lambda t: 2.0 if t in blip else 7.0)
    asked = usage("cleo", lambda t: 1.0 if t in blip else 10.0)
    ev = evidence(metrics=metrics(ok("cpu_usage_by_agent", used), ok("cpu_requests_by_agent", asked)))
    result = only(crit.evaluate(spec(crit), ev))
    assert result.verdict is Verdict.PASS
    assert result.value == pytest.approx((17 * 7.0 + 4 * 2.0) / (17 * 10.0 + 4 * 1.0))


BAD = [
    ("no-prometheus", None, "Prometheus evidence missing"),
    (
        "query-error",
        metrics(error("cpu_usage_by_agent"), ok("cpu_requests_by_agent", usage("rex", 1))),
        "HTTP 500",
    ),
    (
        "empty-vector-is-no-data",
        metrics(ok("cpu_usage_by_agent"), ok("cpu_requests_by_agent", usage("rex", 1))),
        "no data",
    ),
    (
        "partial-window",
        metrics(
            ok("cpu_usage_by_agent", usage("rex", 0.7, end=200)), ok("cpu_requests_by_agent", usage("rex", 1))
        ),
        "partial data",
    ),
    (
        "no-agent-label",
        metrics(
            ok("cpu_usage_by_agent", series({}, steady(0.7))),
            ok("cpu_requests_by_agent", series({}, steady(1.0))),
        ),
        "agent label",
    ),
]


@pytest.mark.parametrize(("found", "reason"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_missing_or_partial_data_is_inconclusive(found, reason) -> None:
    result = only(crit.evaluate(spec(crit), evidence(metrics=found)))
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.value is None
    assert reason in result.detail


def test_failure_carries_advice_naming_the_agent() -> None:
    ev = evidence(
        metrics=metrics(
            ok("cpu_usage_by_agent", usage("tess", 0.3)), ok("cpu_requests_by_agent", usage("tess", 1))
        )
    )
    result = only(crit.evaluate(spec(crit), ev))
    assert (
        result.advice and "`tess`" in result.advice[0] and "lower resources.requests.cpu" in result.advice[0]
    )


def test_threshold_override_changes_the_verdict() -> None:
    ev = evidence(
        metrics=metrics(
            ok("cpu_usage_by_agent", usage("tess", 0.5)), ok("cpu_requests_by_agent", usage("tess", 1))
        )
    )
    assert only(crit.evaluate(spec(crit), ev)).verdict is Verdict.FAIL
    assert only(crit.evaluate(spec(crit, min=0.4), ev)).verdict is Verdict.PASS


def test_controllers_are_not_agents_and_are_left_out() -> None:
    """The workflow controller's pods match the suite's controller selector: its CPU is its HPA's
    business, not the agents' band. Without a watch nothing says which type is a controller."""
    controller = {"app.kubernetes.io/name": "workflow-controller",
                  "app.kubernetes.io/component": "controller"}
    rex = {"app.kubernetes.io/name": "rex", "app.kubernetes.io/component": "agent"}
    watch = k8s(
        record(0.1, "Pod", "workflow-controller-1", PodState(labels=controller), type="RELIST",
               namespace="workflow-system"),
        record(0.1, "Pod", "rex-0", PodState(labels=rex), type="RELIST"),
    )
    found = metrics(
        ok("cpu_usage_by_agent", usage("rex", 0.7), usage("workflow-controller", 0.3)),
        ok("cpu_requests_by_agent", usage("rex", 1.0), usage("workflow-controller", 1.0)),
    )
    judged = crit.evaluate(spec(crit), evidence(metrics=found, k8s=watch))
    assert {r.scope_text: r.verdict for r in judged} == {"agent=rex": Verdict.PASS}
    unknown = crit.evaluate(spec(crit), evidence(metrics=found))
    assert {r.scope_text: r.verdict for r in unknown} == {
        "agent=rex": Verdict.PASS, "agent=workflow-controller": Verdict.FAIL}


def test_each_type_must_be_measured_over_the_steps_it_was_seen() -> None:
    """Rex's requests are known at all 21 steps judged but its usage at one: one sample of 21 is not
    evidence that covers rex, though cleo keeps the query as a whole covering the window (it passed)."""
    found = metrics(
        ok("cpu_usage_by_agent", usage("rex", 0.7, start=300, end=300), usage("cleo", 0.7)),
        ok("cpu_requests_by_agent", usage("rex", 1.0), usage("cleo", 1.0)),
    )
    results = {r.scope_text: r for r in crit.evaluate(spec(crit), evidence(metrics=found))}
    assert results["agent=cleo"].verdict is Verdict.PASS
    assert results["agent=rex"].verdict is Verdict.INCONCLUSIVE
    assert "at 5% of the 21 steps" in results["agent=rex"].detail


def test_samples_whose_rate_window_reaches_before_the_run_are_not_judged() -> None:
    """On the sandbox a run follows the deploy of its platform: at the window's start the previous
    platform's pods go away, their requests still in the trailing average and their use already
    gone (a failure-matrix run read 11% there). The samples of the first rate window (300 s on this
    clock) measure partly what ran before the run; from then on, the run's own."""
    asked = usage("blaze", lambda t: 12.5 - t / 30 if t < 200 else 6.0)
    used = usage("blaze", lambda t: 1.0 if t < 200 else 4.2)  # 70% once the run's own
    ev = evidence(metrics=metrics(ok("cpu_usage_by_agent", used), ok("cpu_requests_by_agent", asked)))
    result = only(crit.evaluate(spec(crit), ev))
    assert result.verdict is Verdict.PASS and result.value == pytest.approx(0.7)
    assert "over 21 samples" in result.detail
    # a window no longer than the rate window: all of it is judged (nothing else to judge)
    short = replace(ev, manifest=replace(ev.manifest, window=TimeWindow(start=T0, end=T0 + 300)))
    assert only(crit.evaluate(spec(crit), short)).value == pytest.approx((14 * 1.0 + 7 * 4.2) / sum(
        12.5 - t / 30 if t < 200 else 6.0 for t in range(0, 301, 15)
    ))
