"""Loading a run directory into Evidence: every source, and the damaged shapes a crash leaves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.run_directory import T0, healthy_k8s, hpa, line, manifest, pod, write_run_directory
from validator.errors import ConfigError
from validator.model import (
    HpaState,
    LabelSelector,
    PdbState,
    PodState,
    QueryStatus,
    SourceName,
    StatefulSetState,
)
from validator.model.quantity import parse_quantity
from validator.run_directory import load_run_directory
from validator.run_directory.k8s_watch import load_k8s, parse_object
from validator.run_directory.metrics import load_metrics


def test_healthy_run_directory(tmp_path: Path) -> None:
    ev = load_run_directory(write_run_directory(tmp_path / "run"))
    assert ev.run_id == "2025-11-20T020000Z-test"
    assert (ev.window.start, ev.window.end) == (T0, T0 + 600)
    controllers = LabelSelector.equal({"app.kubernetes.io/component": "controller"})
    assert ev.manifest.controller_selector == controllers
    assert ev.manifest.expected_alerts == {"memory-pressure": ("AgentOOMKilled",)}
    assert ev.manifest.criteria["recovery_time"].thresholds == {"max": 300.0}
    assert ev.missing == {}
    assert ev.k8s is not None and ev.k8s.partial == ""
    assert {r.kind for r in ev.k8s.records} >= {
        "Pod",
        "Node",
        "Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Event",
    }
    hpas = [r.state for r in ev.k8s.of_kind("HorizontalPodAutoscaler")]
    assert isinstance(hpas[1], HpaState) and hpas[1].above_target is True and hpas[1].max_replicas == 5
    pdbs = [r.state for r in ev.k8s.of_kind("PodDisruptionBudget")]
    assert isinstance(pdbs[0], PdbState) and pdbs[0].disruptions_allowed == 1 and pdbs[0].min_available == "1"
    assert ev.metrics is not None and ev.metrics.step_seconds == 15
    assert ev.metrics.get("container_last_terminated_oom").no_data
    assert ev.metrics.get("never_collected").status is QueryStatus.ERROR
    assert ev.load is not None
    rows = ev.load.aggregated()
    assert rows[0].p95 is None and rows[1].p95 == pytest.approx(0.2)  # N/A, then 200 ms
    assert rows[-1].total_requests == 6000
    assert ev.chaos is not None
    drain = next(f for f in ev.chaos.faults if f.fault == "node-drain")
    assert (drain.start, drain.end, drain.rollback_end) == (T0 + 300, T0 + 360, T0 + 370)
    assert drain.targets == ("node/n1",) and drain.is_maintenance and drain.recovery_from == T0 + 370
    assert ev.chaos.runs[0].steady_state_before_met is True and ev.chaos.runs[0].trustworthy


def test_truncated_last_watch_line_is_partial_not_fatal(tmp_path: Path) -> None:
    run_dir = write_run_directory(tmp_path / "run")
    path = run_dir / "evidence" / "k8s.jsonl"
    path.write_text(path.read_text() + '{"received_ms": 1763604500000, "kind": "Pod", "ty', encoding="utf-8")
    ev = load_run_directory(run_dir)
    assert ev.k8s is not None
    whole = len(healthy_k8s())
    assert f"last line {whole + 1} is truncated" in ev.k8s.partial
    assert ev.k8s.cut_off_ms == max(r.received_ms for r in ev.k8s.records)
    assert len(ev.k8s.records) == whole


def test_bad_line_in_the_middle_is_skipped_and_named(tmp_path: Path) -> None:
    path = tmp_path / "k8s.jsonl"
    good = json.dumps(line(1, "Pod", "rex-1", pod()))
    path.write_text(f"{good}\nnot json\n{good}\n", encoding="utf-8")
    k8s = load_k8s(path)
    assert k8s.lines == 2 and "evidence/k8s.jsonl:2: unreadable line skipped" in k8s.partial
    assert len(k8s.records) == 1  # the same state twice is one state


def test_repeated_states_collapse_and_changes_are_kept(tmp_path: Path) -> None:
    """The reader keeps each object's changes, not its lines: a line repeating the previous state
    (a resourceVersion bump, a field no criterion reads) folds into the first; a change, a deletion
    and a re-creation in the same state each stay, in receipt order even when written out of it."""
    path = tmp_path / "k8s.jsonl"
    running, pending = pod(), pod("Pending")
    lines = [
        line(1, "Pod", "rex-1", pending, "ADDED"),
        line(3, "Pod", "rex-1", running),
        line(2, "Pod", "rex-1", pending),  # written late: received before the line above
        line(4, "Pod", "rex-1", {**running, "metadata": {**running["metadata"], "resourceVersion": "9"}}),
        line(5, "Pod", "rex-1", running, "DELETED"),
        line(6, "Pod", "rex-1", running, "ADDED"),
        line(7, "Pod", "rex-1", running),
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    k8s = load_k8s(path)
    kept = k8s.changes("Pod")["agents/rex-1"]
    assert [(r.received_ms - int(T0 * 1000), r.type) for r in kept] == [
        (1000, "ADDED"),
        (3000, "MODIFIED"),
        (5000, "DELETED"),
        (6000, "ADDED"),
    ]
    assert k8s.lines == 7 and k8s.first_received_ms("Pod") == int((T0 + 1) * 1000)


def test_object_deleted_during_a_gap_is_inferred_from_the_relist(tmp_path: Path) -> None:
    path = tmp_path / "k8s.jsonl"
    lines = [
        line(0.1, "Pod", "a", pod(), "RELIST"),
        line(0.1, "Pod", "b", pod(), "RELIST"),
        {
            "received_ms": int((T0 + 200) * 1000),
            "kind": "Pod",
            "type": "GAP",
            "from_ms": int((T0 + 100) * 1000),
            "to_ms": int((T0 + 200) * 1000),
            "reason": "410 Gone",
            "namespace": "agents",
            "relist": True,
        },
        line(200, "Pod", "a", pod(), "RELIST"),
        line(250, "Pod", "a", pod()),
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    k8s = load_k8s(path)
    deleted = [r for r in k8s.records if r.type == "DELETED"]
    assert [(r.name, r.received_ms) for r in deleted] == [("b", int((T0 + 200) * 1000))]
    assert k8s.gaps[0].reason == "410 Gone" and k8s.gaps[0].namespace == "agents"
    assert k8s.gaps[0].relist and k8s.gaps[0].duration == 100.0


def test_pod_terminations_and_evictions_are_typed(tmp_path: Path) -> None:
    obj = pod(terminated={"reason": "OOMKilled", "exitCode": 137, "finishedAt": "2025-11-20T02:01:00Z"})
    obj["status"]["conditions"].append(
        {
            "type": "DisruptionTarget",
            "status": "True",
            "reason": "EvictionByEvictionAPI",
            "lastTransitionTime": "2025-11-20T02:02:00Z",
        }
    )
    path = tmp_path / "k8s.jsonl"
    path.write_text(json.dumps(line(61, "Pod", "rex-1", obj)) + "\n", encoding="utf-8")
    state = load_k8s(path).records[0].state
    assert isinstance(state, PodState)
    assert state.terminations[0].reason == "OOMKilled" and state.terminations[0].finished_at == T0 + 60
    assert state.evicted_at == T0 + 120 and state.ready and state.node_name == "n1"


@pytest.mark.parametrize(
    ("text", "value"),
    [("500m", 0.5), ("1Gi", 2.0**30), ("2", 2.0), (80, 80.0), ("1.5k", 1500.0), ("100Mi", 100 * 2.0**20)],
)
def test_quantities(text, value) -> None:
    assert parse_quantity(text) == value


def test_hpa_average_value_quantity(tmp_path: Path) -> None:
    obj = hpa(1, 0)
    obj["spec"]["metrics"] = [
        {
            "type": "Pods",
            "pods": {"metric": {"name": "queue"}, "target": {"type": "AverageValue", "averageValue": "500m"}},
        }
    ]
    obj["status"]["currentMetrics"] = [
        {"type": "Pods", "pods": {"metric": {"name": "queue"}, "current": {"averageValue": "2"}}}
    ]
    path = tmp_path / "k8s.jsonl"
    path.write_text(json.dumps(line(1, "HorizontalPodAutoscaler", "rex", obj)) + "\n", encoding="utf-8")
    state = load_k8s(path).records[0].state
    assert isinstance(state, HpaState)
    assert (state.metrics[0].current, state.metrics[0].target) == (2.0, 0.5)


def test_missing_sources_are_recorded_with_reasons(tmp_path: Path) -> None:
    run_dir = write_run_directory(tmp_path / "run")
    (run_dir / "evidence" / "k8s.jsonl").unlink()
    (run_dir / "evidence" / "metrics.json").write_text("{not json", encoding="utf-8")
    for name in ("faults.jsonl", "journal.json"):
        (run_dir / "chaos" / name).unlink()
    ev = load_run_directory(run_dir)
    assert ev.k8s is None and ev.metrics is None and ev.chaos is None
    assert "evidence/k8s.jsonl not found" in ev.missing[SourceName.K8S]
    assert "evidence/metrics.json unreadable: not valid JSON" in ev.missing[SourceName.METRICS]
    assert "no fault was injected" in ev.missing[SourceName.CHAOS]


def test_metrics_error_entry(tmp_path: Path) -> None:
    run_dir = write_run_directory(tmp_path / "run")
    path = run_dir / "evidence" / "metrics.json"
    doc = json.loads(path.read_text())
    doc["queries"]["alerts_firing"] = {
        "promql": "ALERTS",
        "status": "error",
        "error": "HTTP 500 after 4 attempts",
    }
    path.write_text(json.dumps(doc))
    result = load_run_directory(run_dir).metrics.get("alerts_firing")  # type: ignore[union-attr]
    assert not result.ok and "HTTP 500" in result.problem()


def test_truncated_locust_row(tmp_path: Path) -> None:
    run_dir = write_run_directory(tmp_path / "run")
    path = run_dir / "load" / "locust_stats_history.csv"
    path.write_text(path.read_text() + f"{T0 + 610},10,,Aggregated,10.0", encoding="utf-8")
    ev = load_run_directory(run_dir)
    assert ev.load is not None and "last row is truncated" in ev.load.partial
    assert len(ev.load.samples) == 61


def test_locusts_failures_table_is_read_beside_the_history(tmp_path: Path) -> None:
    """Locust's own failure messages (whole-second UTC First/Last Seen) feed advice; a row that
    cannot be read is skipped and never makes the load evidence partial."""
    run_dir = write_run_directory(tmp_path / "run")
    (run_dir / "load" / "locust_failures.csv").write_text(
        "Method,Name,Error,Occurrences,First Seen,Last Seen\n"
        '"POST","submit workflow","queue full or unavailable: HTTP 429",12,'
        "2026-12-05T22:18:43Z,2026-12-05T22:19:03Z\n"
        '"GET","workflow result","status HTTP 500",not-a-number,,\n',
        encoding="utf-8",
    )
    ev = load_run_directory(run_dir)
    assert ev.load is not None and not ev.load.partial
    [failure] = ev.load.failures
    assert (failure.method, failure.name, failure.occurrences) == ("POST", "submit workflow", 12)
    assert failure.first_seen == 1796509123.0 and failure.last_seen == 1796509143.0
    assert ev.load.failures_during(1796509140.0, 1796509200.0) == (failure,)
    assert ev.load.failures_during(1796509200.0, 1796509300.0) == ()


def test_faults_without_end_and_journal_statuses(tmp_path: Path) -> None:
    run_dir = write_run_directory(tmp_path / "run")
    with (run_dir / "chaos" / "faults.jsonl").open("a") as handle:
        handle.write(
            json.dumps(
                {
                    "ts_ms": (T0 + 500) * 1000,
                    "experiment": "cpu-hog",
                    "fault": "cpu-hog",
                    "activity": "burn",
                    "phase": "inject_start",
                }
            )
            + "\n"
        )
    journal = {
        "experiment": {"title": "cpu-hog"},
        "status": "completed",  # misleading: the steady state failed before the method
        "steady_states": {"before": {"steady_state_met": False}},
        "run": [
            {
                "activity": {"name": "burn", "type": "action"},
                "status": "failed",
                "start": "2025-11-20T02:08:20",
                "end": "2025-11-20T02:08:21",
            }
        ],
    }
    (run_dir / "chaos" / "journal-cpu-hog.json").write_text(json.dumps(journal))
    chaos = load_run_directory(run_dir).chaos
    assert chaos is not None
    hog = next(f for f in chaos.faults if f.fault == "cpu-hog")
    assert hog.end is None and hog.window is None
    assert "fault `cpu-hog` has inject_start but no inject_end" in chaos.partial
    run = next(r for r in chaos.runs if r.experiment == "cpu-hog")
    assert run.status == "completed" and not run.trustworthy
    assert run.failed_activities[0].name == "burn"
    assert run.activities[0].start == T0 + 500  # naive journal time read as UTC
    # a fault's own trouble is that fault's, not the whole record's: it vouches for no pass
    assert any("steady state was not met before the injection" in p for p in hog.problems)


def test_journal_alone_gives_fault_windows(tmp_path: Path) -> None:
    run_dir = write_run_directory(tmp_path / "run")
    (run_dir / "chaos" / "faults.jsonl").unlink()
    chaos = load_run_directory(run_dir).chaos
    assert chaos is not None
    assert [(f.fault, f.start, f.end, f.rollback_end) for f in chaos.faults] == [
        ("node-drain", T0 + 300, T0 + 360, T0 + 370)  # the experiment's name, as faults.jsonl has it
    ]
    assert chaos.faults[0].is_maintenance and chaos.faults[0].recovery_from == T0 + 370
    assert "fault windows taken from the journals" in chaos.partial


MANIFEST_ERRORS = [
    ("no-run-id", {"run_id": None}, "run_id: missing or not a string"),
    (
        "bad-time",
        {"window": {"start": "yesterday", "end": "2025-11-20T02:10:00Z"}},
        "window.start: Invalid isoformat",
    ),
    (
        "naive-time",
        {"window": {"start": "2025-11-20T02:00:00", "end": "2025-11-20T02:10:00Z"}},
        "has no time zone",
    ),
    (
        "bad-selector",
        {"controller_selector": "app.kubernetes.io/component=con troller"},
        "`app.kubernetes.io/component=con troller`: 'con troller' is not a valid label value",
    ),
    (
        "bad-expected-alerts",
        {"expected_alerts": {"node-drain": "PDBNoDisruptionAllowed"}},
        "expected_alerts.node-drain: expected a list",
    ),
]


@pytest.mark.parametrize(
    ("change", "message"), [c[1:] for c in MANIFEST_ERRORS], ids=[c[0] for c in MANIFEST_ERRORS]
)
def test_manifest_errors(tmp_path: Path, change, message) -> None:
    run_dir = write_run_directory(tmp_path / "run", manifest_doc=manifest(**change))
    with pytest.raises(ConfigError) as caught:
        load_run_directory(run_dir)
    assert message in caught.value.what
    assert str(run_dir / "manifest.json") in caught.value.what


def test_manifest_not_json(tmp_path: Path) -> None:
    run_dir = write_run_directory(tmp_path / "run")
    (run_dir / "manifest.json").write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"manifest\.json:1:2: not valid JSON"):
        load_run_directory(run_dir)


def test_failed_rollback_is_reported(tmp_path: Path) -> None:
    run_dir = write_run_directory(tmp_path / "run")
    path = run_dir / "chaos" / "journal.json"
    doc = json.loads(path.read_text())
    doc["rollbacks"][0]["status"] = "failed"
    path.write_text(json.dumps(doc))
    chaos = load_run_directory(run_dir).chaos
    drain = next(f for f in chaos.faults if f.fault == "node-drain") if chaos is not None else None
    assert drain is not None and "rollback `uncordon` failed" in drain.problems
    assert chaos.runs[0].rollbacks[0].status == "failed"


def test_a_failed_injection_keeps_its_status_and_error(tmp_path: Path) -> None:
    run_dir = write_run_directory(tmp_path / "run")
    common = {"experiment": "node-drain-2", "fault": "node-drain-2", "activity": "drain"}
    with (run_dir / "chaos" / "faults.jsonl").open("a") as handle:
        handle.write(json.dumps({**common, "ts_ms": (T0 + 500) * 1000, "phase": "inject_start"}) + "\n")
        end = {
            "ts_ms": (T0 + 560) * 1000,
            "phase": "inject_end",
            "status": "failed",
            "error": "drain timed out: agents/rex-0 refused 9x",
        }
        handle.write(json.dumps({**common, **end}) + "\n")
    chaos = load_run_directory(run_dir).chaos
    assert chaos is not None
    drain = next(f for f in chaos.faults if f.fault == "node-drain-2")
    assert (drain.status, drain.error) == ("failed", "drain timed out: agents/rex-0 refused 9x")
    assert all(f.error == "" for f in chaos.faults if f.fault != "node-drain-2")


def test_a_budget_of_zero_is_kept_as_written() -> None:
    """maxUnavailable 0 is the budget that blocks every drain: it must not read as unset."""
    blocking = parse_object("PodDisruptionBudget", {"spec": {"maxUnavailable": 0}, "status": {}})
    percent = parse_object("PodDisruptionBudget", {"spec": {"minAvailable": "50%"}, "status": {}})
    unset = parse_object("PodDisruptionBudget", {"spec": {}, "status": {}})
    assert isinstance(blocking, PdbState) and blocking.max_unavailable == "0" and blocking.min_available == ""
    assert isinstance(percent, PdbState) and percent.min_available == "50%"
    assert isinstance(unset, PdbState) and (unset.min_available, unset.max_unavailable) == ("", "")


def test_statefulset_keeps_its_own_and_its_pod_templates_labels() -> None:
    state = parse_object(
        "StatefulSet",
        {
            "metadata": {"name": "tess", "labels": {"team": "qa"}},
            "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app.kubernetes.io/name": "tess"}}}},
            "status": {},
        },
    )
    assert isinstance(state, StatefulSetState)
    assert state.labels == {"team": "qa"} and state.pod_labels == {"app.kubernetes.io/name": "tess"}


def test_a_held_fault_is_in_place_until_its_hold_ends(tmp_path: Path) -> None:
    """An eviction is over the moment it returns, but the suite held the platform under it: the
    hold step's end (its journal entry) ends the fault's window; recovery is still timed from the
    eviction's own end."""
    run_dir = write_run_directory(tmp_path / "run")
    common = {
        "experiment": "pod-eviction",
        "fault": "pod-eviction",
        "activity": "evict",
        "action": "evict_pods",
    }
    with (run_dir / "chaos" / "faults.jsonl").open("a") as handle:
        handle.write(json.dumps({**common, "ts_ms": (T0 + 400) * 1000, "phase": "inject_start"}) + "\n")
        handle.write(
            json.dumps(
                {
                    **common,
                    "ts_ms": (T0 + 401) * 1000,
                    "phase": "inject_end",
                    "status": "succeeded",
                    "targets": ["pod/agents/tess-0"],
                }
            )
            + "\n"
        )
    journal = {
        "experiment": {
            "title": "Tess evicted",
            "extensions": [{"name": "validator", "fault": "pod-eviction"}],
        },
        "steady_states": {"before": {"steady_state_met": True}},
        "run": [
            {
                "activity": {"name": "evict", "type": "action"},
                "status": "succeeded",
                "start": "2025-11-20T02:06:40Z",
                "end": "2025-11-20T02:06:41Z",
            },
            {
                "activity": {"name": "hold-evict", "type": "probe"},
                "status": "succeeded",
                "start": "2025-11-20T02:06:41Z",
                "end": "2025-11-20T02:06:56Z",
            },
        ],
        "rollbacks": [],
    }
    (run_dir / "chaos" / "journal-pod-eviction.json").write_text(json.dumps(journal))
    chaos = load_run_directory(run_dir).chaos
    assert chaos is not None
    eviction = next(f for f in chaos.faults if f.fault == "pod-eviction")
    assert eviction.held_until == T0 + 416 and eviction.window is not None and eviction.window.end == T0 + 416
    assert eviction.recovery_from == T0 + 401


def _metrics_doc(points: list[object]) -> dict[str, object]:
    return {
        "schema": "validator.metrics/v1",
        "step_seconds": 15,
        "queries": {
            "cpu": {"promql": "up", "status": "ok", "series": [{"labels": {"pod": "a"}, "points": points}]}
        },
    }


@pytest.mark.parametrize(
    ("points", "partial"),
    [
        ([[T0 + 15, 2], [T0, 1.5]], ""),  # the usual shape, written out of order
        ([[T0 + 15, 2], [T0, 1.5], [T0 + 30, float("nan")]], ""),  # Python's json writes NaN
        ([[T0 + 15, 2], [T0, 1.5], ["later", 3]], "1 point(s) of query `cpu` are not [time, value]"),
    ],
)
def test_metric_points_are_time_ordered_finite_and_unreadable_ones_counted(
    tmp_path: Path, points: list[object], partial: str
) -> None:
    """Whichever way the file is read (msgspec, typed, or the lenient path for NaN and odd points),
    a series holds its finite points in time order, and a point that is not [time, value] makes the
    query partial rather than silently dropped."""
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(_metrics_doc(points)), encoding="utf-8")
    result = load_metrics(path).get("cpu")
    assert result.ok and result.series[0].points == ((T0, 1.5), (T0 + 15, 2.0))
    assert result.series[0].labels == {"pod": "a"} and result.partial == partial


def test_a_value_too_big_for_a_float_is_dropped_as_infinite(tmp_path: Path) -> None:
    """msgspec reads 1e999 as infinity (no NaN literal needed): the typed path drops it too."""
    path = tmp_path / "metrics.json"
    text = json.dumps(_metrics_doc([[T0 + 15, 2], [T0, 1.5], [T0 + 30, 7]]))
    path.write_text(text.replace(", 7]", ", 1e999]"), encoding="utf-8")
    assert "1e999" in path.read_text(encoding="utf-8")
    result = load_metrics(path).get("cpu")
    assert result.series[0].points == ((T0, 1.5), (T0 + 15, 2.0)) and result.partial == ""


def test_a_relist_batch_still_open_at_the_end_of_the_file_names_its_deletions(tmp_path: Path) -> None:
    path = tmp_path / "k8s.jsonl"
    gap = {
        "received_ms": int((T0 + 200) * 1000),
        "kind": "Pod",
        "type": "GAP",
        "from_ms": int((T0 + 100) * 1000),
        "to_ms": int((T0 + 200) * 1000),
        "reason": "410 Gone",
        "namespace": "agents",
        "relist": True,
    }
    lines = [
        line(1, "Pod", "a", pod()),
        line(1, "Pod", "b", pod()),
        gap,
        line(200, "Pod", "a", pod(), "RELIST"),
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    k8s = load_k8s(path)
    assert [r.type for r in k8s.changes("Pod")["agents/b"]] == ["MODIFIED", "DELETED"]
    assert [r.type for r in k8s.changes("Pod")["agents/a"]] == ["MODIFIED"]  # relisted unchanged
