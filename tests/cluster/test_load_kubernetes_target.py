"""The load profiles' Kubernetes target: one object per workflow, created from a template by Locust
(in its own process, through the suite's runner) and counted through Locust's request events."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from validator.load.locust_process import LocustSpec, run_locust

pytestmark = pytest.mark.sandbox

LOADPROFILES = Path(__file__).resolve().parents[2] / "loadprofiles"
TEMPLATE = """\
apiVersion: v1
kind: ConfigMap
metadata:
  labels: {app.kubernetes.io/managed-by: validator-load}
data:
  size: "{{size}}"
  submitted-at-ms: "{{submitted_at_ms|string}}"
"""


def test_workflows_become_objects_counted_by_locust(sandbox: Any, namespace: str, tmp_path: Path) -> None:
    template = tmp_path / "workflow.yaml"
    template.write_text(TEMPLATE)
    spec = LocustSpec(
        locustfile=LOADPROFILES / "steady.py", host="http://127.0.0.1:1", max_users=2, max_spawn_rate=2,
        max_duration_s=30, time_factor=1000, profile_duration_s=4,
        extra_env={"VALIDATOR_LOAD_TARGET": "kubernetes", "VALIDATOR_LOAD_K8S_TEMPLATE": str(template),
                   "VALIDATOR_LOAD_K8S_NAMESPACE": namespace, "VALIDATOR_LOAD_K8S_CONTEXT": sandbox.context,
                   # this worker's sandbox may not be the default one the profile allows by itself
                   "VALIDATOR_LOAD_ALLOWED_CONTEXTS": sandbox.context,
                   "KUBECONFIG": str(sandbox.kubeconfig)})
    outcome = run_locust(spec, tmp_path)
    assert outcome.stopped == "finished" and outcome.returncode == 0, outcome.detail
    created = client.CoreV1Api(sandbox.api).list_namespaced_config_map(
        namespace, label_selector="app.kubernetes.io/managed-by=validator-load").items
    # Locust's final totals (the history is sampled each second and can miss the last request)
    with (outcome.load_dir / "locust_stats.csv").open() as stats:
        aggregated = next(row for row in csv.DictReader(stats) if row["Name"] == "Aggregated")
    # a create in flight when the shape stops its users reaches the apiserver but never reports its
    # answer to Locust: at most one such object per user (2 here), never fewer objects than counted
    counted = int(aggregated["Request Count"])
    assert 0 < counted <= len(created) <= counted + spec.max_users
    assert int(aggregated["Failure Count"]) == 0
    sizes = {"single-file-change", "multi-file-feature", "service-refactor", "multi-service-refactor"}
    assert {cm.data["size"] for cm in created} <= sizes
