"""The evidence model's own invariants: windows, RFC 3339, verdict order, result rules."""

from __future__ import annotations

import dataclasses

import pytest

from validator.model import (
    FaultWindow,
    QueryResult,
    QueryStatus,
    Result,
    Series,
    TimeWindow,
    Verdict,
    format_rfc3339,
    kube_state_label,
    parse_rfc3339,
    worst,
)

T0 = 1763604000.0


@pytest.mark.parametrize(
    ("text", "epoch"),
    [
        ("2025-11-20T02:00:00Z", T0),
        ("2025-11-20T03:00:00+01:00", T0),
        ("2025-11-20T02:00:00.250Z", T0 + 0.25),
        ("2025-11-20T02:00:00.123456Z", T0 + 0.123456),
    ],
    ids=["utc", "offset", "millis", "micros"],
)
def test_parse_rfc3339(text: str, epoch: float) -> None:
    assert parse_rfc3339(text) == pytest.approx(epoch)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        parse_rfc3339("2025-11-20T02:00:00")


@pytest.mark.parametrize(
    ("epoch", "text"),
    [
        (T0, "2025-11-20T02:00:00Z"),
        (T0 + 0.25, "2025-11-20T02:00:00.250Z"),
        (T0 + 0.9999, "2025-11-20T02:00:01Z"),
    ],
    ids=["whole", "millis", "rounds-up"],
)
def test_format_rfc3339(epoch: float, text: str) -> None:
    assert format_rfc3339(epoch) == text


def test_window_refuses_end_before_start() -> None:
    with pytest.raises(ValueError, match=r"ends .* before it starts"):
        TimeWindow(start=T0, end=T0 - 1)


def test_window_arithmetic() -> None:
    w = TimeWindow(start=T0, end=T0 + 600)
    assert w.duration == 600 and w.contains(T0) and not w.contains(T0 + 600)
    assert w.clip(TimeWindow(start=T0 + 500, end=T0 + 900)) == TimeWindow(start=T0 + 500, end=T0 + 600)
    assert w.clip(TimeWindow(start=T0 + 700, end=T0 + 900)) is None


def test_records_are_frozen() -> None:
    w = TimeWindow(start=T0, end=T0 + 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        w.start = 0  # type: ignore[misc]


def test_worst_verdict() -> None:
    assert worst([Verdict.PASS, Verdict.INCONCLUSIVE]) is Verdict.INCONCLUSIVE
    assert worst([Verdict.INCONCLUSIVE, Verdict.FAIL, Verdict.PASS]) is Verdict.FAIL
    assert worst([]) is None


def test_inconclusive_result_has_no_value_and_a_reason() -> None:
    with pytest.raises(ValueError, match="carries no value"):
        Result(criterion="x", verdict=Verdict.INCONCLUSIVE, value=1.0, detail="why")
    with pytest.raises(ValueError, match="must say what was missing"):
        Result(criterion="x", verdict=Verdict.INCONCLUSIVE)
    assert Result(
        criterion="x", scope={"agent": "tess", "resource": "cpu"}, verdict=Verdict.PASS
    ).scope_text == ("agent=tess,resource=cpu")
    assert Result(criterion="x", verdict=Verdict.PASS).scope_text == "all"


def test_empty_vector_is_no_data_not_zero() -> None:
    empty = QueryResult(key="k", series=(Series(labels={"a": "b"}),))
    assert empty.no_data and "returned no data" in empty.problem()
    failed = QueryResult(key="k", status=QueryStatus.ERROR, error="HTTP 500")
    assert not failed.no_data and failed.problem() == "query `k` failed: HTTP 500"
    assert QueryResult(key="k", series=(Series(points=((T0, 0.0),)),)).problem() == ""


def test_kube_state_label() -> None:
    assert kube_state_label("app.kubernetes.io/name") == "label_app_kubernetes_io_name"


@pytest.mark.parametrize(
    ("name", "memory", "maintenance"),
    [
        ("memory-pressure", True, False),
        ("node-drain", False, True),
        ("oom-loop", True, False),
        ("cpu-hog", False, False),
    ],
)
def test_fault_kinds_by_name(name: str, memory: bool, maintenance: bool) -> None:
    fault = FaultWindow(fault=name, start=T0, end=T0 + 60, rollback_end=T0 + 90)
    assert (fault.is_memory_pressure, fault.is_maintenance) == (memory, maintenance)
    # a fault is in place until the rollback that reverted it (uncordon, pressure removed): recovery
    # is timed from there, whatever its kind; without a rollback, from the injection's end
    assert fault.recovery_from == T0 + 90
    assert FaultWindow(fault=name, start=T0, end=T0 + 60).recovery_from == T0 + 60
