"""SamplePoints: a series' samples held as two arrays, read as the (time, value) tuples they are."""

from __future__ import annotations

import math
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


@pytest.mark.parametrize(
    ("points", "in_shape"),
    [
        (POINTS, True),
        ((), True),
        (((100.0, 1.0), (100.0, 2.0)), False),  # a time twice
        (((115.0, 1.0), (100.0, 2.0)), False),  # out of order
        (((100.0, math.nan), (115.0, 2.0)), False),
        (((100.0, 1.0), (115.0, math.inf)), False),
        (((100.0, 1e308), (115.0, 1e308)), True),  # finite, though their sum is not
    ],
)
def test_in_shape_means_increasing_times_and_finite_values(
    points: tuple[tuple[float, float], ...], in_shape: bool
) -> None:
    held = SamplePoints.of(points)
    assert held.in_shape() is in_shape
    assert held.in_shape() is in_shape  # asked again: the same answer


def test_times_and_values_must_pair() -> None:
    with pytest.raises(ValueError, match="2 times and 1 values"):
        SamplePoints(array("d", [1.0, 2.0]), array("d", [1.0]))
