"""K8sEvidence.of_kind: every kept record of a kind in receipt order, sorted once and kept."""

from __future__ import annotations

from validator.model import K8sEvidence, PodState, WatchRecord


def _record(ms: int, name: str, phase: str) -> WatchRecord:
    state = PodState(phase=phase)
    return WatchRecord(received_ms=ms, kind="Pod", type="MODIFIED", namespace="ns", name=name, state=state)


RECORDS = [
    _record(3000, "b", "Running"),
    _record(1000, "a", "Pending"),
    _record(2000, "b", "Pending"),
    _record(4000, "a", "Running"),
]


def test_of_kind_is_in_receipt_order_every_time_asked() -> None:
    evidence = K8sEvidence.from_records(RECORDS)
    first = evidence.of_kind("Pod")
    assert [r.received_ms for r in first] == [1000, 2000, 3000, 4000]
    assert evidence.of_kind("Pod") == first
    assert evidence.of_kind("Node") == ()


def test_asking_changes_neither_equality_nor_the_records() -> None:
    asked, fresh = K8sEvidence.from_records(RECORDS), K8sEvidence.from_records(RECORDS)
    asked.of_kind("Pod")
    assert asked == fresh and asked.records == fresh.records
    assert "_in_order" not in repr(asked)
