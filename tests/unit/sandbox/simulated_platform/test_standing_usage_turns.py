"""The stand-in writes the usage of the platform's standing agent replicas in turns, within a
write budget of its own: at thousands of replicas (issue 14's scaled platform) each one gets its
usage, in turn, instead of the first ones watched taking the budget every interval.

The apiserver is replaced by a recorder of the patches and the budget by a fixed number of writes
per pass: what is under test is whom the stand-in writes, and when, when the budget runs out, which
the real apiserver cannot be made to produce on demand. The writes themselves, against a real
control plane, are tests/cluster's simulated-platform tests and benchmarks/nightly_at_scale.py.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from validator.sandbox.simulated_platform.cluster_driver import ClusterDriver, DriverOptions
from validator.sandbox.simulated_platform.workflow_book import WorkflowBook

INTERVAL = 15.0


class _Patches:
    def __init__(self) -> None:
        self.written: list[str] = []

    def patch_namespaced_pod(self, name: str, namespace: str, body: dict[str, Any]) -> None:
        assert body["metadata"]["annotations"], body
        self.written.append(name)


class _Budget:
    """`per_pass` writes, then none until `refill`."""

    def __init__(self, per_pass: int) -> None:
        self.per_pass, self.left = per_pass, per_pass

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True

    def refill(self) -> None:
        self.left = self.per_pass


def _pod(name: str, cpu: str | None = None) -> dict[str, Any]:
    annotations = {} if cpu is None else {"sim.validator.io/cpu": cpu}
    return {
        "metadata": {
            "name": name,
            "namespace": "agents",
            "resourceVersion": "1",
            "labels": {"agent-platform.io/agent-class": "testing"},
            "annotations": annotations,
        },
        "spec": {"volumes": []},
        "status": {"phase": "Running"},
    }


def _driver(per_pass: int) -> tuple[ClusterDriver, _Patches, _Budget]:
    driver = ClusterDriver(
        WorkflowBook(capacity=10), client.ApiClient(), DriverOptions(usage_interval_s=INTERVAL, seed=1)
    )
    patches, budget = _Patches(), _Budget(per_pass)
    driver.core = patches
    driver._standing_bucket = budget  # type: ignore[assignment]
    return driver, patches, budget


def test_every_replica_gets_its_usage_in_turn_when_the_budget_covers_a_few() -> None:
    driver, patches, budget = _driver(per_pass=7)
    for i in range(100):
        driver._standing_event("ADDED", _pod(f"tess-{i}"))
    now = 1e9  # every new replica's first turn is due at once
    passes = 0
    while len(set(patches.written)) < 100:
        driver._refresh_standing_usage(now)
        budget.refill()
        passes += 1
        assert passes <= 15, f"after {passes} passes only {len(set(patches.written))} of 100 written"
    assert passes == 15  # ceil(100 / 7): the budget, all of it, went to replicas not yet written
    assert len(patches.written) == 100, "no replica written twice before every one was written once"


def test_a_replica_is_written_again_an_interval_after_its_last_write_not_before() -> None:
    driver, patches, budget = _driver(per_pass=100)
    driver._standing_event("ADDED", _pod("rex-0"))
    driver._standing_event("ADDED", _pod("rex-1", cpu="1500m"))  # already has usage: its turn is later
    start = driver._standing_due[0][0]
    driver._refresh_standing_usage(start)
    assert patches.written == ["rex-0"]
    budget.refill()
    driver._standing_event("MODIFIED", _pod("rex-0", cpu="1400m"))  # its own write, watched back
    driver._refresh_standing_usage(start + INTERVAL - 1)
    assert patches.written == ["rex-0"]
    driver._refresh_standing_usage(start + INTERVAL + 1)
    assert sorted(patches.written) == ["rex-0", "rex-0", "rex-1"]


def test_a_replica_that_goes_is_not_written_and_one_that_comes_back_is_written_once() -> None:
    driver, patches, _ = _driver(per_pass=100)
    driver._standing_event("ADDED", _pod("tess-0", cpu="900m"))
    driver._standing_event("DELETED", _pod("tess-0", cpu="900m"))  # evicted
    driver._standing_event("ADDED", _pod("tess-0"))  # its replacement, no usage yet
    driver._refresh_standing_usage(driver._standing_due[-1][0] + 3 * INTERVAL)
    assert patches.written == ["tess-0"], "the evicted pod's lapsed turn is not a second write"


def test_thousands_of_replicas_are_rewritten_no_faster_than_the_rewrite_rate() -> None:
    """Every replica gets its first usage as fast as the budget allows, but once they all have it,
    2,000 replicas are rewritten at most `standing_rewrites_per_s` a second in all: every rewrite
    of a pod wakes its StatefulSet's and budget's controllers."""
    driver, patches, _ = _driver(per_pass=10_000)
    for i in range(2000):
        driver._standing_event("ADDED", _pod(f"rex-{i}"))
    start = max(at for at, _ in driver._standing_due)
    driver._refresh_standing_usage(start)
    assert len(patches.written) == 2000  # the first writes: all at once, the budget allowing
    patches.written.clear()
    rate = driver.options.standing_rewrites_per_s
    for second in range(1, 1001):  # ~17 minutes of passes, one a second
        driver._refresh_standing_usage(start + second)
    assert patches.written, "rewritten in turn"
    assert len(patches.written) <= 1000 * rate  # 2,000 / 4 a second: each every 500 s
    assert len(set(patches.written)) == 2000, "every one of them rewritten within the 1,000 s"


def test_a_few_replicas_keep_the_usage_interval() -> None:
    driver, patches, _ = _driver(per_pass=100)
    for i in range(6):
        driver._standing_event("ADDED", _pod(f"cleo-{i}"))
    start = max(at for at, _ in driver._standing_due)
    driver._refresh_standing_usage(start)
    patches.written.clear()
    driver._refresh_standing_usage(start + INTERVAL + 1)
    assert len(patches.written) == 6
