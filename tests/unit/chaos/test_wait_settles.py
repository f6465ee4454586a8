"""The method's wait for recovered workloads believes availability only once it has held: a moment
where the status and the pods agree too early (right after a kill) is not a recovery. The flapping
is injected (the real controllers produce it only by chance)."""

from __future__ import annotations

import itertools

import pytest

from validator.chaos import probes


def test_a_single_available_moment_is_not_believed(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = iter([True, False, False, True, True, True, True, True, True])
    monkeypatch.setattr(probes, "deployments_available", lambda *_a, **_k: next(answers))
    clock = itertools.count(0.0, 1.0)
    monkeypatch.setattr("time.monotonic", lambda: next(clock))
    monkeypatch.setattr("time.sleep", lambda _s: None)
    assert probes.wait_for_deployments_available("agents", timeout_s=60, settled_s=3.0) is True
    assert len(list(answers)) == 2  # seven checks: believed only after holding for 3 s, not at the first True


def test_availability_that_never_holds_long_enough_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = itertools.cycle([True, True, False])
    monkeypatch.setattr(probes, "deployments_available", lambda *_a, **_k: next(answers))
    clock = itertools.count(0.0, 1.0)
    monkeypatch.setattr("time.monotonic", lambda: next(clock))
    monkeypatch.setattr("time.sleep", lambda _s: None)
    assert probes.wait_for_deployments_available("agents", timeout_s=30, settled_s=3.0) is False
