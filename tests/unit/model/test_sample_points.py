"""SamplePoints: a series' samples held as two arrays, read as the (time, value) tuples they are."""

from __future__ import annotations

from array import array

import pytest

from validator.model import SamplePoints, Series

POINTS = ((100.0, 1.5), (115.0, 0.0), (130.0, -2.25))


def test_it_reads_as_its_tuples() -> None:
    held = SamplePoints.of(POINTS)
    assert list(held) == list(POINTS) and len(held) == 3 and bool(held)
    assert held[0] == (100.0, 1.5) and held[-1] == (130.0, -2.25)
    assert dict(held) == dict(POINTS) and sorted(held) == sorted(POINTS)
    assert not SamplePoints.of([])


def test_a_slice_is_samples_too() -> None:
    held = SamplePoints.of(POINTS)
    assert held[1:] == POINTS[1:] and isinstance(held[1:], SamplePoints)
    assert held[1:][0] == POINTS[1] and held[::-1] == POINTS[::-1] and held[5:] == ()


def test_equal_to_the_same_samples_however_held() -> None:
    held = SamplePoints.of(POINTS)
    assert held == SamplePoints.of(POINTS) and held == POINTS
    assert held != POINTS[:2] and held != SamplePoints.of(POINTS[:2]) and held != list(POINTS)
    assert Series(points=held) == Series(points=SamplePoints.of(POINTS))


def test_times_and_values_are_copies() -> None:
    held = SamplePoints.of(POINTS)
    times = held.times()
    times[0] = 0.0
    held.values()[0] = 0.0
    assert held[0] == (100.0, 1.5)


def test_increasing_means_strictly_later_each_time() -> None:
    assert SamplePoints.of(POINTS).increasing()
    assert not SamplePoints.of([(100.0, 1.0), (100.0, 2.0)]).increasing()
    assert not SamplePoints.of([(115.0, 1.0), (100.0, 2.0)]).increasing()
    assert SamplePoints.of([]).increasing()


def test_times_and_values_must_pair() -> None:
    with pytest.raises(ValueError, match="2 times and 1 values"):
        SamplePoints(array("d", [1.0, 2.0]), array("d", [1.0]))
