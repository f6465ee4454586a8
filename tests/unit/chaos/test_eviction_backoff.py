"""The retry loop of the drain: backoff doubles up to its cap, every refusal is kept with its budget,
and the deadline ends it cleanly. (The refusals themselves come from the real apiserver in the
sandbox tests; here a scripted mutator lets the clock be exact.)"""

from __future__ import annotations

from typing import Any

from validator.chaos.eviction import evict_with_retry
from validator.safety.mutator import EvictionOutcome


class Scripted:
    plan_mode = False

    def __init__(self, allow_after: dict[str, int]) -> None:
        self.allow_after = allow_after
        self.calls: dict[str, int] = {}

    def evict(self, pod: dict[str, Any]) -> EvictionOutcome:
        name = pod["metadata"]["name"]
        self.calls[name] = self.calls.get(name, 0) + 1
        if self.calls[name] > self.allow_after[name]:
            return EvictionOutcome(pod=name, evicted=True)
        return EvictionOutcome(pod=name, evicted=False, refused_by="agents-pdb")


def pod(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "agents", "uid": name}}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_retries_until_the_budget_allows() -> None:
    clock = Clock()
    m = Scripted({"a": 0, "b": 3})
    report = evict_with_retry(
        m,
        [pod("a"), pod("b")],
        timeout_s=60,
        backoff_s=1,
        max_backoff_s=5,  # type: ignore[arg-type]
        wait_gone=False,
        clock=clock,
        sleep=clock.sleep,
    )
    assert report.evicted == ["pod/agents/a", "pod/agents/b"] and not report.timed_out
    assert [r.budget for r in report.refusals] == ["agents-pdb"] * 3
    assert clock.sleeps == [1, 2, 4]


def test_deadline_ends_cleanly_with_every_refusal_recorded() -> None:
    clock = Clock()
    m = Scripted({"a": 10_000})
    report = evict_with_retry(
        m,
        [pod("a")],
        timeout_s=20,
        backoff_s=1,
        max_backoff_s=5,  # type: ignore[arg-type]
        wait_gone=False,
        clock=clock,
        sleep=clock.sleep,
    )
    assert report.timed_out and report.pending == ["pod/agents/a"] and report.evicted == []
    assert clock.sleeps == [1, 2, 4, 5, 5, 3]  # capped at 5 s, last sleep cut to the deadline
    assert len(report.refusals) == 7
    assert "refused 7x by budget agents-pdb" in report.refusal_summary()
