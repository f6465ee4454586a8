"""manifest.json is the model's RunManifest in both directions: what a run writes reads back as the
same manifest, so a field cannot be written under one name and read under another."""

from __future__ import annotations

import json
from pathlib import Path

from validator.model import (
    CriterionOverride,
    ExperimentRecord,
    LabelSelector,
    ManifestLoad,
    PlannedFault,
    RehearsalScope,
    RunManifest,
    TimeWindow,
    parse_rfc3339,
)
from validator.run_directory.manifest import load_manifest, write_manifest

T0 = parse_rfc3339("2026-12-01T02:00:00Z")


def _full_manifest() -> RunManifest:
    return RunManifest(
        run_id="20261206T030000Z-nightly",
        window=TimeWindow(start=T0 + 0.125, end=T0 + 420.5),
        suite="nightly",
        context="validator-sandbox",
        namespaces=("agents", "workflow-system"),
        sandbox=True,
        time_factor=30.0,
        agent_label="app.kubernetes.io/name",
        controller_selector=LabelSelector.parse("app.kubernetes.io/component=controller"),
        expected_alerts={"node-drain": ("AgentPodNotReady",)},
        criteria={"recovery_time": CriterionOverride(thresholds={"max": 120.0})},
        suite_file="suites/nightly.yaml",
        window_final=True,
        timing="sandbox",
        dry_run=False,
        load=ManifestLoad(
            profile="burst", target="http", max_users=40, max_spawn_rate=10.0, duration_s=420.0,
            started=T0 + 20.25,
            held_s=41.5,
        ),
        faults_planned=(
            PlannedFault(name="node-drain", experiment="experiments/node-drain.json", offset_s=90.0),
        ),
        rehearsal_target=RehearsalScope(pool="implementation"),
        judge=("pdb_respected", "recovery_time"),
        experiments=(
            ExperimentRecord(
                name="node-drain", experiment="experiments/node-drain.json",
                journal="chaos/journal-node-drain.json", started=T0 + 110, ended=T0 + 150.75,
                status="completed", steady_state_before=True, steady_state_after=True,
                failed_actions=(), failed_rollbacks=(),
            ),
            ExperimentRecord(
                name="memory", experiment="experiments/memory.json", journal="chaos/journal-memory.json",
                started=T0 + 160, ended=T0 + 170, status="rollback_failed",
                error="cordon not reverted",
            ),
        ),
        interrupted=("SIGTERM",),
        aborted="controller_availability failed",
    )


def test_a_written_manifest_reads_back_as_the_same_manifest(tmp_path: Path) -> None:
    manifest = _full_manifest()
    write_manifest(tmp_path, manifest)
    assert load_manifest(tmp_path / "manifest.json") == manifest


def test_the_written_document_keeps_the_documented_field_names(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, _full_manifest())
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["schema"] == "validator.manifest/v1"
    assert doc["window"] == {"start": "2026-12-01T02:00:00.125Z", "end": "2026-12-01T02:07:00.500Z"}
    assert doc["load"]["time_factor"] == 30.0 and doc["load"]["started"] == "2026-12-01T02:00:20.250Z"
    assert doc["controller_selector"] == "app.kubernetes.io/component=controller"
    assert doc["experiments"][1] == {
        "name": "memory", "experiment": "experiments/memory.json", "started": "2026-12-01T02:02:40Z",
        "journal": "chaos/journal-memory.json", "status": "rollback_failed", "error": "cordon not reverted",
        "ended": "2026-12-01T02:02:50Z",
    }
    assert doc["criteria"] == {"recovery_time": {"max": 120.0}}


def test_a_check_manifest_without_a_load_reads_back_on_the_real_clock(tmp_path: Path) -> None:
    manifest = RunManifest(run_id="check-x", window=TimeWindow(start=T0, end=T0 + 3600))
    path = write_manifest(tmp_path, manifest)
    assert "load" not in json.loads(path.read_text(encoding="utf-8"))
    read = load_manifest(path)
    assert read == manifest and read.time_factor == 1.0
