"""`validator lint` on one bad fixture per check: the right check, severity, object, field and message."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from validator.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


def run_lint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code = main(["lint", "--format", "json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


def only(findings: list[dict[str, str]], check: str) -> list[dict[str, str]]:
    return [f for f in findings if f["check"] == check]


def test_container_without_limits_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_lint(capsys, str(FIXTURES / "missing_resources.yaml"))
    found = only(report["findings"], "container-resources")
    assert code == 1
    assert {f["field"] for f in found} == {
        "spec.template.spec.containers[0].resources.limits.cpu",
        "spec.template.spec.containers[0].resources.limits.memory",
    }
    assert all(f["severity"] == "error" and f["object"] == "Deployment/agents/rex" for f in found)
    assert "container 'agent' has no memory limit" in {f["message"].split(" (")[0] for f in found}
    assert all(f["file"].endswith("missing_resources.yaml") for f in found)


def test_limit_request_ratio_above_the_bound(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_lint(capsys, str(FIXTURES / "ratio_out_of_bounds.yaml"))
    (found,) = only(report["findings"], "limit-request-ratio")
    assert code == 1
    assert found["field"] == "spec.template.spec.containers[0].resources.limits.cpu"
    assert "ratio is 8 (4 / 500m), above the bound 4" in found["message"]


def test_ratio_bound_is_configurable(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_lint(capsys, "--max-ratio", "8", str(FIXTURES / "ratio_out_of_bounds.yaml"))
    assert code == 0
    assert only(report["findings"], "limit-request-ratio") == []


def test_quota_below_and_above_the_buffer(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_lint(
        capsys, "--peaks", str(FIXTURES / "quota_peaks.yaml"), str(FIXTURES / "quota_outside_buffer.yaml")
    )
    found = {f["field"]: f for f in only(report["findings"], "quota-buffer")}
    assert code == 1
    below = found["spec.hard.requests.cpu"]
    assert below["severity"] == "error"
    assert "below the expected peak 18 x 1.2 = 21.6" in below["message"]
    above = found["spec.hard.requests.memory"]
    assert above["severity"] == "warning"
    assert "above the expected peak" in above["message"]
    assert "spec.hard.pods" not in found  # 13 = 10 x 1.3: inside the buffer


def test_pdb_min_available_counts_the_hpa_minimum(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_lint(capsys, str(FIXTURES / "pdb_min_available_blocks.yaml"))
    (found,) = only(report["findings"], "pdb-drainable")
    assert code == 1
    assert found["object"] == "PodDisruptionBudget/workflow-system/workflow-controller"
    assert found["field"] == "spec.minAvailable"
    assert "minAvailable 2 >= the 2 replica(s) of Deployment/workflow-controller" in found["message"]
    assert "maxUnavailable: 1" in found["fix"]


def test_pdb_max_unavailable_zero(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_lint(capsys, str(FIXTURES / "pdb_max_unavailable_zero.yaml"))
    (found,) = only(report["findings"], "pdb-drainable")
    assert code == 1
    assert found["field"] == "spec.maxUnavailable"
    assert "allows no disruption of StatefulSet/tess" in found["message"]


def test_pdb_that_selects_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_lint(capsys, str(FIXTURES / "pdb_selects_nothing.yaml"))
    (found,) = only(report["findings"], "pdb-drainable")
    assert code == 1
    assert found["field"] == "spec.selector"
    assert "matches no workload's pods in namespace 'agents'" in found["message"]


def test_hpa_without_scale_down_behaviour(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_lint(capsys, str(FIXTURES / "hpa_without_behavior.yaml"))
    (found,) = only(report["findings"], "hpa-behavior")
    assert code == 1
    assert found["severity"] == "error"
    assert found["field"] == "spec.behavior.scaleDown"
    assert "stabilizationWindowSeconds: 900" in found["fix"]


def test_unknown_priority_class(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_lint(capsys, str(FIXTURES / "unknown_priority_class.yaml"))
    (found,) = only(report["findings"], "priority-class-exists")
    assert code == 1
    assert found["field"] == "spec.template.spec.priorityClassName"
    assert "PriorityClass 'agent-hi-priority' does not exist" in found["message"]
    assert "agent-high-priority" in found["fix"]


def test_pvc_above_the_limitrange_maximum(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_lint(capsys, str(FIXTURES / "pvc_outside_limitrange.yaml"))
    (found,) = only(report["findings"], "pvc-size-bounds")
    assert code == 1
    assert found["object"] == "PersistentVolumeClaim/agents/tess-artifacts"
    assert found["field"] == "spec.resources.requests.storage"
    assert (
        "storage 100Gi is above the maximum 50Gi of LimitRange/agents/agent-resource-bounds"
        in found["message"]
    )


def test_pod_template_without_agent_label(capsys: pytest.CaptureFixture[str]) -> None:
    code, report = run_lint(capsys, str(FIXTURES / "missing_labels.yaml"))
    (found,) = only(report["findings"], "validator-labels")
    assert code == 1
    assert found["field"] == "spec.template.metadata.labels[app.kubernetes.io/name]"
    assert "cannot tell their agent type" in found["message"]


def test_unreadable_yaml_is_invalid_input_naming_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["lint", str(FIXTURES / "not_yaml.yaml")])
    err = capsys.readouterr().err
    assert code == 2
    assert "not_yaml.yaml is not valid YAML" in err


def test_missing_path_is_invalid_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", str(FIXTURES / "no-such-file.yaml")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_stdin_and_table_output(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO((FIXTURES / "pdb_max_unavailable_zero.yaml").read_text()))
    code = main(["lint", "-"])
    out = capsys.readouterr().out
    assert code == 1
    assert "PodDisruptionBudget/agents/tess" in out
    assert "fix: set maxUnavailable: 1" in out
    assert out.rstrip().endswith("1 error(s), 0 warning(s)")


def test_invalid_peaks_file_reports_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    peaks = tmp_path / "peaks.yaml"
    peaks.write_text(
        "schema: wrong\nquotas:\n  - namespace: agents\n    peak: {requests.cpu: lots}\n    extra: 1\n"
    )
    code = main(["lint", "--peaks", str(peaks), str(FIXTURES / "quota_outside_buffer.yaml")])
    err = capsys.readouterr().err
    assert code == 2
    for expected in ("schema: must be", "quotas[0].extra: unknown key", "quotas[0].name: required",
                     "quotas[0].peak.requests.cpu: 'lots' is not a quantity"):
        assert expected in err


def test_small_max_unavailable_percentage_still_allows_one_pod(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The disruption controller rounds maxUnavailable percentages up: 10% of 3 pods allows one."""
    text = (FIXTURES / "pdb_max_unavailable_zero.yaml").read_text()
    manifest = tmp_path / "pdb.yaml"
    manifest.write_text(text.replace("maxUnavailable: 0", 'maxUnavailable: "10%"'))
    code, report = run_lint(capsys, str(manifest))
    assert code == 0
    assert only(report["findings"], "pdb-drainable") == []
    manifest.write_text(text.replace("maxUnavailable: 0", 'maxUnavailable: "0%"'))
    code, report = run_lint(capsys, str(manifest))
    assert code == 1
    (found,) = only(report["findings"], "pdb-drainable")
    assert found["field"] == "spec.maxUnavailable"
