"""registry: every criterion of criteria.md, its interface, and the overall verdict rule."""

from __future__ import annotations

import pytest

from tests.support.evidence import evidence
from validator.criteria import registry
from validator.criteria.promql import (
    PLACEHOLDERS,
    QueryRanges,
    rate_window_seconds,
    render_query,
    syntax_problems,
)
from validator.model import CriterionOutcome, CriterionOverride, Verdict

IDS = [
    "cpu_utilization",
    "memory_utilization",
    "oom_kills",
    "pvc_utilization",
    "scaling_latency",
    "controller_availability",
    "pdb_respected",
    "maintenance_disruption",
    "recovery_time",
    "graceful_degradation",
    "resource_isolation",
    "alert_accuracy",
    "capacity_forecast",
    "cost_efficiency",
]


def test_all_fourteen_in_document_order() -> None:
    assert list(registry.CRITERIA) == IDS


@pytest.mark.parametrize("cid", IDS)
def test_module_interface(cid: str) -> None:
    module = registry.CRITERIA[cid]
    assert cid == module.ID
    assert module.INFO is (cid in {"capacity_forecast", "cost_efficiency"})
    assert isinstance(module.PROMETHEUS_ONLY, bool)
    assert all(isinstance(v, float | int) for v in module.DEFAULTS.values())
    for key, promql in module.QUERIES.items():
        rendered = render_query(
            promql, agent_label="label_app_kubernetes_io_name", namespace_matcher='namespace="agents"'
        )
        assert all(p not in rendered for p in PLACEHOLDERS), key
        assert syntax_problems(rendered) == [], key
        empty = render_query(promql, agent_label="label_x", namespace_matcher="")
        assert syntax_problems(empty) == [], key


def test_every_criterion_answers_empty_evidence_with_inconclusive() -> None:
    summary = registry.evaluate_all(None, evidence())
    assert [c.id for c in summary.criteria] == IDS
    for outcome in summary.criteria:
        assert outcome.verdict is Verdict.INCONCLUSIVE, outcome.id
        assert all(r.value is None and r.detail for r in outcome.results), outcome.id
    assert summary.verdict is Verdict.INCONCLUSIVE


def test_query_keys_are_unique_in_meaning() -> None:
    queries = registry.all_queries()
    assert queries["cpu_usage_by_agent"] == registry.CRITERIA["cost_efficiency"].QUERIES["cpu_usage_by_agent"]
    assert "alerts_firing" in queries


def _outcome(cid: str, verdict: Verdict, info: bool = False) -> CriterionOutcome:
    return CriterionOutcome(id=cid, verdict=verdict, info=info)


P, F, U = Verdict.PASS, Verdict.FAIL, Verdict.INCONCLUSIVE  # U: undecided
OVERALL = [
    ("all-pass", [(P, False), (P, False)], P),
    ("one-fail", [(P, False), (F, False)], F),
    ("fail-beats-inconclusive", [(U, False), (F, False)], F),
    ("inconclusive-beats-pass", [(P, False), (U, False)], U),
    ("info-fail-ignored", [(P, False), (F, True)], P),
    ("info-inconclusive-ignored", [(P, False), (U, True)], P),
    ("nothing-judged-is-pass-of-nothing", [], P),
]


@pytest.mark.parametrize(("outcomes", "expected"), [c[1:] for c in OVERALL], ids=[c[0] for c in OVERALL])
def test_overall_verdict(outcomes, expected) -> None:
    assert (
        registry.overall_verdict([_outcome(f"c{i}", v, info) for i, (v, info) in enumerate(outcomes)])
        is expected
    )


def test_criterion_verdict_is_worst_of_scopes(monkeypatch: pytest.MonkeyPatch) -> None:
    from validator.model import Result

    def fake(spec, ev):
        return [
            Result(criterion=spec.id, scope={"agent": "a"}, verdict=Verdict.PASS, value=1),
            Result(criterion=spec.id, scope={"agent": "b"}, verdict=Verdict.INCONCLUSIVE, detail="x"),
        ]

    monkeypatch.setattr(registry.CRITERIA["cpu_utilization"], "evaluate", fake)
    summary = registry.evaluate_all(None, evidence(), only=["cpu_utilization"])
    assert summary.outcome("cpu_utilization").verdict is Verdict.INCONCLUSIVE
    assert [n.id for n in summary.not_evaluated] == IDS[1:]


def test_a_crashing_criterion_is_inconclusive_not_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(spec, ev):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(registry.CRITERIA["pvc_utilization"], "evaluate", boom)
    outcome = registry.evaluate_all(None, evidence()).outcome("pvc_utilization")
    assert outcome.verdict is Verdict.INCONCLUSIVE
    assert "internal error" in outcome.results[0].detail


def test_build_specs_layers_overrides_in_order() -> None:
    manifest_layer = {"recovery_time": CriterionOverride(thresholds={"max": 200})}
    file_layer = {
        "recovery_time": CriterionOverride(thresholds={"max": 100}),
        "capacity_forecast": CriterionOverride(info=False),
    }
    specs = registry.build_specs(manifest_layer, file_layer)
    assert specs["recovery_time"].thresholds["max"] == 100
    assert specs["recovery_time"].thresholds["queue_baseline_seconds"] == 300
    assert specs["capacity_forecast"].info is False
    assert specs["cost_efficiency"].info is True


def test_unknown_id_in_only_is_refused() -> None:
    with pytest.raises(KeyError, match="nope"):
        registry.evaluate_all(None, evidence(), only=["nope"])


def test_prometheus_only_ids() -> None:
    assert set(registry.prometheus_only_ids()) == {
        "cpu_utilization",
        "memory_utilization",
        "oom_kills",
        "pvc_utilization",
        "scaling_latency",
        "controller_availability",
        "capacity_forecast",
        "cost_efficiency",
        "resource_isolation",  # its throttling measure; its rejections need the watch
    }


def test_every_query_parses_in_promtool(tmp_path) -> None:
    """Prometheus's own parser (promtool, a Debian package `make test-unit` installs) accepts every query,
    with a namespace matcher and with an empty one (trailing comma)."""
    import shutil
    import subprocess

    import yaml

    promtool = shutil.which("promtool")
    assert promtool, "promtool not found: run `make debian` (Debian package prometheus)"
    rules = [
        {
            "record": f"{key}_{i}",
            "expr": render_query(promql, agent_label="label_app_kubernetes_io_name", namespace_matcher=m),
        }
        for key, promql in registry.all_queries().items()
        for i, m in enumerate(('namespace=~"agents|tools"', ""))
    ]
    path = tmp_path / "queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "criteria", "rules": rules}]}), encoding="utf-8")
    done = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(rules)} rules found" in done.stdout


def test_rate_windows_are_five_minutes_compressed_like_the_clock_but_never_under_four_steps() -> None:
    assert rate_window_seconds(1, 15) == 300  # a real cluster: the brief's 5m
    assert rate_window_seconds(30, 5) == 20  # the sandbox: 10 s would hold two scrapes at best
    assert rate_window_seconds(10, 5) == 30
    cpu = registry.CRITERIA["cpu_utilization"].QUERIES["cpu_usage_by_agent"]
    sandbox = QueryRanges.for_run(30, 5)
    assert "[20s]" in render_query(cpu, agent_label="l", namespace_matcher="", ranges=sandbox)
    assert "[300s]" in render_query(cpu, agent_label="l", namespace_matcher="")


def test_forecast_looks_back_a_week_of_cluster_time_hourly() -> None:
    history = registry.CRITERIA["capacity_forecast"].QUERIES["quota_history"]
    real = render_query(history, agent_label="l", namespace_matcher="")
    assert "[604800s:3600s]" in real  # a week, hourly
    sandbox = QueryRanges.for_run(30, 5)
    assert "[20160s:120s]" in render_query(history, agent_label="l", namespace_matcher="", ranges=sandbox)
