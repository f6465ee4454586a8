"""The platform's alert rules: generated outputs in sync with their source, and promtool tests pass.

Every rule must have promtool cases that expect it to fire and cases that expect silence.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
ALERTS = REPO / "platform" / "alerts"
RULE_TESTS = sorted((ALERTS / "tests").glob("*.yaml"))


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is not on PATH: install the Debian package `prometheus` (make debian)")
    return found


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("alerts_generate", ALERTS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _source_alerts() -> list[str]:
    source = yaml.safe_load((ALERTS / "rules.source.yaml").read_text())
    return [rule["alert"] for group in source["groups"] for rule in group["rules"]]


def test_generated_rule_files_match_their_source() -> None:
    proc = subprocess.run(
        [sys.executable, str(ALERTS / "generate.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


def test_prometheusrule_and_plain_file_hold_the_same_groups() -> None:
    plain = yaml.safe_load((ALERTS / "generated" / "agent-platform.rules.yaml").read_text())
    operator = yaml.safe_load((REPO / "platform" / "base" / "prometheusrule.yaml").read_text())
    assert operator["kind"] == "PrometheusRule"
    assert operator["spec"]["groups"] == plain["groups"]


def test_every_rule_has_severity_summary_and_runbook_in_the_repo() -> None:
    plain = yaml.safe_load((ALERTS / "generated" / "agent-platform.rules.yaml").read_text())
    runbooks = (REPO / "docs" / "runbooks.md").read_text().lower()
    for group in plain["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in {"info", "warning", "critical"}
            assert rule["annotations"]["summary"]
            anchor = rule["alert"].lower()
            assert rule["annotations"]["runbook_url"] == f"docs/runbooks.md#{anchor}"
            assert f"## {anchor}\n" in runbooks, f"docs/runbooks.md has no section `## {rule['alert']}`"


def test_generator_rejects_a_rule_without_severity(tmp_path: Path) -> None:
    source = yaml.safe_load((ALERTS / "rules.source.yaml").read_text())
    del source["groups"][0]["rules"][0]["severity"]
    broken = tmp_path / "rules.source.yaml"
    broken.write_text(yaml.safe_dump(source))
    with pytest.raises(SystemExit, match=r"groups\[0\]\.rules\[0\]: missing \['severity'\]"):
        _generator().load_source(broken)


def test_promtool_accepts_the_generated_rule_file() -> None:
    proc = subprocess.run(
        [_promtool(), "check", "rules", str(ALERTS / "generated" / "agent-platform.rules.yaml")],
        capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("test_file", RULE_TESTS, ids=[p.stem for p in RULE_TESTS])
def test_promtool_rule_tests_pass(test_file: Path) -> None:
    proc = subprocess.run(
        [_promtool(), "test", "rules", test_file.name],
        cwd=test_file.parent, capture_output=True, text=True, check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _cases() -> dict[str, dict[str, int]]:
    """Per alert: how many promtool evaluations expect it firing, and how many expect silence."""
    counts: dict[str, dict[str, int]] = {}
    for path in RULE_TESTS:
        doc: dict[str, Any] = yaml.safe_load(path.read_text())
        for test in doc["tests"]:
            for case in test.get("alert_rule_test", []):
                entry = counts.setdefault(case["alertname"], {"firing": 0, "silent": 0})
                entry["firing" if case.get("exp_alerts") else "silent"] += 1
    return counts


def test_every_rule_is_tested_firing_and_silent() -> None:
    counts = _cases()
    for alert in _source_alerts():
        assert alert in counts, f"no promtool case for {alert} in platform/alerts/tests/"
        assert counts[alert]["firing"] >= 1, f"{alert}: no case where it fires"
        assert counts[alert]["silent"] >= 1, f"{alert}: no case where it stays silent"
