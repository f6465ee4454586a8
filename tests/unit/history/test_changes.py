"""The change-point detector, case by case: what a platform team would call a regression, and what
it would not."""

from __future__ import annotations

import random

import pytest

from validator.history.changes import MIN_RUNS, Method, Trend, detect, latest_step, worse

RECOVERY = {"max": 300.0}  # seconds: higher is worse
UTILISATION = {"min": 0.6, "max": 0.8}  # a band: away from its middle is worse


def noisy(mean: float, n: int, sd: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [mean + rng.gauss(0, sd) for _ in range(n)]


@pytest.mark.parametrize(
    ("name", "values", "threshold", "trend", "at"),
    [
        ("flat", [40.0] * 12, RECOVERY, Trend.STEADY, None),
        ("noise only", noisy(40, 20, 3, 1), RECOVERY, Trend.STEADY, None),
        (
            "a step up inside the budget",
            noisy(40, 10, 3, 2) + noisy(140, 6, 3, 3),
            RECOVERY,
            Trend.REGRESSED,
            10,
        ),
        ("a step down", noisy(140, 8, 3, 4) + noisy(40, 6, 3, 5), RECOVERY, Trend.IMPROVED, 8),
        (
            "a slow drift",
            [40 + 5 * i + d for i, d in enumerate(noisy(0, 20, 2, 6))],
            RECOVERY,
            Trend.REGRESSED,
            None,
        ),
        ("a band left", noisy(0.70, 10, 0.01, 7) + noisy(0.78, 6, 0.01, 8), UTILISATION, Trend.REGRESSED, 10),
        (
            "a band re-centred",
            noisy(0.78, 10, 0.01, 9) + noisy(0.70, 6, 0.01, 10),
            UTILISATION,
            Trend.IMPROVED,
            10,
        ),
        # a bad deploy reverted: the excursion ended, the series is back where it was
        (
            "an excursion that ended",
            noisy(40, 20, 3, 16) + noisy(140, 8, 3, 17) + noisy(40, 20, 3, 18),
            RECOVERY,
            Trend.STEADY,
            None,
        ),
        # two steps the same way: still a regression, since the second
        (
            "a staircase",
            noisy(40, 8, 3, 19) + noisy(90, 6, 3, 20) + noisy(140, 6, 3, 21),
            RECOVERY,
            Trend.REGRESSED,
            14,
        ),
        # back, but only half way: not the end of it
        (
            "half way back",
            noisy(40, 10, 3, 22) + noisy(140, 6, 3, 23) + noisy(90, 8, 3, 24),
            RECOVERY,
            Trend.IMPROVED,
            16,
        ),
        ("too few runs", [40.0, 140.0, 140.0], RECOVERY, Trend.INCONCLUSIVE, None),
        # the morning after a change: too few runs after it for a change point, a step already
        ("a step on the third night", [0.70, 0.71, 1.40], UTILISATION, Trend.REGRESSED, 2),
        ("a step after a long steady run", [*noisy(40, 12, 2, 13), 140.0], RECOVERY, Trend.REGRESSED, 12),
        ("a step back to the band", [0.61, 0.60, 0.72], UTILISATION, Trend.IMPROVED, 2),
        # noise the size of the sandbox's own (two reference nightlies, cpu_utilization): no step
        ("sandbox noise on the third night", [0.745, 0.708, 0.72], UTILISATION, Trend.INCONCLUSIVE, None),
        # 0 s -> 3 s of a 300 s budget: below the band's magnitude floor, not a regression
        ("a tiny rise from zero", [0.0, 0.0, 0.0, 0.0, 3.0], RECOVERY, Trend.STEADY, None),
        (
            "a missing night",
            [*noisy(40, 8, 3, 11), None, *noisy(140, 6, 3, 12)],
            RECOVERY,
            Trend.REGRESSED,
            9,  # the first measured run after the change, counted in the series as given
        ),
    ],
)
def test_detector(
    name: str, values: list[float | None], threshold: dict[str, float], trend: Trend, at: int | None
) -> None:
    found = detect(values, threshold)
    assert found.trend is trend, (name, found)
    if at is not None:
        assert found.latest is not None and found.latest.index == at, (name, found)
        if found.latest.method is Method.CHANGE_POINT:
            assert found.latest.pvalue < 0.001


def test_a_step_is_measured_against_the_runs_since_the_last_change_point() -> None:
    # a change at night 10, then one more night far above the new level
    known = list(enumerate([*noisy(40, 10, 2, 14), *noisy(140, 8, 2, 15), 400.0]))
    step = latest_step(known, RECOVERY, since=10)
    assert step is not None and step.method is Method.STEP and step.index == 18 and step.worse
    assert 130 < step.before < 150  # the mean since the change point, not of every night
    assert latest_step(known[:-1], RECOVERY, since=10) is None  # the nights after it: no step


def test_the_tolerance_is_the_users() -> None:
    known = list(enumerate([100.0, 101.0, 99.0, 100.0, 112.0]))  # +12%: inside 15%, over 10%
    assert latest_step(known, RECOVERY) is None
    step = latest_step(known, RECOVERY, tolerance=0.10)
    assert step is not None and step.worse and (step.before, step.after) == (100.0, 112.0)


def test_too_few_runs_says_how_many_it_needs() -> None:
    found = detect([1.0, None, 2.0], RECOVERY)
    assert (
        found.trend is Trend.INCONCLUSIVE
        and f"at least {MIN_RUNS}" in found.reason
        and "2 measured" in found.reason
    )


def test_the_bad_direction_follows_the_threshold() -> None:
    assert worse({"max": 300}, 40, 140) and not worse({"max": 300}, 140, 40)
    assert worse({"min": 0.95}, 0.99, 0.97) and not worse({"min": 0.95}, 0.97, 0.99)
    assert worse({"min": 0.6, "max": 0.8}, 0.70, 0.62) and not worse({"min": 0.6, "max": 0.8}, 0.62, 0.70)
    assert not worse({}, 1, 2)  # no threshold: no direction is bad
