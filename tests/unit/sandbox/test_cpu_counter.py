"""The sandbox's exact CPU counter (validator.sandbox.usage, kwok/metrics.yaml): its value, and the
annotations that change a running pod's CPU without a jump."""

from __future__ import annotations

import itertools
import math
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from validator.sandbox import usage
from validator.sandbox.usage import (
    COMPLETE_AFTER,
    COUNTER_DELAY_S,
    CPU,
    CPU_BASE,
    CPU_BEFORE,
    CPU_SINCE,
    MEMORY,
    counting_clock,
    cpu_counter,
    cpu_counter_annotations,
    duration_seconds,
    epoch_seconds,
    rfc3339,
    usage_patch,
)

STARTED = "2026-11-28T08:55:48Z"
T0 = epoch_seconds(STARTED)  # the pod's start time, whole seconds as the API keeps it
IN_STEP = T0 + 2 * COUNTER_DELAY_S  # from then on the counter is in step with the clock


def pod(
    annotations: dict[str, str] | None = None, phase: str = "Running", started: str | None = STARTED
) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if started is not None:
        status["startTime"] = started
    return {
        "metadata": {"name": "p", "namespace": "agents", "annotations": dict(annotations or {})},
        "spec": {"containers": [{"name": "agent", "resources": {"limits": {"memory": "16Gi"}}}]},
        "status": status,
    }


def applied(current: dict[str, Any], patch: dict[str, str]) -> dict[str, Any]:
    return pod({**current["metadata"]["annotations"], **patch}, current["status"]["phase"])


def kwok_counter(p: dict[str, Any], at: float) -> float:
    """cpu_counter as kwok's CEL computes it: each Quantity x double truncated to millis."""

    def times(q: str, seconds: float) -> float:
        return math.trunc(usage.parse_quantity(q) * seconds * 1000) / 1000

    annotations = p["metadata"]["annotations"]
    t = counting_clock(p, at)
    assert t is not None
    rate = annotations.get(CPU, "10m")
    if CPU_SINCE not in annotations:
        return times(rate, t - T0)
    since, base = float(annotations[CPU_SINCE]), float(annotations[CPU_BASE])
    if t < since:
        return base - times(annotations[CPU_BEFORE], since - t)
    return base + times(rate, t - since)


# --- the value ------------------------------------------------------------------------------------


def test_a_pending_pod_counts_nothing() -> None:
    assert cpu_counter(pod({CPU: "2"}, phase="Pending", started=None), T0 + 100) == 0.0
    assert cpu_counter(pod({CPU: "2"}, phase="Pending"), T0 + 100) == 0.0


def test_a_running_pod_holds_at_0_then_catches_up_with_its_cpu_times_its_time_since_start() -> None:
    p = pod({CPU: "1500m"})
    assert cpu_counter(p, T0 + 1) == 0.0  # still 0 at the first scrape
    assert cpu_counter(p, T0 + COUNTER_DELAY_S) == 0.0
    assert cpu_counter(p, T0 + 4.5) == pytest.approx(1.5 * 3)  # twice as fast for a while
    assert cpu_counter(p, IN_STEP) == pytest.approx(1.5 * 6)
    assert cpu_counter(p, IN_STEP + 10) == pytest.approx(1.5 * 16)  # CPU x time since start


def test_the_counting_clock_is_continuous_and_monotonic() -> None:
    p = pod({CPU: "1"})
    times = [T0 - 1 + k * 0.01 for k in range(1200)]
    clock = [counting_clock(p, t) or 0.0 for t in times]
    steps = [b - a for a, b in itertools.pairwise(clock)]
    assert min(steps) >= 0 and max(steps) <= 0.02 + 1e-6  # never back, at most twice as fast


def test_a_pod_without_the_annotation_counts_the_default_10m() -> None:
    assert cpu_counter(pod(), T0 + 100) == pytest.approx(1.0)


@pytest.mark.parametrize("span", [1, 2, 3, 5, 6, 9, 60])
def test_a_stage_pod_stops_at_cpu_times_its_duration_and_keeps_it_once_finished(span: int) -> None:
    running = pod({CPU: "700m", COMPLETE_AFTER: f"{span}s"})
    values = [cpu_counter(running, T0 + k * 0.25) for k in range(4 * (span + 10))]
    assert all(b >= a for a, b in itertools.pairwise(values))
    assert values[-1] == pytest.approx(0.7 * span)
    assert cpu_counter(running, T0 + span + 2 * COUNTER_DELAY_S) == pytest.approx(0.7 * span)
    finished = pod({CPU: "700m", COMPLETE_AFTER: f"{span}s"}, phase="Succeeded")
    assert cpu_counter(finished, T0 + span + 60) == pytest.approx(0.7 * span)  # read after the end


def test_a_pod_that_finished_without_an_announced_end_reads_0() -> None:
    """Like a real container's series, gone: a drop to 0 adds nothing to rate() or increase()."""
    assert cpu_counter(pod({CPU: "2"}, phase="Failed"), T0 + 60) == 0.0


# --- changing a running pod's CPU -----------------------------------------------------------------


@pytest.mark.parametrize(("old", "new"), [("1500m", "300m"), ("300m", "2"), ("10m", "1440m")])
def test_a_cpu_change_takes_effect_after_the_lead_without_a_jump(old: str, new: str) -> None:
    before = pod({CPU: old} if old != "10m" else {})
    now = T0 + 42.123
    patch = cpu_counter_annotations(before, new, now)
    after = applied(before, patch)
    since = float(patch[CPU_SINCE])
    assert since == pytest.approx(now + usage.SWITCH_LEAD_S, abs=1e-3)
    assert patch[CPU] == new and patch[CPU_BEFORE] == old
    for k in range(0, 101):  # over [now, since]: the old rate still, up to a millicore-second more
        t = now + (since - now) * k / 100
        assert 0 <= cpu_counter(after, t) - cpu_counter(before, t) <= 0.0016
    assert cpu_counter(after, since + 10) - cpu_counter(after, since) == pytest.approx(
        10 * usage.parse_quantity(new)
    )


def test_the_new_base_is_never_below_what_kwok_read_with_its_millisecond_truncation() -> None:
    rng = random.Random(7)
    for _ in range(500):
        current = pod({CPU: f"{rng.randint(1, 4000)}m"})
        now = T0 + rng.uniform(0, 5000)
        after = applied(current, cpu_counter_annotations(current, f"{rng.randint(1, 4000)}m", now))
        for t in (now, now + 0.3, now + 0.999):
            assert kwok_counter(after, t) >= kwok_counter(current, t)


def test_random_rewrites_read_by_kwok_over_time_stay_monotonic_and_integrate_the_rate() -> None:
    """Writes at random moments (some closer together than the lead), each reaching kwok 0.3 s
    later: what kwok reads never decreases, and ends at the integral of the rate it followed."""
    rng = random.Random(11)
    versions = [(-math.inf, pod({CPU: "1000m"}))]  # (from when kwok sees it, the pod)
    switches = [(T0, 1.0)]  # (from when on the counting clock, cores): the rate the counter follows
    now = T0 - 1.0
    for _ in range(60):
        now += rng.choice([0.2, 0.7, 1.5, 5.0, 15.0])
        cpu = f"{rng.randint(50, 3000)}m"
        current = versions[-1][1]
        patch = cpu_counter_annotations(current, cpu, now)
        if not patch:  # a switch is pending: this change waits
            continue
        versions.append((now + 0.3, applied(current, patch)))
        switches.append((float(patch[CPU_SINCE]), usage.parse_quantity(cpu)))
    end = now + 30
    reads, k = [], 0
    for step in range(int((end - T0 + 2) / 0.05)):
        t = T0 - 2 + step * 0.05
        while k + 1 < len(versions) and versions[k + 1][0] <= t:
            k += 1
        reads.append(kwok_counter(versions[k][1], t))
    assert all(b >= a for a, b in itertools.pairwise(reads)), "the counter stepped back"
    bounds = [*[t for t, _ in switches[1:]], end]
    integral = sum(r * (b - t) for (t, r), b in zip(switches, bounds, strict=True))
    assert reads[-1] == pytest.approx(integral, abs=0.0016 * len(versions))


def test_a_second_change_within_the_lead_waits_for_the_pending_switch() -> None:
    now = T0 + 10
    first = applied(pod({CPU: "1500m"}), cpu_counter_annotations(pod({CPU: "1500m"}), "300m", now))
    assert cpu_counter_annotations(first, "2", now + 0.4) == {}
    deferred = usage_patch(first, cpu="2", memory="8Gi", now=now + 0.4)
    assert deferred == {"metadata": {"annotations": {MEMORY: "8Gi"}}}
    later = cpu_counter_annotations(first, "2", now + 1.5)
    assert later[CPU_BEFORE] == "300m" and float(later[CPU_SINCE]) == pytest.approx(now + 2.5)


def test_a_write_before_the_counter_caught_up_switches_once_it_has() -> None:
    young = pod({CPU: "1500m"})
    patch = cpu_counter_annotations(young, "300m", T0 + 0.5)
    assert float(patch[CPU_SINCE]) == IN_STEP
    assert float(patch[CPU_BASE]) == pytest.approx(1.5 * 6, abs=0.002)
    after = applied(young, patch)
    for t in (T0 + 1, T0 + 4, T0 + 5.5):  # the old rate until then, on the same clock
        assert cpu_counter(after, t) == pytest.approx(cpu_counter(young, t), abs=0.002)
    assert cpu_counter(after, IN_STEP + 10) == pytest.approx(9.0 + 3.0, abs=0.002)


def test_a_pod_that_has_not_started_gets_its_cpu_annotation_alone() -> None:
    pending = pod({CPU: "1500m"}, phase="Pending", started=None)
    assert usage_patch(pending, cpu="300m") == {"metadata": {"annotations": {CPU: "300m"}}}
    with pytest.raises(ValueError):
        cpu_counter_annotations(pending, "300m", T0)


def test_usage_patch_on_a_running_pod_carries_the_counter_and_a_memory_only_patch_does_not() -> None:
    running = pod({CPU: "1500m"})
    annotations = usage_patch(running, cpu="300m", memory="8Gi", now=T0 + 20)["metadata"]["annotations"]
    assert set(annotations) == {CPU, CPU_BASE, CPU_SINCE, CPU_BEFORE, MEMORY}
    assert usage_patch(running, memory="8Gi")["metadata"]["annotations"] == {MEMORY: "8Gi"}


# --- helpers and kwok/metrics.yaml ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"), [("90s", 90), ("1m30s", 90), ("1500ms", 1.5), ("2h", 7200), (".5s", 0.5)]
)
def test_durations_read_as_kwok_reads_them(text: str, seconds: float) -> None:
    assert duration_seconds(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "s", "5x", "1m x"])
def test_what_is_no_duration_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        duration_seconds(text)


def test_complete_at_is_rfc3339_with_microseconds() -> None:
    assert rfc3339(T0 + 0.25) == "2026-11-28T08:55:48.250000Z"
    assert epoch_seconds(rfc3339(T0 + 0.25)) == T0 + 0.25


def _metrics() -> dict[str, str]:
    path = Path(usage.__file__).parent / "kwok" / "metrics.yaml"
    doc = yaml.safe_load(path.read_text())
    return {m["name"]: m["value"] for m in doc["spec"]["metrics"]}


def test_kwoks_cel_counter_uses_the_same_names_and_delay_as_the_python_one() -> None:
    container = _metrics()["container_cpu_usage_seconds_total"]
    for key in (CPU, CPU_BASE, CPU_SINCE, CPU_BEFORE, COMPLETE_AFTER):
        assert f'"{key}"' in container
    delay = f"{COUNTER_DELAY_S:.1f}"
    assert f"x <= {delay} ? 0.0 : (x <= {2 * COUNTER_DELAY_S:.1f} ? 2.0 * (x - {delay}) : x)" in container
    assert f'Quantity("{usage.DEFAULT_CPU}")' in container
