"""The series a run pushes (export/series.py, pure): what the dashboard, alerts and anyone's PromQL
read, so names, labels and values are the contract."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from tests.support import evidence as builders
from tests.support import synthetic_run
from validator.export.series import fault_windows, identity, metric_families
from validator.model import (
    ChaosEvidence,
    CriterionOutcome,
    Evidence,
    ExperimentRecord,
    Result,
    Summary,
    TimeWindow,
    Verdict,
)


def _samples(summary: Summary, evidence: Evidence) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in metric_families(summary, evidence, identity(evidence)):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return out


def test_the_run_verdict_is_one_hot_and_every_series_names_suite_and_context() -> None:
    summary, evidence = synthetic_run.summary_and_evidence()
    samples = _samples(summary, evidence)
    verdicts = {labels["verdict"]: value for labels, value in samples["validator_run_verdict"]}
    assert verdicts == {"pass": 0, "fail": 0, "inconclusive": 0, summary.verdict.value: 1}
    for name, found in samples.items():
        for labels, _ in found:
            assert (labels["suite"], labels["context"]) == ("nightly", "kwok-validator-sandbox"), name
    [(window_labels, end)] = samples["validator_run_window_end_seconds"]
    assert end == summary.window.end
    assert window_labels["run_id"] == summary.run_id
    assert window_labels["verdict"] == summary.verdict.value


def test_each_scope_has_its_value_unit_thresholds_and_one_hot_verdict() -> None:
    summary, evidence = synthetic_run.summary_and_evidence()
    samples = _samples(summary, evidence)
    values = {(s["criterion"], s["scope"]): (v, s["unit"]) for s, v in samples["validator_criterion_value"]}
    verdicts = {
        (s["criterion"], s["scope"]): s["verdict"]
        for s, v in samples["validator_criterion_verdict"]
        if v == 1
    }
    thresholds = {
        (s["criterion"], s["scope"], s["bound"]): v for s, v in samples["validator_criterion_threshold"]
    }
    results = [(c.id, r) for c in summary.criteria for r in c.results]
    assert len(verdicts) == len(results)
    for cid, result in results:
        key = (cid, result.scope_text)
        assert verdicts[key] == result.verdict.value
        if result.value is None:  # inconclusive, not exercised: no value, rather than a made-up 0
            assert key not in values
        else:
            assert values[key] == (result.value, result.unit)
        for bound, limit in result.threshold.items():
            assert thresholds[(*key, bound)] == limit
    assert any(r.value is None for _, r in results)


def test_a_fault_window_ends_when_the_platform_stopped_being_under_the_fault() -> None:
    summary, evidence = synthetic_run.summary_and_evidence()
    samples = _samples(summary, evidence)
    starts = {s["fault"]: v for s, v in samples["validator_fault_window_start_seconds"]}
    ends = {s["fault"]: v for s, v in samples["validator_fault_window_end_seconds"]}
    start = synthetic_run.START
    # the drain was injected at 30 min, its injection ended at 33 and its rollback (uncordon) at 34
    assert starts["node-drain"] == start + 30 * 60
    assert ends["node-drain"] == start + 34 * 60
    assert (starts["memory-pressure"], ends["memory-pressure"]) == (start + 48 * 60, start + 52 * 60)
    kinds = {s["fault"]: s["kind"] for s, _ in samples["validator_fault_window_start_seconds"]}
    assert kinds == {"node-drain": "drain", "memory-pressure": "memory-pressure"}


def test_a_fault_without_an_end_has_a_start_only_and_a_repeated_one_is_numbered() -> None:
    summary, evidence = synthetic_run.summary_and_evidence()
    chaos = ChaosEvidence(
        faults=(
            builders.fault("evict", 10, 20, experiment="evict-rex"),
            builders.fault("evict", 100, 110, experiment="evict-rex"),
            builders.fault("stuck", 200, None),
        )
    )
    samples = _samples(summary, replace(evidence, chaos=chaos))
    starts = [(s["fault"], s["occurrence"]) for s, _ in samples["validator_fault_window_start_seconds"]]
    ends = [(s["fault"], s["occurrence"]) for s, _ in samples["validator_fault_window_end_seconds"]]
    assert starts == [("evict", "1"), ("evict", "2"), ("stuck", "1")]
    assert ends == [("evict", "1"), ("evict", "2")]


def test_without_a_chaos_record_the_manifest_experiments_give_the_windows() -> None:
    _, evidence = synthetic_run.summary_and_evidence()
    manifest = replace(
        evidence.manifest,
        experiments=(
            ExperimentRecord(name="drain", experiment="experiments/drain.json", journal="j.json",
                             started=100.0, ended=160.0),
        ),
    )
    windows = fault_windows(replace(evidence, chaos=None, manifest=manifest))
    assert [(w.experiment, w.fault, w.start, w.end) for w in windows] == [
        ("experiments/drain.json", "drain", 100.0, 160.0)
    ]


def test_no_series_is_pushed_twice_even_when_a_criterion_repeats_a_scope() -> None:
    """The Pushgateway refuses a whole push holding one series twice."""
    window = TimeWindow(start=0.0, end=60.0)
    twice = tuple(
        Result(criterion="pod_health", scope={"agent": "rex"}, verdict=Verdict.PASS, value=v)
        for v in (1.0, 2.0)
    )
    summary = Summary(
        run_id="r", window=window, verdict=Verdict.PASS,
        criteria=(CriterionOutcome(id="pod_health", verdict=Verdict.PASS, results=twice),),
    )
    evidence = builders.evidence(manifest_=builders.manifest(suite="s", context="c"))
    samples = _samples(summary, evidence)
    for name, found in samples.items():
        counts = Counter(tuple(sorted(labels.items())) for labels, _ in found)
        assert max(counts.values()) == 1, name
    assert {s["scope"] for s, _ in samples["validator_criterion_value"]} == {"agent=rex", "agent=rex#2"}


def test_a_check_is_grouped_as_suite_check() -> None:
    evidence = builders.evidence(manifest_=builders.manifest())
    run = identity(evidence)
    assert (run.suite, run.context, run.kind) == ("check", "unspecified", "check")
    assert run.grouping_key == {"suite": "check", "context": "unspecified"}
