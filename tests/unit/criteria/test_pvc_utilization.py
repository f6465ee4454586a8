"""pvc_utilization: per PVC, mean used / capacity over the window, band 0.5..0.8."""

from __future__ import annotations

import pytest

from tests.support.evidence import evidence, metrics, ok, only, series, spec, steady
from validator.criteria import pvc_utilization as crit
from validator.model import Verdict


def pvc(name: str, value, **kw):
    return series({"namespace": "agents", "persistentvolumeclaim": name}, steady(value, **kw))


CASES = [
    ("in-band", {"data": 60}, {"data": 100}, {"pvc=agents/data": Verdict.PASS}),
    ("over-full", {"data": 85}, {"data": 100}, {"pvc=agents/data": Verdict.FAIL}),
    ("over-sized", {"data": 10}, {"data": 100}, {"pvc=agents/data": Verdict.FAIL}),
    (
        "each-pvc-its-own-scope",
        {"a": 60, "b": 95},
        {"a": 100, "b": 100},
        {"pvc=agents/a": Verdict.PASS, "pvc=agents/b": Verdict.FAIL},
    ),
    (
        "no-capacity-for-one",
        {"a": 60, "b": 60},
        {"a": 100},
        {"pvc=agents/a": Verdict.PASS, "pvc=agents/b": Verdict.INCONCLUSIVE},
    ),
]


@pytest.mark.parametrize(("used", "cap", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_per_pvc(used, cap, expected) -> None:
    ev = evidence(
        metrics=metrics(
            ok("pvc_used_bytes", *(pvc(k, v) for k, v in used.items())),
            ok("pvc_capacity_bytes", *(pvc(k, v) for k, v in cap.items())),
        )
    )
    results = crit.evaluate(spec(crit), ev)
    assert {r.scope_text: r.verdict for r in results} == expected


def test_growing_volume_uses_the_mean() -> None:
    ev = evidence(
        metrics=metrics(
            ok("pvc_used_bytes", pvc("d", lambda t: 40 + t / 20)), ok("pvc_capacity_bytes", pvc("d", 100))
        )
    )
    result = only(crit.evaluate(spec(crit), ev))
    assert result.value == pytest.approx(0.55)  # 40% -> 70% linearly
    assert result.verdict is Verdict.PASS


@pytest.mark.parametrize(
    "found",
    [
        None,
        metrics(ok("pvc_used_bytes"), ok("pvc_capacity_bytes")),
        metrics(ok("pvc_used_bytes", pvc("d", 1, end=30)), ok("pvc_capacity_bytes", pvc("d", 2))),
    ],
    ids=["no-prometheus", "no-data", "partial"],
)
def test_no_data_is_inconclusive(found) -> None:
    assert only(crit.evaluate(spec(crit), evidence(metrics=found))).verdict is Verdict.INCONCLUSIVE


def test_each_claim_must_be_measured_over_the_steps_it_was_seen() -> None:
    """Capacity known at every step, use at two of 41: not evidence that covers the claim."""
    found = metrics(
        ok("pvc_used_bytes", pvc("d", 60, start=300, end=315), pvc("e", 60)),
        ok("pvc_capacity_bytes", pvc("d", 100), pvc("e", 100)),
    )
    results = {r.scope["pvc"]: r.verdict for r in crit.evaluate(spec(crit), evidence(metrics=found))}
    assert results == {"agents/d": Verdict.INCONCLUSIVE, "agents/e": Verdict.PASS}
