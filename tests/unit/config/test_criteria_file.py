"""Criteria override files: every problem reported at once, each as `FILE: key.path: what`."""

from __future__ import annotations

from pathlib import Path

import pytest

from validator.config import load_criteria_file, parse_criteria_overrides
from validator.errors import ConfigError, ExitCode


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "criteria.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "criteria:\n"
        "  recovery_time:\n    max: 240\n"
        "  capacity_forecast:\n    info: false\n"
        "  cpu_utilization:\n    min: 0.5\n    queries:\n      cpu_usage_by_agent: 'sum by "
        '({agent_label}) (rate(x{a="b"}[5m]))\'\n',
    )
    overrides = load_criteria_file(path)
    assert overrides["recovery_time"].thresholds == {"max": 240.0}
    assert overrides["capacity_forecast"].info is False
    assert overrides["cpu_utilization"].thresholds == {"min": 0.5}
    assert "cpu_usage_by_agent" in overrides["cpu_utilization"].queries


def test_empty_file_is_no_override(tmp_path: Path) -> None:
    assert load_criteria_file(_write(tmp_path, "")) == {}


BAD = [
    (
        "unknown-key",
        "criteria:\n  recovery_time:\n    maxx: 3\n",
        ["criteria.recovery_time.maxx: unknown key; known keys: max"],
    ),
    (
        "unknown-id",
        "criteria:\n  recovery_tme:\n    max: 3\n",
        ["criteria.recovery_tme: unknown criterion id; known ids: cpu_utilization"],
    ),
    (
        "wrong-type",
        "criteria:\n  recovery_time:\n    max: five\n",
        ["criteria.recovery_time.max: expected a number, got a string 'five'"],
    ),
    (
        "bool-is-not-a-number",
        "criteria:\n  oom_kills:\n    max: true\n",
        ["criteria.oom_kills.max: expected a number, got a boolean"],
    ),
    (
        "min-above-max",
        "criteria:\n  cpu_utilization:\n    min: 0.9\n    max: 0.7\n",
        ["criteria.cpu_utilization: min (0.9) is greater than max (0.7)"],
    ),
    (
        "min-above-default-max",
        "criteria:\n  pvc_utilization:\n    min: 0.85\n",
        ["criteria.pvc_utilization: min (0.85) is greater than max (0.8)"],
    ),
    (
        "percent-for-ratio",
        "criteria:\n  memory_utilization:\n    max: 90\n",
        ["criteria.memory_utilization.max: is a ratio between 0 and 1, got 90 (write 0.9 for 90%)"],
    ),
    (
        "negative",
        "criteria:\n  recovery_time:\n    max: -1\n",
        ["criteria.recovery_time.max: must not be negative"],
    ),
    (
        "info-not-bool",
        "criteria:\n  cost_efficiency:\n    info: 'no'\n",
        ["criteria.cost_efficiency.info: expected true or false"],
    ),
    (
        "unknown-top-level",
        "criterias:\n  recovery_time: {}\n",
        ["criterias: unknown key; known keys: criteria"],
    ),
    (
        "criterion-not-mapping",
        "criteria:\n  recovery_time: 300\n",
        ["criteria.recovery_time: expected a mapping of thresholds, got a number"],
    ),
    (
        "top-not-mapping",
        "- recovery_time\n",
        ["top level: expected a mapping with a `criteria` key, got a list"],
    ),
    (
        "unknown-query-key",
        "criteria:\n  cpu_utilization:\n    queries:\n      cpu: 'up'\n",
        ["criteria.cpu_utilization.queries.cpu: unknown query key; known keys: cpu_usage_by_agent"],
    ),
    (
        "query-on-criterion-without-queries",
        "criteria:\n  graceful_degradation:\n    queries:\n      x: 'up'\n",
        ["known keys: none (this criterion runs no query)"],
    ),
    (
        "unbalanced-promql",
        "criteria:\n  pvc_utilization:\n    queries:\n      pvc_used_bytes: "
        "'sum(kubelet_volume_stats_used_bytes{a=\"b\"}'\n",
        ["pvc_used_bytes: bad PromQL: unclosed '(' opened at character 4"],
    ),
    (
        "unclosed-quote",
        "criteria:\n  pvc_utilization:\n    queries:\n      pvc_used_bytes: 'x{a=\"b}'\n",
        ['bad PromQL: unclosed " quote'],
    ),
    (
        "mismatched-bracket",
        "criteria:\n  pvc_utilization:\n    queries:\n      pvc_used_bytes: 'rate(x[5m)]'\n",
        ["bad PromQL: unexpected ')' at character 10 (expected ']')"],
    ),
    (
        "empty-promql",
        "criteria:\n  pvc_utilization:\n    queries:\n      pvc_used_bytes: '  '\n",
        ["bad PromQL: empty query"],
    ),
]


@pytest.mark.parametrize(("text", "messages"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_file_names_file_and_key(tmp_path: Path, text: str, messages: list[str]) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_criteria_file(path)
    assert caught.value.exit_code is ExitCode.INVALID_INPUT
    for message in messages:
        assert message in caught.value.what
    assert f"{path}: " in caught.value.what


def test_all_errors_at_once(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "criteria:\n  recovery_time:\n    maxx: 3\n  nope: {}\n  cpu_utilization:\n    min: x\nextra: 1\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_criteria_file(path)
    what = caught.value.what
    assert what.startswith("invalid criteria overrides (4 problems)")
    assert "maxx" in what and "nope" in what and "min: expected a number" in what and "extra" in what


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "criteria:\n  recovery_time: [\n")
    with pytest.raises(ConfigError) as caught:
        load_criteria_file(path)
    assert f"{path}:3:" in caught.value.what and "not valid YAML" in caught.value.what


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    path = _write(tmp_path, "criteria: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_criteria_file(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_criteria_file(tmp_path / "absent.yaml")


def test_manifest_block_uses_its_own_source_name() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_criteria_overrides({"recovery_time": {"maxx": 1}}, source="run/manifest.json")
    assert "run/manifest.json: criteria.recovery_time.maxx: unknown key" in caught.value.what
    assert parse_criteria_overrides({"recovery_time": {"max": 1}}, source="m")[
        "recovery_time"
    ].thresholds == {"max": 1.0}
