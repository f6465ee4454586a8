"""graceful_degradation: per fault, submission success ratio and p95 latency vs the pre-fault baseline."""

from __future__ import annotations

import pytest

from tests.support.evidence import chaos, evidence, fault, load, spec
from validator.criteria import graceful_degradation as crit
from validator.model import Verdict


def history(fail_rate_in=None, p95_in=0.2, span=(200, 300), reset_at=None, p95_before=0.2):
    out, requests, failures = [], 0, 0
    for t in range(0, 601, 10):
        inside = span[0] < t <= span[1]
        requests += 100
        if inside and fail_rate_in:
            failures += round(100 * fail_rate_in)
        if reset_at is not None and t == reset_at:
            requests, failures = 100, 0
        out.append((t, requests, failures, p95_in if inside else p95_before))
    return load(out)


def by_measure(results):
    return {r.scope["measure"]: (r.verdict, None if r.value is None else round(r.value, 4)) for r in results}


DRAIN = fault("node-drain", 200, 300)

CASES = [
    (
        "millisecond-noise-under-the-floor",  # 4 ms -> 19 ms is 4.75x, but far under 250 ms
        history(p95_before=0.004, p95_in=0.019),
        [DRAIN],
        {"success_ratio": (Verdict.PASS, 1.0), "p95_ratio": (Verdict.PASS, 4.75)},
    ),
    (
        "over-the-floor-judged-by-ratio",
        history(p95_before=0.1, p95_in=0.3),
        [DRAIN],
        {"success_ratio": (Verdict.PASS, 1.0), "p95_ratio": (Verdict.FAIL, 3.0)},
    ),
    (
        "unaffected",
        history(),
        [DRAIN],
        {"success_ratio": (Verdict.PASS, 1.0), "p95_ratio": (Verdict.PASS, 1.0)},
    ),
    (
        "two-percent-failures",
        history(0.02),
        [DRAIN],
        {"success_ratio": (Verdict.FAIL, 0.98), "p95_ratio": (Verdict.PASS, 1.0)},
    ),
    (
        "one-percent-edge-passes",
        history(0.01),
        [DRAIN],
        {"success_ratio": (Verdict.PASS, 0.99), "p95_ratio": (Verdict.PASS, 1.0)},
    ),
    (
        "latency-tripled",
        history(p95_in=0.6),
        [DRAIN],
        {"success_ratio": (Verdict.PASS, 1.0), "p95_ratio": (Verdict.FAIL, 3.0)},
    ),
    (
        "locust-restart-inside-fault",
        history(reset_at=250),
        [DRAIN],
        {"success_ratio": (Verdict.PASS, 1.0), "p95_ratio": (Verdict.PASS, 1.0)},
    ),
    (
        "fault-at-window-start-has-no-baseline",
        history(span=(0, 100)),
        [fault("node-drain", 0, 100)],
        {"success_ratio": (Verdict.PASS, 1.0), "p95_ratio": (Verdict.INCONCLUSIVE, None)},
    ),
]


@pytest.mark.parametrize(("rows", "faults", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_per_fault(rows, faults, expected) -> None:
    assert by_measure(crit.evaluate(spec(crit), evidence(load=rows, chaos=chaos(*faults)))) == expected


def test_overlapping_faults_each_judged() -> None:
    results = crit.evaluate(
        spec(crit),
        evidence(load=history(0.05, span=(200, 300)), chaos=chaos(DRAIN, fault("memory-pressure", 250, 350))),
    )
    ratios = {r.scope["fault"]: r.verdict for r in results if r.scope["measure"] == "success_ratio"}
    assert ratios == {"node-drain": Verdict.FAIL, "memory-pressure": Verdict.FAIL}


@pytest.mark.parametrize(
    ("ev", "reason"),
    [
        (evidence(load=history()), "no fault evidence"),
        (evidence(load=history(), chaos=chaos()), "no injected fault"),
        (evidence(chaos=chaos(DRAIN)), "no load evidence"),
        (
            evidence(load=load([(0, 0, 0, 0.2), (150, 0, 0, 0.2), (600, 0, 0, 0.2)]), chaos=chaos(DRAIN)),
            "no submissions",
        ),
    ],
    ids=["no-chaos", "no-faults", "no-load", "no-requests-during-fault"],
)
def test_inconclusive(ev, reason) -> None:
    results = crit.evaluate(spec(crit), ev)
    assert results[0].verdict is Verdict.INCONCLUSIVE and reason in results[0].detail
