"""`validator run` options: suite-specific flags are checked before anything touches a cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from validator.cli import main
from validator.commands.run import _apply_options
from validator.config.suite_file import load_suite_file
from validator.runner import RehearsalTarget

ROOT = Path(__file__).resolve().parents[2]
SUITES = ROOT / "suites"


class Args:
    def __init__(self, suite: str, **kw: object) -> None:
        self.suite = SUITES / suite
        self.node = kw.get("node", "")
        self.pool = kw.get("pool", "")
        self.experiment = kw.get("experiment")
        self.profile = kw.get("profile", "")
        self.at = kw.get("at", "")


def test_rehearsal_needs_a_target_and_sets_the_drain_selector() -> None:
    suite = load_suite_file(SUITES / "maintenance-rehearsal.yaml")
    with pytest.raises(Exception, match=r"--node N or --pool P"):
        _apply_options(Args("maintenance-rehearsal.yaml"), suite)
    changed, target = _apply_options(Args("maintenance-rehearsal.yaml", node="implementation-2"), suite)
    assert target == RehearsalTarget(node="implementation-2")
    assert (
        changed.experiments[0].env["VALIDATOR_DRAIN_NODE_SELECTOR"]
        == "kubernetes.io/hostname=implementation-2"
    )
    _, pool = _apply_options(Args("maintenance-rehearsal.yaml", pool="quality"), suite)
    assert pool is not None and pool.selector == "node-pool=quality"


def test_flags_of_another_suite_are_refused() -> None:
    nightly = load_suite_file(SUITES / "nightly.yaml")
    with pytest.raises(Exception) as caught:
        _apply_options(Args("nightly.yaml", node="x", profile="soak"), nightly)
    assert "--node/--pool" in str(caught.value) and "--experiment/--profile/--at" in str(caught.value)


def test_on_demand_takes_any_experiment_and_profile() -> None:
    suite = load_suite_file(SUITES / "on-demand.yaml")
    changed, target = _apply_options(
        Args(
            "on-demand.yaml", experiment=ROOT / "experiments" / "node-failure.json", profile="burst", at="90s"
        ),
        suite,
    )
    assert target is None
    assert changed.load.profile == "burst"
    [exp] = changed.experiments
    assert exp.name == "node-failure" and exp.at_s == {"sandbox": 90.0, "real": 90.0}


def test_unknown_context_is_refused_before_any_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    allow = tmp_path / "allow.yaml"
    allow.write_text(json.dumps({"contexts": {}}))
    code = main(
        [
            "run",
            str(SUITES / "nightly.yaml"),
            "--context",
            "not-allowed",
            "--allowlist",
            str(allow),
            "--prometheus-url",
            "http://127.0.0.1:9",
            "--workflow-api-url",
            "http://127.0.0.1:9",
        ]
    )
    assert code == 4
    assert "not in the allow-list" in capsys.readouterr().err
    assert not (ROOT / "reports" / "not-allowed").exists()


def test_no_context_is_refused(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VALIDATOR_CONTEXT", raising=False)
    code = main(
        [
            "run",
            str(SUITES / "nightly.yaml"),
            "--context",
            "",
            "--prometheus-url",
            "http://127.0.0.1:9",
            "--workflow-api-url",
            "http://127.0.0.1:9",
        ]
    )
    assert code == 4
    assert "no kubeconfig context named" in capsys.readouterr().err
