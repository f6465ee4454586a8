"""cost_efficiency (info): 1 - p95 usage x headroom / requests, per agent type and resource."""

from __future__ import annotations

import pytest

from tests.support.evidence import AGENT, evidence, metrics, ok, series, spec, steady
from validator.criteria import cost_efficiency as crit
from validator.model import Verdict


def found(cpu_use, cpu_req, mem_use=50.0, mem_req=100.0):
    rex = {AGENT: "rex"}
    return metrics(
        ok("cpu_usage_by_agent", series(rex, steady(cpu_use))),
        ok("cpu_requests_by_agent", series(rex, steady(cpu_req))),
        ok("memory_working_set_by_agent", series(rex, steady(mem_use))),
        ok("memory_requests_by_agent", series(rex, steady(mem_req))),
    )


CASES = [
    ("over-requested", found(0.5, 1.0), {"cpu": 0.4, "memory": 0.4}),
    ("right-sized", found(0.8, 1.0, 80, 96), {"cpu": 0.04, "memory": 0.0}),
    ("under-requested-is-negative", found(1.0, 1.0), {"cpu": -0.2, "memory": 0.4}),
    ("p95-not-mean", found(lambda t: 1.0 if t > 570 else 0.1, 1.0), {"cpu": 0.88, "memory": 0.4}),
]


@pytest.mark.parametrize(("metrics_", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_saving_share(metrics_, expected) -> None:
    results = crit.evaluate(spec(crit), evidence(metrics=metrics_))
    assert {r.scope["resource"]: round(r.value, 4) for r in results} == pytest.approx(expected, abs=1e-3)
    assert all(r.verdict is Verdict.PASS for r in results)  # reported, not judged


def test_advice_when_saving_reaches_target() -> None:
    results = crit.evaluate(spec(crit), evidence(metrics=found(0.5, 1.0)))
    assert any("lower resources.requests.cpu by about 40.0%" in a for r in results for a in r.advice)


def test_missing_memory_is_inconclusive_for_memory_only() -> None:
    rex = {AGENT: "rex"}
    partial = metrics(
        ok("cpu_usage_by_agent", series(rex, steady(0.5))),
        ok("cpu_requests_by_agent", series(rex, steady(1))),
    )
    results = {r.scope_text: r.verdict for r in crit.evaluate(spec(crit), evidence(metrics=partial))}
    assert results == {"agent=rex,resource=cpu": Verdict.PASS, "resource=memory": Verdict.INCONCLUSIVE}
