"""A run's results pushed to a real Pushgateway, scraped by a real Prometheus, queried back through
Prometheus's HTTP API; and the shipped dashboard's annotation expressions, run through that
Prometheus and grouped into events the way Grafana's Prometheus annotations group them, give the
run's fault windows as regions and its verdict as a point at the end of its window.

No Grafana here: `grafana_events` below is Grafana's documented grouping (active samples, value >= 1;
with `useValueForTime` the value in ms is the time; samples at most one step apart form one region).
"""

from __future__ import annotations

import json
import math
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.support import servers, synthetic_run
from tests.support.run_directory import write_run_directory
from validator.cli import main
from validator.export.pushgateway import push_run
from validator.export.series import identity
from validator.model import ChaosEvidence, Evidence, Summary, TimeWindow, Verdict, format_rfc3339
from validator.resources import bundled

DASHBOARD = bundled("platform") / "dashboards" / "agent-resources.json"
STEP = 5.0


@pytest.fixture(scope="module")
def pushgateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from servers.pushgateway(tmp_path_factory.mktemp("pushgateway"))


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory, pushgateway: str) -> Iterator[str]:
    yield from servers.prometheus(tmp_path_factory.mktemp("prometheus"), pushgateway)


def recent_run(end: float, *, run_id: str, suite: str = "nightly") -> tuple[Summary, Evidence]:
    """The synthetic nightly run (a drain and a memory-pressure fault, a failed verdict), moved so
    that its window ends at `end`."""
    summary, evidence = synthetic_run.summary_and_evidence()
    shift = end - summary.window.end
    window = TimeWindow(start=summary.window.start + shift, end=end)
    assert evidence.chaos is not None
    faults = tuple(
        replace(
            f,
            start=f.start + shift,
            end=None if f.end is None else f.end + shift,
            rollback_end=None if f.rollback_end is None else f.rollback_end + shift,
        )
        for f in evidence.chaos.faults
    )
    manifest = replace(evidence.manifest, run_id=run_id, window=window, suite=suite)
    return (
        replace(summary, run_id=run_id, window=window),
        replace(evidence, manifest=manifest, chaos=ChaosEvidence(faults=faults)),
    )


def annotation(name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = json.loads(DASHBOARD.read_text(encoding="utf-8"))["annotations"]["list"]
    return next(a for a in found if a["name"] == name)


def grafana_events(
    series: dict[str, Any], step_s: float, *, use_value_for_time: bool
) -> list[tuple[int, int]]:
    """(time, timeEnd) in ms of the events Grafana makes of one series of a range query."""
    points = []
    for t, v in series["values"]:
        if use_value_for_time:
            points.append((math.floor(float(v)), 1.0))
        else:
            points.append((math.floor(float(t)) * 1000, float(v)))
    step_ms = math.floor(step_s) * 1000
    events: list[list[int]] = []
    for timestamp, value in points:
        if value < 1:
            continue
        if events and events[-1][1] + step_ms >= timestamp:
            events[-1][1] = timestamp
        else:
            events.append([timestamp, timestamp])
    return [(a, b) for a, b in events]


def test_pushed_results_are_queried_back_through_prometheus(pushgateway: str, prometheus: str) -> None:
    now = float(int(time.time()))
    summary, evidence = recent_run(now - 60, run_id="night-values")
    count = push_run(pushgateway, summary, evidence, identity(evidence))
    assert count > 0

    verdicts = servers.wait_for(prometheus, 'validator_run_verdict{suite="nightly"} == 1')
    assert [s["metric"]["verdict"] for s in verdicts] == [summary.verdict.value]
    assert verdicts[0]["metric"]["job"] == "validator"  # honor_labels: the push's job, not the scrape's
    assert verdicts[0]["metric"]["context"] == "kwok-validator-sandbox"

    values = servers.query(prometheus, 'validator_criterion_value{criterion="recovery_time"}')["result"]
    found = {s["metric"]["scope"]: (float(s["value"][1]), s["metric"]["unit"]) for s in values}
    expected = {
        r.scope_text: (r.value, r.unit)
        for r in summary.outcome("recovery_time").results
        if r.value is not None
    }
    assert found == expected

    inconclusive = [
        (c.id, r.scope_text) for c in summary.criteria for r in c.results if r.verdict is Verdict.INCONCLUSIVE
    ]
    assert inconclusive, "the synthetic run has inconclusive scopes"
    criterion, scope = inconclusive[0]
    one_hot = servers.query(
        prometheus, f'validator_criterion_verdict{{criterion="{criterion}", scope="{scope}"}} == 1'
    )["result"]
    assert [s["metric"]["verdict"] for s in one_hot] == ["inconclusive"]
    no_value = servers.query(
        prometheus, f'validator_criterion_value{{criterion="{criterion}", scope="{scope}"}}'
    )
    assert no_value["result"] == []


def test_annotations_give_fault_windows_as_regions_and_the_verdict_as_a_point(
    pushgateway: str, prometheus: str
) -> None:
    now = float(int(time.time()))
    summary, evidence = recent_run(now - 30, run_id="night-annotated", suite="annotated")
    push_run(pushgateway, summary, evidence, identity(evidence))
    servers.wait_for(prometheus, 'validator_run_info{run_id="night-annotated"}')
    assert evidence.chaos is not None

    # the dashboard zoomed onto the run, a range that ends before the push: the expressions look ahead
    start, end = summary.window.start - 120, summary.window.end
    faults = annotation("Validator fault windows")
    answer = servers.query(prometheus, faults["expr"], start=start, end=end, step=STEP)
    regions = {
        s["metric"]["fault"]: grafana_events(s, STEP, use_value_for_time=False)
        for s in answer["result"]
        if s["metric"]["suite"] == "annotated"
    }
    assert set(regions) == {f.fault for f in evidence.chaos.faults}
    for fault in evidence.chaos.faults:
        window = fault.window
        assert window is not None
        [(first, last)] = regions[fault.fault]
        assert window.start <= first / 1000 < window.start + STEP
        assert window.end - STEP <= last / 1000 < window.end

    for verdict in ("fail", "inconclusive", "pass"):
        points = annotation(f"Validator runs: {verdict}")
        assert points["useValueForTime"] is True
        answer = servers.query(prometheus, points["expr"], start=start, end=now + 30, step=STEP)
        events = [
            e
            for s in answer["result"]
            if s["metric"]["run_id"] == "night-annotated"
            for e in grafana_events(s, STEP, use_value_for_time=True)
        ]
        if verdict == summary.verdict.value:
            assert events == [(math.floor(summary.window.end * 1000),) * 2]
        else:
            assert events == []


def test_a_push_replaces_the_previous_night_of_its_suite_and_context(pushgateway: str) -> None:
    now = float(int(time.time()))
    first, first_evidence = recent_run(now - 7200, run_id="night-1", suite="replaced")
    push_run(pushgateway, first, first_evidence, identity(first_evidence))
    second, second_evidence = recent_run(now - 60, run_id="night-2", suite="replaced")
    assert second_evidence.chaos is not None
    only_drain = ChaosEvidence(
        faults=tuple(f for f in second_evidence.chaos.faults if f.fault == "node-drain")
    )
    push_run(pushgateway, second, replace(second_evidence, chaos=only_drain), identity(second_evidence))

    with urllib.request.urlopen(f"{pushgateway}/metrics", timeout=10) as answer:
        text = answer.read().decode()
    group = [
        line for line in text.splitlines() if 'suite="replaced"' in line and line.startswith("validator_")
    ]
    assert any('run_id="night-2"' in line for line in group)
    assert not any('run_id="night-1"' in line for line in group)
    assert not any('fault="memory-pressure"' in line for line in group)


def test_evaluate_pushes_the_run_directory_it_judged(
    tmp_path: Path, pushgateway: str, prometheus: str, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = tmp_path / "run"
    write_run_directory(run_dir)
    history = str(tmp_path / "history.sqlite")
    code = main(["evaluate", str(run_dir), "--history", history, "--pushgateway", pushgateway])
    assert code == 0
    assert f"series pushed to {pushgateway}" in capsys.readouterr().out
    run_id = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))["run_id"]
    assert servers.wait_for(prometheus, f'validator_run_info{{suite="test", run_id="{run_id}", kind="run"}}')
    verdict = servers.wait_for(prometheus, 'validator_run_verdict{suite="test"} == 1')
    assert [s["metric"]["verdict"] for s in verdict] == ["pass"]


def test_check_pushes_its_verdict_as_suite_check(
    tmp_path: Path, pushgateway: str, prometheus: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`validator check` of a window of the test's own Prometheus (no platform series: inconclusive)."""
    end = float(int(time.time()))
    code = main([
        "check", "--prometheus-url", prometheus,
        "--start", format_rfc3339(end - 300), "--end", format_rfc3339(end),
        "--output", str(tmp_path / "check"), "--history", str(tmp_path / "history.sqlite"),
        "--pushgateway", pushgateway,
    ])
    assert f"series pushed to {pushgateway}" in capsys.readouterr().out
    context = f"prometheus {prometheus}"  # the Prometheus the check read
    query = f'validator_run_verdict{{suite="check", context="{context}"}} == 1'
    verdict = servers.wait_for(prometheus, query)
    assert [s["metric"]["verdict"] for s in verdict] == [{0: "pass", 1: "fail", 3: "inconclusive"}[code]]
    assert servers.wait_for(prometheus, 'validator_run_info{suite="check", kind="check"}')


def test_a_context_with_slashes_is_a_grouping_key_like_any_other(pushgateway: str, prometheus: str) -> None:
    """An EKS context is an ARN (`.../cluster/prod`): the grouping key travels base64-encoded."""
    summary, evidence = recent_run(float(int(time.time())) - 60, run_id="night-eks", suite="eks")
    context = "arn:aws:eks:eu-west-1:123456789012:cluster/prod"
    evidence = replace(evidence, manifest=replace(evidence.manifest, context=context))
    push_run(pushgateway, summary, evidence, identity(evidence))
    [found] = servers.wait_for(prometheus, 'validator_run_info{suite="eks"}')
    assert found["metric"]["context"] == context
