"""Experiment files are read before any cluster call; the mechanism each fault uses is known then."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from validator.chaos.mechanisms import mechanisms_of, refusals_outside_sandbox
from validator.config.experiment_file import load_experiment_file, parse_experiment
from validator.errors import ConfigError

EXPERIMENTS = Path(__file__).resolve().parents[3] / "experiments"


@pytest.mark.parametrize("path", sorted(EXPERIMENTS.glob("*.json")), ids=lambda p: p.stem)
def test_shipped_experiments_load(path: Path) -> None:
    experiment = load_experiment_file(path)
    assert experiment.method_actions() and experiment.fault_name() == path.stem


@pytest.mark.parametrize(
    ("document", "needle"),
    [
        ({"method": []}, "title: missing"),
        ({"title": "t"}, "method: missing or empty"),
        (
            {
                "title": "t",
                "method": [
                    {
                        "type": "actoin",
                        "name": "a",
                        "provider": {"type": "python", "module": "m", "func": "f"},
                    }
                ],
            },
            "method[0].type: 'actoin' is not one of action, probe",
        ),
        (
            {"title": "t", "method": [{"type": "action", "name": "a", "provider": {"type": "python"}}]},
            "method[0].provider.module: missing",
        ),
        ({"title": "t", "method": [{"ref": "nope"}]}, "method[0].ref: no activity is named 'nope'"),
        (
            {"title": "t", "method": [{"type": "probe", "name": "p", "provider": {"type": "http"}}]},
            "method[0].provider.url: missing",
        ),
        ({"title": "t", "configuration": {"x": {"type": "env"}}, "method": []}, "configuration.x.key"),
    ],
)
def test_every_problem_names_the_file_and_key(document: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_experiment(document, Path("exp.json"))
    assert f"exp.json: {needle}" in caught.value.what


def test_the_real_mechanisms_are_the_defaults_and_the_sandbox_is_chosen_by_env() -> None:
    memory = load_experiment_file(EXPERIMENTS / "memory-pressure.json")
    node = load_experiment_file(EXPERIMENTS / "node-failure.json")
    assert {u.func: u.mechanism for u in mechanisms_of(memory, {})} == {
        "apply_memory_pressure": "chaos-mesh",
        "remove_memory_pressure": "chaos-mesh",
    }
    assert {u.mechanism for u in mechanisms_of(node, {})} == {"hook"}
    assert refusals_outside_sandbox(memory, {}) == []
    sandboxed = refusals_outside_sandbox(memory, {"VALIDATOR_MEMORY_MECHANISM": "sandbox"})
    assert len(sandboxed) == 2 and "raise-agent-memory (apply_memory_pressure)" in sandboxed[0]


def test_arguments_are_resolved_like_chaos_run(tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_text(
        json.dumps(
            {
                "title": "t",
                "configuration": {"ns": {"type": "env", "key": "NS", "default": "agents"}, "n": 3},
                "method": [
                    {
                        "type": "action",
                        "name": "a",
                        "provider": {
                            "type": "python",
                            "module": "m",
                            "func": "f",
                            "arguments": {"namespace": "${ns}", "count": "${n}", "text": "in ${ns}"},
                        },
                    }
                ],
            }
        )
    )
    experiment = load_experiment_file(path)
    [action] = experiment.method_actions()
    assert experiment.resolve_arguments(action, {}) == {
        "namespace": "agents",
        "count": 3,
        "text": "in agents",
    }
    assert experiment.resolve_arguments(action, {"NS": "tools"})["namespace"] == "tools"
