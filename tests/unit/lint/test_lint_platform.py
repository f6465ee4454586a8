"""The repo's own platform passes its own linter, in both overlays."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from validator.cli import main

REPO = Path(__file__).resolve().parents[3]


def test_platform_overlays_have_no_lint_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    code = main(["lint", "--format", "json", "platform/"])
    report = json.loads(capsys.readouterr().out)
    assert report["inputs"] == [
        "platform/overlays/production (kustomize)",
        "platform/overlays/testing (kustomize)",
    ]
    assert report["errors"] == 0, json.dumps(report["findings"], indent=2)
    assert code == 0


def test_platform_quotas_are_checked_against_the_expected_peaks(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The peaks file is found by itself; a quota tightened below peak x 1.2 is then an error."""
    monkeypatch.chdir(REPO)
    overlay = tmp_path / "tight"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text(
        f"resources: [{os.path.relpath(REPO / 'platform/overlays/testing', overlay)}]\n"
        "patches:\n"
        "  - target: {kind: ResourceQuota, name: agents-testing}\n"
        "    patch: |-\n"
        "      - {op: replace, path: /spec/hard/pods, value: '12'}\n"
    )
    code = main(["lint", "--format", "json",
                 "--peaks", "platform/expected-peaks.yaml", str(overlay)])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    (found,) = report["findings"]
    assert found["object"] == "ResourceQuota/agents/agents-testing"
    assert found["field"] == "spec.hard.pods"
