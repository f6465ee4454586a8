"""The workflow mix: sizes, their agent stages in order, durations, think times, templates."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from workflow_mix import (
    THINK_TIME_S,
    WORKFLOW_MIX,
    choose_size,
    plan_workflow,
    render_template,
    template_values,
    think_time,
)


def test_the_mix_spans_single_file_changes_to_multi_service_refactors() -> None:
    names = [s.name for s in WORKFLOW_MIX]
    assert names[0] == "single-file-change" and names[-1] == "multi-service-refactor"
    assert abs(sum(s.weight for s in WORKFLOW_MIX) - 1.0) < 1e-9
    longest = [sum(hi for _, hi in (st.duration_s for st in s.stages)) for s in WORKFLOW_MIX]
    assert longest == sorted(longest), "bigger workflows take longer"


@pytest.mark.parametrize("size", WORKFLOW_MIX, ids=lambda s: s.name)
def test_every_plan_is_rex_or_blaze_then_cleo_then_tess(size: object) -> None:
    rng = random.Random(7)
    implementers = set()
    for _ in range(50):
        plan = plan_workflow(size, rng)  # type: ignore[arg-type]
        agents = [s.agent for s in plan.stages]
        assert agents[1:] == ["cleo", "tess"] and agents[0] in ("rex", "blaze")
        assert [s.agent_class for s in plan.stages] == ["implementation", "quality", "testing"]
        implementers.add(agents[0])
        for stage, spec in zip(plan.stages, size.stages, strict=True):  # type: ignore[attr-defined]
            assert spec.duration_s[0] <= stage.duration_s <= spec.duration_s[1]
    assert implementers == {"rex", "blaze"}


def test_compressed_time_divides_stage_durations_and_think_times() -> None:
    plan = plan_workflow(WORKFLOW_MIX[0], random.Random(1), time_factor=60)
    assert all(5 <= s.wall_s <= 15 for s in plan.stages[:1])
    # the payload keeps real-cluster seconds: the simulated platform compresses with its own factor
    assert all(300 <= s["duration_s"] <= 900 for s in plan.payload()["stages"][:1])
    waits = [think_time(random.Random(i), 60) for i in range(100)]
    assert all(THINK_TIME_S[0] / 60 <= w <= THINK_TIME_S[1] / 60 for w in waits)
    with pytest.raises(ValueError):
        plan_workflow(WORKFLOW_MIX[0], random.Random(1), time_factor=0)


def test_sizes_are_drawn_by_weight() -> None:
    rng = random.Random(3)
    counts = Counter(choose_size(rng).name for _ in range(4000))
    for size in WORKFLOW_MIX:
        assert abs(counts[size.name] / 4000 - size.weight) < 0.03


def test_payload_is_what_the_simulated_api_accepts() -> None:
    plan = plan_workflow(WORKFLOW_MIX[1], random.Random(2))
    payload = plan.payload()
    assert payload["size"] == "multi-file-feature"
    assert [s["agent"] for s in payload["stages"]][1:] == ["cleo", "tess"]


def test_templates_fill_typed_and_embedded_placeholders() -> None:
    plan = plan_workflow(WORKFLOW_MIX[0], random.Random(2))
    values = template_values(plan, "wf-1", 1700000000000)
    body = render_template({"kind": "Workflow", "metadata": {"name": "{{workflow_name}}"},
                            "spec": {"size": "{{size}}", "stages": "{{stages}}",
                                     "note": "at {{submitted_at_ms}}", "n": 3}}, values)
    assert body["metadata"]["name"] == "wf-1"
    assert body["spec"]["stages"] == plan.payload()["stages"]
    assert body["spec"]["note"] == "at 1700000000000" and body["spec"]["n"] == 3
    assert render_template({"at": "{{submitted_at_ms|string}}"}, values) == {"at": "1700000000000"}
    with pytest.raises(KeyError, match="sise"):
        render_template({"size": "{{sise}}"}, values)
