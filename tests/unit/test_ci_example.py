"""The example CI workflow (examples/ci/github-actions-nightly.yml) is a valid GitHub Actions workflow
(check-jsonschema's vendored schema), installs the pinned versions, runs a command our CLI accepts,
uploads the JUnit results and the report whatever the verdict, fails the job on the run's exit code,
and keeps the kubeconfig secret out of every script."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from validator.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "ci" / "github-actions-nightly.yml"
CHECK = Path(sys.executable).parent / "check-jsonschema"


def _validate(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _steps() -> list[dict[str, Any]]:
    doc = yaml.safe_load(EXAMPLE.read_text())
    [job] = doc["jobs"].values()
    return list(job["steps"])


def test_the_example_is_a_valid_github_actions_workflow(tmp_path: Path) -> None:
    proc = _validate(EXAMPLE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    broken = yaml.safe_load(EXAMPLE.read_text())
    del broken["jobs"]["nightly"]["runs-on"]
    (tmp_path / "broken.yml").write_text(yaml.safe_dump(broken))
    assert _validate(tmp_path / "broken.yml").returncode != 0  # the check can fail


def test_it_runs_nightly_with_pinned_versions_and_fails_on_the_exit_code() -> None:
    doc = yaml.safe_load(EXAMPLE.read_text())
    triggers = doc.get("on", doc.get(True))  # YAML 1.1 (PyYAML) reads a bare `on` key as True
    assert triggers["schedule"][0]["cron"] and "workflow_dispatch" in triggers
    assert doc["concurrency"]["cancel-in-progress"] is False
    steps = _steps()
    runs = [s.get("run", "") for s in steps]
    assert any("pip install" in r and "-c constraints.txt" in r for r in runs)
    [command] = [line for r in runs for line in r.splitlines() if line.strip().startswith("validator run")]
    args = build_parser().parse_args(shlex.split(command.strip())[1:])
    assert args.command == "run" and str(args.suite) == "suites/nightly.yaml"
    run_step = next(s for s in steps if "validator run" in s.get("run", ""))
    assert "exit_code=$?" in run_step["run"] and "set +e" in run_step["run"]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"
    assert "junit.xml" in upload["with"]["path"] and "report.html" in upload["with"]["path"]
    last = steps[-1]
    assert last["if"] == "always()" and f"steps.{run_step['id']}.outputs.exit_code" in last["run"]


def test_the_kubeconfig_secret_never_appears_in_a_script() -> None:
    for step in _steps():
        assert "secrets." not in step.get("run", ""), step["name"]
    [secret_step] = [s for s in _steps() if "secrets." in str(s.get("env", {}))]
    assert "printf '%s'" in secret_step["run"] and "umask 077" in secret_step["run"]
