"""capacity_forecast (info): days until each quota resource is exhausted at the observed trend."""

from __future__ import annotations

import pytest

from tests.unit.criteria.evidence_factory import evidence, metrics, ok, only, series, spec, steady
from validator.criteria import capacity_forecast as crit
from validator.model import Verdict

Q = {"namespace": "agents", "resourcequota": "agents", "resource": "requests.cpu"}


def quota(used, hard: float = 100.0):
    return metrics(ok("quota_used", series(Q, steady(used))), ok("quota_hard", series(Q, steady(hard))))


DAY = 86400
CASES = [
    # grows 1 unit per day from 50: 50 days left at the end of the window (minus ~0)
    ("slow-growth", quota(lambda t: 50 + t / DAY), Verdict.PASS, 50.0),
    ("fast-growth", quota(lambda t: 50 + t * 10 / DAY), Verdict.FAIL, 5.0),
    ("flat", quota(50), Verdict.PASS, None),
    ("shrinking", quota(lambda t: 60 - t / 600), Verdict.PASS, None),
    ("already-exhausted", quota(100), Verdict.FAIL, 0.0),
]


@pytest.mark.parametrize(("found", "verdict", "value"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_days_left(found, verdict, value) -> None:
    result = only(crit.evaluate(spec(crit), evidence(metrics=found)))
    assert result.verdict is verdict, result.detail
    assert result.scope == {"quota": "agents/agents", "resource": "requests.cpu"}
    if value is None:
        assert result.value is None and "not growing" in result.detail
    else:
        assert result.value == pytest.approx(value, abs=0.01)


def test_is_info() -> None:
    assert crit.INFO is True


@pytest.mark.parametrize(
    "found",
    [
        None,
        metrics(ok("quota_used"), ok("quota_hard")),
        metrics(ok("quota_used", series(Q, steady(1, end=0))), ok("quota_hard", series(Q, steady(5)))),
    ],
    ids=["no-prometheus", "no-quota", "single-sample"],
)
def test_inconclusive(found) -> None:
    assert only(crit.evaluate(spec(crit), evidence(metrics=found))).verdict is Verdict.INCONCLUSIVE
