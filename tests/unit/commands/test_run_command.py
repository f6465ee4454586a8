"""`validator run` options: suite-specific flags are checked before anything touches a cluster."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from validator.cli import main
from validator.commands.run import apply_options
from validator.config.suite_file import load_suite_file
from validator.run import RehearsalTarget

ROOT = Path(__file__).resolve().parents[3]
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
        apply_options(Args("maintenance-rehearsal.yaml"), suite)
    changed, target = apply_options(Args("maintenance-rehearsal.yaml", node="implementation-2"), suite)
    assert target == RehearsalTarget(node="implementation-2")
    assert (
        changed.experiments[0].env["VALIDATOR_DRAIN_NODE_SELECTOR"]
        == "kubernetes.io/hostname=implementation-2"
    )
    _, pool = apply_options(Args("maintenance-rehearsal.yaml", pool="quality"), suite)
    assert pool is not None and pool.selector == "node-pool=quality"


def test_flags_of_another_suite_are_refused() -> None:
    nightly = load_suite_file(SUITES / "nightly.yaml")
    with pytest.raises(Exception) as caught:
        apply_options(Args("nightly.yaml", node="x", profile="soak"), nightly)
    assert "--node/--pool" in str(caught.value) and "--experiment/--profile/--at" in str(caught.value)


def test_on_demand_takes_any_experiment_and_profile() -> None:
    suite = load_suite_file(SUITES / "on-demand.yaml")
    changed, target = apply_options(
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


# --- bad input and sandbox-only faults are refused before any cluster call


def test_an_experiment_that_is_not_json_is_bad_input_for_plan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "exp.json"
    bad.write_text("title: not json\n", encoding="utf-8")
    code = main(["plan", str(bad), "--context", "prod-eu", "--allowlist", str(tmp_path / "none.yaml")])
    err = capsys.readouterr().err
    assert code == 2 and f"{bad}:1:1: not valid JSON" in err and "Traceback" not in err


def test_an_experiment_without_a_method_is_bad_input_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "exp.json"
    bad.write_text(json.dumps({"title": "x", "method": [{"type": "action", "name": "a"}]}), encoding="utf-8")
    code = main(["plan", str(bad), "--context", "prod-eu", "--allowlist", str(tmp_path / "none.yaml")])
    assert code == 2 and f"{bad}: method[0].provider: missing" in capsys.readouterr().err


def test_a_suite_naming_a_broken_experiment_fails_run_dry_run_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "experiments" / "broken.json"
    bad.parent.mkdir()
    bad.write_text("{", encoding="utf-8")
    suite = (SUITES / "on-demand.yaml").read_text().replace("experiments/pod-eviction.json", str(bad))
    (tmp_path / "suite.yaml").write_text(suite.replace("name: on-demand", "name: broken"), encoding="utf-8")
    code = main(["run", str(tmp_path / "suite.yaml"), "--context", "prod-eu", "--dry-run"])
    err = capsys.readouterr().err
    assert code == 2 and "experiments[0].path" in err and "not valid JSON" in err


def test_a_sandbox_only_mechanism_is_refused_off_the_sandbox_before_any_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The nightly's sandbox timings choose the `sandbox` mechanisms; forced onto another cluster they
    would inject nothing and the run would pass: refused (exit 4) before the context is even opened."""
    code = main(
        [
            "run",
            str(SUITES / "nightly.yaml"),
            "--context",
            "prod-eu",
            "--timing",
            "sandbox",
            "--allowlist",
            str(tmp_path / "none.yaml"),
            "--prometheus-url",
            "http://127.0.0.1:9",
            "--workflow-api-url",
            "http://127.0.0.1:9",
        ]
    )
    err = capsys.readouterr().err
    assert code == 4 and "raise-agent-memory (apply_memory_pressure) uses mechanism `sandbox`" in err
    assert "not in the allow-list" not in err  # refused before the allow-list was read
    monkeypatch.setenv("VALIDATOR_MEMORY_MECHANISM", "sandbox")
    code = main(
        [
            "plan",
            str(ROOT / "experiments" / "memory-pressure.json"),
            "--context",
            "prod-eu",
            "--allowlist",
            str(tmp_path / "none.yaml"),
        ]
    )
    assert code == 4 and "uses mechanism `sandbox`" in capsys.readouterr().err
