"""The history as evidence: the earlier runs of a run's suite and context (strictly before its window
end) with their measures, and the baseline (the pinned run, else the first), loaded from the store
at the edge; and `validator evaluate` judging capacity_forecast and cost_efficiency from it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.run_directory import write_run_directory
from validator.cli import main
from validator.history import HistoryStore
from validator.history.evidence import history_evidence
from validator.model import (
    BaselineSource,
    CriterionOutcome,
    Measure,
    RunManifest,
    Summary,
    TimeWindow,
    Verdict,
)

T0 = 1763604000.0  # the run directory's window: 2025-11-20T02:00:00Z + 600 s
DAY = 86_400.0
QUOTA = {"quota": "agents/agents", "resource": "requests.cpu"}


def record(
    store: HistoryStore,
    run_id: str,
    days_before: float,
    *,
    suite: str = "test",
    context: str = "kwok-validator-sandbox",
    measures: tuple[Measure, ...] = (),
) -> None:
    window = TimeWindow(start=T0 - days_before * DAY, end=T0 - days_before * DAY + 600)
    summary = Summary(
        run_id=run_id,
        window=window,
        verdict=Verdict.PASS,
        criteria=(CriterionOutcome(id="oom_kills", verdict=Verdict.PASS),),
    )
    manifest = RunManifest(run_id=run_id, window=window, suite=suite, context=context)
    store.record(summary, manifest, store.path.parent / run_id, kind="run", measures=measures)


def tonight(run_id: str = "tonight") -> RunManifest:
    return RunManifest(
        run_id=run_id,
        window=TimeWindow(start=T0, end=T0 + 600),
        suite="test",
        context="kwok-validator-sandbox",
    )


def test_only_earlier_runs_of_the_same_suite_and_context(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.sqlite")
    used = (Measure(name="quota_used", scope=QUOTA, value=3.0),)
    record(store, "n1", 3, measures=used)
    record(store, "n2", 2)
    record(store, "other-suite", 1, suite="weekly")
    record(store, "other-context", 1, context="prod")
    record(store, "later", -1)
    record(store, "tonight", 0)  # this run itself, already recorded once
    found = history_evidence(store.path, tonight())
    assert found is not None and found.source == str(store.path)
    assert [(n.run_id, n.window_end) for n in found.nights] == [
        ("n1", T0 - 3 * DAY + 600),
        ("n2", T0 - 2 * DAY + 600),
    ]
    assert found.nights[0].value("quota_used", QUOTA) == 3.0 and found.nights[1].measures == ()
    assert (found.baseline, found.baseline_source) == (found.nights[0], BaselineSource.FIRST)


def test_the_pinned_run_is_the_baseline_when_it_is_an_earlier_one(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.sqlite")
    for n in (3, 2, 1):
        record(store, f"n{n}", n)
    record(store, "prod-run", 1, context="prod")
    store.pin("n2")
    found = history_evidence(store.path, tonight())
    assert found is not None and found.baseline is not None
    assert (found.baseline.run_id, found.baseline_source) == ("n2", BaselineSource.PINNED)
    store.pin("prod-run")  # another context's run is no baseline here: the first run is
    found = history_evidence(store.path, tonight())
    assert found is not None and found.baseline is not None
    assert (found.baseline.run_id, found.baseline_source) == ("n3", BaselineSource.FIRST)


def test_no_file_or_no_earlier_run_is_no_history_and_creates_nothing(tmp_path: Path) -> None:
    assert history_evidence(tmp_path / "history.sqlite", tonight()) is None
    assert not (tmp_path / "history.sqlite").exists()
    store = HistoryStore(tmp_path / "history.sqlite")
    record(store, "tonight", 0)
    assert history_evidence(store.path, tonight()) is None  # judged again after it was recorded: the same


def _results(run_dir: Path, criterion: str) -> dict[str, dict[str, object]]:
    summary = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    outcome = next(c for c in summary["criteria"] if c["id"] == criterion)
    return {",".join(f"{k}={v}" for k, v in r["scope"].items()): r for r in outcome["results"]}


def test_evaluate_judges_from_the_history_it_records_into(tmp_path: Path) -> None:
    """Five earlier nights of the quota growing 0.1 core a day and requests of 3 to 7 cores (on one
    pod), the second pinned: tonight (5 of 100 used, 1 core requested) runs out in 950 days, a sixth
    of the pinned run's request per pod. Then tonight is in the history with its own measures."""
    run_dir = write_run_directory(tmp_path / "reports" / "tonight")
    history = tmp_path / "history.sqlite"
    store = HistoryStore(history)
    for n in range(5, 0, -1):
        rex_cpu = {"agent": "rex", "resource": "cpu"}
        cpu = Measure(name="requests", scope=rex_cpu, value=2.0 + n)
        per_pod = Measure(name="request_per_pod", scope=rex_cpu, value=2.0 + n)
        quota = Measure(name="quota_used", scope=QUOTA, value=5.0 - 0.1 * n)
        record(store, f"night-{5 - n}", n, measures=(cpu, per_pod, quota))
    store.pin("night-1")  # 4 days before tonight: 6 cores
    assert main(["evaluate", str(run_dir), "--history", str(history)]) == 0
    forecast = _results(run_dir, "capacity_forecast")["quota=agents/agents,resource=requests.cpu"]
    assert forecast["verdict"] == "pass", forecast
    assert str(forecast["detail"]).startswith("judged from the history's 6 nights: 5 of 100 used")
    assert forecast["value"] == pytest.approx(950.0)
    cost = _results(run_dir, "cost_efficiency")
    saving = cost["agent=rex,resource=cpu,measure=saving"]
    assert saving["verdict"] == "pass" and saving["value"] == pytest.approx(1 - 1 / 6)
    assert "the pinned baseline run `night-1`" in str(saving["detail"])
    # no memory requests were recorded before tonight
    assert cost["agent=rex,resource=memory,measure=saving"]["verdict"] == "inconclusive"
    recorded = HistoryStore(history).measures_of(["2025-11-20T020000Z-test"])["2025-11-20T020000Z-test"]
    assert {(m.name, m.scope_text): m.value for m in recorded} == {
        ("requests", "agent=rex,resource=cpu"): 1.0,
        ("requests", "agent=rex,resource=memory"): 100.0,
        ("request_per_pod", "agent=rex,resource=cpu"): 1.0,
        ("request_per_pod", "agent=rex,resource=memory"): 100.0,
        ("quota_used", "quota=agents/agents,resource=requests.cpu"): 5.0,
        ("quota_hard", "quota=agents/agents,resource=requests.cpu"): 100.0,
    }


def test_evaluate_without_a_history_falls_back_to_prometheus(tmp_path: Path) -> None:
    run_dir = write_run_directory(tmp_path / "reports" / "first")
    assert main(["evaluate", str(run_dir)]) == 0  # the default history beside it: created after judging
    forecast = _results(run_dir, "capacity_forecast")["quota=agents/agents,resource=requests.cpu"]
    assert str(forecast["detail"]) == (
        "judged from Prometheus: 5 of 100 used, growing 144/day over the last 3.0 days "
        "(history: no earlier run of this suite and context in the history)"
    )
    saving = _results(run_dir, "cost_efficiency")["agent=rex,resource=cpu,measure=saving"]
    assert saving["verdict"] == "inconclusive" and "no baseline run yet" in str(saving["detail"])
    assert (tmp_path / "reports" / "history.sqlite").is_file()
