from __future__ import annotations

import pytest

from validator.sandbox.usage import CPU, MEMORY, OOM_KILL, parse_quantity, usage_patch

POD = {"spec": {"containers": [{"name": "agent", "resources": {"limits": {"memory": "16Gi", "cpu": "4"}}}]}}


@pytest.mark.parametrize(("text", "value"), [
    ("1500m", 1.5), ("2", 2.0), ("6Gi", 6 * 2**30), ("512Mi", 512 * 2**20), ("1k", 1000.0), ("1e3", 1000.0),
])
def test_parse_quantity(text: str, value: float) -> None:
    assert parse_quantity(text) == pytest.approx(value)


def test_usage_below_the_limit_sets_usage_only() -> None:
    patch = usage_patch(POD, cpu="1500m", memory="8Gi")
    assert patch == {"metadata": {"annotations": {CPU: "1500m", MEMORY: "8Gi"}}}


@pytest.mark.parametrize("memory", ["16Gi", "20Gi"], ids=["at-limit", "over-limit"])
def test_memory_reaching_the_limit_triggers_an_oom_kill(memory: str) -> None:
    annotations = usage_patch(POD, memory=memory)["metadata"]["annotations"]
    assert annotations[MEMORY] == memory
    assert OOM_KILL in annotations


def test_a_pod_without_limits_is_never_oom_killed_by_the_patch() -> None:
    assert OOM_KILL not in usage_patch({"spec": {"containers": [{"name": "c"}]}}, memory="64Gi")["metadata"][
        "annotations"]


def test_garbage_quantities_are_rejected_before_reaching_kwok() -> None:
    with pytest.raises(ValueError):
        usage_patch(POD, cpu="lots")
