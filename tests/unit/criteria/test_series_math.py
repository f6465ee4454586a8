"""series_math.max_by: the per-label maximum every criterion over per-pod series builds on."""

from __future__ import annotations

import math

import pytest

from tests.support.evidence import T0, ok, series
from validator.criteria.series_math import max_by, max_by_samples
from validator.model import SamplePoints, Series, TimeWindow

POD = {"namespace": "agents", "pod": "rex-1"}
WINDOW = TimeWindow(start=T0, end=T0 + 60)


def test_one_series_per_key_is_its_points_in_time_order() -> None:
    found = ok("q", series(POD, [(T0 + 30, 2.0), (T0, 1.0), (T0 + 15, 3.0)]))
    in_order = [(T0, 1.0), (T0 + 15, 3.0), (T0 + 30, 2.0)]
    assert max_by(found, "namespace", "pod") == {("agents", "rex-1"): in_order}


def test_series_of_one_key_are_maxed_at_each_time() -> None:
    found = ok(
        "q",
        series({**POD, "container": "a"}, [(T0, 1.0), (T0 + 15, 5.0)]),
        series({**POD, "container": "b"}, [(T0, 4.0), (T0 + 15, 2.0), (T0 + 30, 7.0)]),
    )
    assert max_by(found, "pod") == {("rex-1",): [(T0, 4.0), (T0 + 15, 5.0), (T0 + 30, 7.0)]}


def test_a_time_written_twice_in_one_series_keeps_its_larger_value() -> None:
    found = ok("q", series(POD, [(T0, 3.0), (T0, 1.0), (T0 + 15, 1.0), (T0 + 15, 3.0)]))
    assert max_by(found, "pod") == {("rex-1",): [(T0, 3.0), (T0 + 15, 3.0)]}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_dropped(bad: float) -> None:
    found = ok("q", series(POD, [(T0, bad), (T0 + 15, 2.0)]))
    assert max_by(found, "pod") == {("rex-1",): [(T0 + 15, 2.0)]}
    assert max_by(found, "pod", window=WINDOW) == {("rex-1",): [(T0 + 15, 2.0)]}


def test_the_window_keeps_its_ends_and_drops_what_lies_outside() -> None:
    points = [(T0 - 15, 9.0), (T0, 1.0), (T0 + 60, 2.0), (T0 + 75, 9.0), (math.nan, 9.0)]
    found = ok("q", series(POD, points))
    assert max_by(found, "pod", window=WINDOW) == {("rex-1",): [(T0, 1.0), (T0 + 60, 2.0)]}


def test_a_key_with_nothing_inside_the_window_is_left_out() -> None:
    found = ok("q", series(POD, [(T0 + 600, 1.0)]), series({"pod": "rex-2"}, [(T0, 1.0)]))
    assert max_by(found, "pod", window=WINDOW) == {("rex-2",): [(T0, 1.0)]}


CASES = {
    "one-series": [series(POD, [(T0 + 30, 2.0), (T0, 1.0), (T0 + 15, 3.0)])],
    "two-of-one-key": [
        series({**POD, "container": "a"}, [(T0, 1.0), (T0 + 15, 5.0)]),
        series({**POD, "container": "b"}, [(T0, 4.0), (T0 + 15, 2.0), (T0 + 30, 7.0)]),
    ],
    "repeated-time": [series(POD, [(T0, 3.0), (T0, 1.0), (T0 + 15, 1.0), (T0 + 15, 3.0)])],
    "non-finite": [series(POD, [(T0, math.nan), (T0 + 15, 2.0), (T0 + 30, math.inf)])],
    "outside-the-window": [series(POD, [(T0 - 15, 9.0), (T0, 1.0), (T0 + 60, 2.0), (T0 + 75, 9.0)])],
    "nothing-inside": [series(POD, [(T0 + 600, 1.0)]), series({"pod": "rex-2"}, [(T0, 1.0)])],
}


@pytest.mark.parametrize("compact", [False, True], ids=["tuples", "sample-points"])
@pytest.mark.parametrize("window", [None, WINDOW], ids=["whole", "window"])
@pytest.mark.parametrize("name", list(CASES))
def test_max_by_samples_holds_what_max_by_finds(name: str, window: TimeWindow | None, compact: bool) -> None:
    found = ok(
        "q",
        *(
            Series(labels=s.labels, points=SamplePoints.of(s.points) if compact else s.points)
            for s in CASES[name]
        ),
    )
    held = max_by_samples(found, "pod", window=window)
    assert {k: list(v) for k, v in held.items()} == max_by(found, "pod", window=window)
    assert all(isinstance(v, SamplePoints) for v in held.values())


def test_a_series_already_in_shape_is_its_own_result() -> None:
    points = SamplePoints.of([(T0, 1.0), (T0 + 15, 2.0)])
    found = ok("q", Series(labels=POD, points=points))
    assert max_by_samples(found, "pod", window=WINDOW)[("rex-1",)] is points
