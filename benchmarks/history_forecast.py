"""How far to trust capacity_forecast's fit over the nights, and what reading the history costs.

    python benchmarks/history_forecast.py        (writes benchmarks/results/history_forecast.json)

Calibration: 400 series of N nights (N = 5, 10, 30), a quota's use growing 1/day from 50 of 100
with Gaussian noise of sd 1.5 per night: the share whose 95% slope interval holds the true slope
(should be near 0.95), and the median and 5-95th percentiles of the days-to-exhaustion estimate
(truth: 50 days after the last night).
Cost: a history of 365 nights of one suite, each with 8 requests measures and 2 x 15 quota
measures, read as Evidence.history for the 366th (`history_evidence`), and capacity_forecast
evaluated over it: wall seconds (untraced), then peak traced memory (a second pass).
"""

from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

from validator.criteria import capacity_forecast
from validator.criteria.night_trend import DAY, fit
from validator.criteria.registry import default_spec
from validator.history import HistoryStore
from validator.history.evidence import history_evidence
from validator.model import (
    CriterionOutcome,
    Evidence,
    Measure,
    MetricsEvidence,
    QueryResult,
    RunManifest,
    Series,
    Summary,
    TimeWindow,
    Verdict,
)

RESULTS = Path(__file__).resolve().parent / "results" / "history_forecast.json"
SERIES = 400
T0 = 1_760_000_000.0
QUOTAS = 15


def calibration(nights: int) -> dict[str, float]:
    covered = 0
    days: list[float] = []
    for seed in range(SERIES):
        rng = random.Random(seed * 100 + nights)
        points = [(T0 + n * DAY, 50.0 - (nights - 1 - n) + rng.gauss(0, 1.5)) for n in range(nights)]
        line = fit(points)
        assert line is not None
        covered += int(line.slope_low <= 1.0 <= line.slope_high)
        left = line.days_to(100.0)
        days.append(float("inf") if left is None else left)
    cuts = statistics.quantiles(days, n=20)
    return {
        "slope_interval_coverage": covered / SERIES,
        "days_median": round(statistics.median(days), 1),
        "days_p5": round(cuts[0], 1),
        "days_p95": round(cuts[-1], 1),
    }


def _measures(n: int) -> tuple[Measure, ...]:
    requests = tuple(
        Measure(name="requests", scope={"agent": a, "resource": r}, value=1.0 + n / 100)
        for a in ("rex", "blaze", "cleo", "tess")
        for r in ("cpu", "memory")
    )
    quotas = tuple(
        Measure(name=name, scope={"quota": f"agents/q{q}", "resource": "requests.cpu"}, value=value)
        for q in range(QUOTAS)
        for name, value in (("quota_used", 10.0 + n * 0.1), ("quota_hard", 200.0))
    )
    return requests + quotas


def _night(n: int) -> tuple[Summary, RunManifest]:
    window = TimeWindow(start=T0 + n * DAY, end=T0 + n * DAY + 600)
    summary = Summary(
        run_id=f"night-{n:03d}",
        window=window,
        verdict=Verdict.PASS,
        criteria=(CriterionOutcome(id="oom_kills", verdict=Verdict.PASS),),
    )
    return summary, RunManifest(run_id=summary.run_id, window=window, suite="nightly", context="prod")


def cost() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        store = HistoryStore(Path(tmp) / "history.sqlite")
        for n in range(365):
            summary, manifest = _night(n)
            store.record(summary, manifest, Path(tmp) / summary.run_id, kind="run", measures=_measures(n))
        _, tonight = _night(365)
        quota = QueryResult(
            key="quota_used",
            series=tuple(
                Series(
                    labels={"namespace": "agents", "resourcequota": f"q{q}", "resource": "requests.cpu"},
                    points=((tonight.window.end, 46.5),),
                )
                for q in range(QUOTAS)
            ),
        )
        hard = replace(
            quota,
            key="quota_hard",
            series=tuple(replace(s, points=((tonight.window.end, 200.0),)) for s in quota.series),
        )
        metrics = MetricsEvidence(queries={"quota_used": quota, "quota_hard": hard})
        started = time.perf_counter()
        history = history_evidence(store.path, tonight)
        loaded = time.perf_counter() - started
        results = capacity_forecast.evaluate(
            default_spec("capacity_forecast"), Evidence(manifest=tonight, metrics=metrics, history=history)
        )
        total = time.perf_counter() - started
        tracemalloc.start()  # a second pass for the memory: tracing slows the first one's clock
        again = history_evidence(store.path, tonight)
        capacity_forecast.evaluate(
            default_spec("capacity_forecast"), Evidence(manifest=tonight, metrics=metrics, history=again)
        )
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert history is not None and len(history.nights) == 365
        assert all(r.detail.startswith("judged from the history's 366 nights") for r in results), results[0]
    return {
        "nights": 365,
        "measures_per_night": 8 + 2 * QUOTAS,
        "history_evidence_seconds": round(loaded, 3),
        "with_capacity_forecast_seconds": round(total, 3),
        "peak_traced_mib": round(peak / 2**20, 1),
    }


def main() -> None:
    started = time.perf_counter()
    figures = {
        "calibration": {f"{n} nights": calibration(n) for n in (5, 10, 30)},
        "cost": cost(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
