"""A criterion's worst scope: by verdict first (fail > inconclusive > not exercised > pass), then by
how far past (or how near) its threshold the value lies."""

from __future__ import annotations

import pytest

from validator.model import CriterionOutcome, Result, Verdict
from validator.report.glance import beyond, glance


def _r(scope: str, verdict: Verdict, value: float | None = None, **threshold: float) -> Result:
    detail = "" if verdict in (Verdict.PASS, Verdict.FAIL) else "why"
    return Result(criterion="c", scope={"s": scope}, verdict=verdict, value=value, threshold=threshold,
                  detail=detail)


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (_r("a", Verdict.FAIL, 412.0, max=300.0), pytest.approx(112 / 300)),
        (_r("a", Verdict.PASS, 280.0, max=300.0), pytest.approx(-20 / 300)),
        (_r("a", Verdict.FAIL, 0.41, min=0.6, max=0.8), pytest.approx(0.19 / 0.6)),
        (_r("a", Verdict.FAIL, 0.07, below=0.05), pytest.approx(0.4)),
        (_r("a", Verdict.FAIL, 2.0, max=0.0), 2.0),  # a zero limit: the plain distance
        (_r("a", Verdict.PASS, 1.0, min_success_ratio=0.99), 0.0),  # a bound on another measure
        (_r("a", Verdict.INCONCLUSIVE), 0.0),
    ],
)
def test_how_far_past_the_threshold(result: Result, expected: object) -> None:
    assert beyond(result) == expected


def test_worst_scope_by_verdict_then_distance_and_the_rest_worst_first() -> None:
    outcome = CriterionOutcome(id="c", verdict=Verdict.FAIL, results=(
        _r("pass-far", Verdict.PASS, 100.0, max=300.0),
        _r("not-exercised", Verdict.NOT_EXERCISED),
        _r("fail-small", Verdict.FAIL, 310.0, max=300.0),
        _r("inconclusive", Verdict.INCONCLUSIVE),
        _r("fail-big", Verdict.FAIL, 900.0, max=300.0),
        _r("pass-near", Verdict.PASS, 290.0, max=300.0),
    ))
    seen = glance(outcome)
    assert seen.worst is not None and seen.worst.scope["s"] == "fail-big"
    assert [r.scope["s"] for r in seen.others] == [
        "fail-small", "inconclusive", "not-exercised", "pass-near", "pass-far"]
    assert seen.scopes == 6
    assert seen.counts_text() == "2 fail, 1 inconclusive, 1 not exercised, 2 pass"


def test_counts_read_as_a_fraction_when_scopes_only_pass_or_fail() -> None:
    outcome = CriterionOutcome(id="c", verdict=Verdict.FAIL, results=(
        _r("a", Verdict.FAIL, 310.0, max=300.0), _r("b", Verdict.PASS, 10.0, max=300.0)))
    assert glance(outcome).counts_text() == "1/2 scopes pass"
    single = CriterionOutcome(id="c", verdict=Verdict.PASS, results=(_r("a", Verdict.PASS, 1.0, max=3.0),))
    assert glance(single).counts_text() == "1 scope"
    empty = glance(CriterionOutcome(id="c", verdict=Verdict.INCONCLUSIVE))
    assert empty.worst is None and empty.counts_text() == "no scope"
