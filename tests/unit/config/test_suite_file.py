"""Suite files: the shipped suites load; every problem of a bad one is reported at once with its key path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from validator.config.suite_file import load_suite_file, parse_duration, parse_suite
from validator.errors import ConfigError, ExitCode

ROOT = Path(__file__).resolve().parents[3]

GOOD = """
schema: validator.suite/v1
name: tiny
namespaces: [agents]
load:
  profile: steady
  caps: {max_users: 5, max_spawn_rate: 1}
experiments:
  - name: node-drain
    path: experiments/node-drain.json
    at: {sandbox: 30s, real: 10m}
    hold: {sandbox: 20s}
    env: {VALIDATOR_DRAIN_COUNT: 1}
    expected_alerts: [PodDisruptionBudgetBlockingDisruption]
  - name: early
    path: experiments/pod-eviction.json
    at: {sandbox: 10, real: 1m30s}
timings:
  sandbox: {load_duration: 2m, time_factor: 8, settle: 10s, cooldown: 20s, step: 5s,
            env: {VALIDATOR_RECOVERY_TIMEOUT_S: "60"}}
  real: {load_duration: 40m, time_factor: 1, quiet: 0}
criteria:
  recovery_time: {max: 240}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "suites" / "suite.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", ["nightly", "maintenance-rehearsal", "on-demand"])
def test_shipped_suites_load(name: str) -> None:
    suite = load_suite_file(ROOT / "suites" / f"{name}.yaml")
    assert suite.name == name
    assert suite.experiments and all(e.path.is_file() for e in suite.experiments)
    for mode in ("sandbox", "real"):
        timing = suite.timing(mode)  # type: ignore[arg-type]
        assert all(offset < timing.load_duration_s for offset, _ in suite.schedule(mode))  # type: ignore[arg-type]


def test_nightly_fits_ten_minutes_in_the_sandbox_and_follows_the_brief_on_a_real_cluster() -> None:
    suite = load_suite_file(ROOT / "suites" / "nightly.yaml")
    sandbox, real = suite.timing("sandbox"), suite.timing("real")
    assert sandbox.settle_s + sandbox.load_duration_s + sandbox.cooldown_s <= 9 * 60
    assert real.load_duration_s >= 30 * 60 and real.cooldown_s >= 5 * 60
    assert [e.name for _, e in suite.schedule("sandbox")] == ["node-drain", "memory-pressure", "pod-eviction"]
    assert not suite.judge  # every criterion


def test_good_suite(tmp_path: Path) -> None:
    suite = load_suite_file(_write(tmp_path, GOOD), root=ROOT)
    assert suite.record_namespaces == ("agents",)
    assert suite.load.target == "http" and suite.load.max_users == 5
    assert [e.name for _, e in suite.schedule("sandbox")] == ["early", "node-drain"]
    assert [off for off, _ in suite.schedule("real")] == [90.0, 600.0]
    assert suite.experiments[0].env == {"VALIDATOR_DRAIN_COUNT": "1"}
    assert suite.experiments[0].hold_s == {"sandbox": 20.0}
    assert suite.experiments[1].hold_s == {}
    assert suite.experiments[0].path == ROOT / "experiments" / "node-drain.json"
    assert suite.expected_alerts() == {"node-drain": ["PodDisruptionBudgetBlockingDisruption"]}
    assert suite.criteria["recovery_time"].thresholds == {"max": 240.0}
    assert suite.timing("sandbox").env == {"VALIDATOR_RECOVERY_TIMEOUT_S": "60"}
    assert suite.timing("real").step_s == 15.0
    # how long a run waits for expected alerts an earlier run left firing: 15 minutes unless set
    assert suite.timing("sandbox").quiet_s == 900.0 and suite.timing("real").quiet_s == 0.0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(90, 90.0), ("90s", 90.0), ("10m", 600.0), ("1h30m", 5400.0), ("1.5m", 90.0), (0, 0.0)],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten", "-5", -5, True, "5 m", "m", None, [1]])
def test_not_durations(text: object) -> None:
    assert parse_duration(text) is None


def test_every_problem_at_once_with_file_and_key_path(tmp_path: Path) -> None:
    raw = yaml.safe_load(GOOD)
    raw["colour"] = "blue"
    raw["load"]["profile"] = "spiky"
    raw["load"]["caps"] = {"max_users": 9999, "max_rate": 1}
    raw["experiments"][0]["at"] = {"sandbox": "soon"}
    raw["experiments"][1]["name"] = "node-drain"
    raw["experiments"][1]["retries"] = 3
    raw["timings"]["sandbox"]["load_duration"] = "5x"
    del raw["timings"]["real"]
    raw["criteria"] = {"recovery_time": {"maximum": 1}, "no_such": {}}
    raw["judge"] = ["pdb_respected", "uptime"]
    path = _write(tmp_path, yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as caught:
        load_suite_file(path, root=ROOT)
    text = caught.value.what
    src = str(path)
    expected = [
        f"{src}: colour: unknown key",
        f"{src}: load.profile: unknown profile 'spiky'",
        f"{src}: load.caps.max_rate: unknown key",
        f"{src}: load.caps.max_spawn_rate: missing",
        f"{src}: load.caps.max_users: 9999 is above the hard maximum 500",
        f"{src}: experiments[0].at.sandbox: expected a duration",
        f"{src}: experiments[0].at.real: missing",
        f"{src}: experiments[1].name: 'node-drain' is used twice",
        f"{src}: experiments[1].retries: unknown key",
        f"{src}: timings.sandbox.load_duration: expected a duration",
        f"{src}: timings.real: missing",
        f"{src}: judge[1]: unknown criterion 'uptime'",
        "criteria.recovery_time.maximum",
        "criteria.no_such",
    ]
    for fragment in expected:
        assert fragment in text, fragment
    assert caught.value.exit_code is ExitCode.INVALID_INPUT
    assert str(path) == caught.value.where


def test_context_is_never_in_a_suite(tmp_path: Path) -> None:
    raw = yaml.safe_load(GOOD)
    raw["context"] = "kwok-validator-sandbox"
    with pytest.raises(ConfigError, match=r"context: unknown key"):
        parse_suite(raw, source="s.yaml", root=ROOT)


def test_offset_past_the_end_of_the_load(tmp_path: Path) -> None:
    raw = yaml.safe_load(GOOD)
    raw["experiments"][0]["at"]["sandbox"] = "2m"
    message = r"experiments\[0\]\.at\.sandbox: 120s is not before the end of the load"
    with pytest.raises(ConfigError, match=message):
        parse_suite(raw, source="s.yaml", root=ROOT)


def test_caps_are_required(tmp_path: Path) -> None:
    raw = yaml.safe_load(GOOD)
    del raw["load"]["caps"]
    with pytest.raises(ConfigError, match=r"load\.caps: missing; caps are required"):
        parse_suite(raw, source="s.yaml", root=ROOT)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"\(file\): empty"),
        ("- a\n- b\n", r"expected a mapping, got a list"),
        ("name: [unclosed\n", r"suite\.yaml:\d+:\d+: not valid YAML"),
    ],
)
def test_not_a_suite(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_suite_file(_write(tmp_path, text), root=ROOT)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_suite_file(tmp_path / "nope.yaml")


def test_env_values_must_be_scalars_and_names_valid(tmp_path: Path) -> None:
    raw = yaml.safe_load(GOOD)
    raw["experiments"][0]["env"] = {"lower": "x", "OK": ["a"]}
    with pytest.raises(ConfigError) as caught:
        parse_suite(raw, source="s.yaml", root=ROOT)
    assert "experiments[0].env.lower: not an environment variable name" in caught.value.what
    assert "experiments[0].env.OK: expected a string or number" in caught.value.what


# --- time that can fail: a window must outlast the budgets it judges


def test_a_window_shorter_than_the_recovery_budget_is_refused(tmp_path: Path) -> None:
    """Without its compressed clock the sandbox timings leave the drain 90 s to recover against a
    240 s budget: it could never fail there, so the suite is refused, naming the key."""
    raw = yaml.safe_load(GOOD)
    raw["timings"]["sandbox"]["time_factor"] = 1
    with pytest.raises(ConfigError) as caught:
        parse_suite(raw, source="s.yaml", root=ROOT)
    text = caught.value.what
    assert "s.yaml: experiments[0].at.sandbox: `node-drain` ends 50s into the load, leaving 90s" in text
    assert "recovery_time's budget is 240s of the run" in text and "timings.sandbox.time_factor" in text
    assert caught.value.exit_code is ExitCode.INVALID_INPUT


def test_a_stated_compressed_clock_judges_the_budget_on_that_clock(tmp_path: Path) -> None:
    raw = yaml.safe_load(GOOD)  # time_factor 8: the 240 s budget is 30 s of the run, inside 90 s
    assert parse_suite(raw, source="s.yaml", root=ROOT).timing("sandbox").time_factor == 8


def test_a_load_rise_too_late_for_the_scaling_budget_is_refused(tmp_path: Path) -> None:
    raw = yaml.safe_load(GOOD)
    raw["load"]["profile"] = "burst"  # its last rise is halfway through the load
    raw["timings"]["real"] = {"load_duration": "8m", "time_factor": 1, "cooldown": "30s"}
    raw["experiments"][0]["at"]["real"] = "1m"
    with pytest.raises(
        ConfigError,
        match=r"timings\.real\.cooldown: the burst profile last raises its load "
        r"240s in, leaving 270s .* scaling_latency's budget is 300s",
    ):
        parse_suite(raw, source="s.yaml", root=ROOT)


def test_an_experiment_that_is_not_json_is_reported_with_the_suite(tmp_path: Path) -> None:
    broken = tmp_path / "experiments" / "broken.json"
    broken.parent.mkdir(parents=True)
    broken.write_text('{"title": "x", "method": [', encoding="utf-8")
    raw = yaml.safe_load(GOOD)
    raw["experiments"][1]["path"] = str(broken)
    with pytest.raises(ConfigError) as caught:
        parse_suite(raw, source="s.yaml", root=ROOT)
    assert f"s.yaml: experiments[1].path: {broken}:1:27: not valid JSON" in caught.value.what


def test_the_last_rise_of_each_profile_matches_its_curve() -> None:
    """The budget check's table against the load profiles' own curves (loadprofiles/shape_curves.py)."""
    import sys

    from validator.config.suite_file import LAST_RISE

    sys.path.insert(0, str(ROOT / "loadprofiles"))
    try:
        from shape_curves import PROFILES  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    for name, profile in PROFILES.items():
        xs = [i / 1000 for i in range(1001)]
        levels = [profile.curve(x) for x in xs]
        rises = [x for x, before, now in zip(xs[1:], levels, levels[1:], strict=False) if now > before + 1e-9]
        assert LAST_RISE[name] == pytest.approx(max(rises, default=0.0), abs=0.002), name
