"""Which pods a drain evicts: never DaemonSet, mirror, finished or already-terminating pods."""

from __future__ import annotations

import random
from typing import Any

import pytest

from validator.chaos.targets import drainable, sample


def pod(**kw: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p", "namespace": "agents"}
    status: dict[str, Any] = {"phase": kw.get("phase", "Running")}
    if kw.get("owner"):
        meta["ownerReferences"] = [{"kind": kw["owner"], "name": "o", "controller": True}]
    if kw.get("mirror"):
        meta["annotations"] = {"kubernetes.io/config.mirror": "abc"}
    if kw.get("deleting"):
        meta["deletionTimestamp"] = "2026-11-27T00:00:00Z"
    return {"metadata": meta, "status": status}


@pytest.mark.parametrize(
    ("kwargs", "evict", "why"),
    [
        ({"owner": "ReplicaSet"}, True, ""),
        ({}, True, ""),
        ({"owner": "StatefulSet"}, True, ""),
        ({"owner": "DaemonSet"}, False, "DaemonSet pod"),
        ({"mirror": True}, False, "mirror pod"),
        ({"phase": "Succeeded"}, False, "finished pod"),
        ({"phase": "Failed"}, False, "finished pod"),
        ({"deleting": True}, False, "already terminating"),
    ],
)
def test_drainable(kwargs: dict[str, Any], evict: bool, why: str) -> None:
    assert drainable(pod(**kwargs)) == (evict, why)


def test_sample_is_without_replacement() -> None:
    for seed in range(50):
        chosen = sample(list(range(5)), 3, random.Random(seed))
        assert len(set(chosen)) == 3
    assert sorted(sample([1, 2], 5)) == [1, 2]
