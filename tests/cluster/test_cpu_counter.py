"""The sandbox's CPU counter against the cluster's own clock (docs/sandbox-contract.md).

`container_cpu_usage_seconds_total` is a function of time and the pod's own annotations and status,
read straight from kwok's endpoint (the one Prometheus and metrics-server scrape) and from
Prometheus:

- a running pod, once its counter has caught up (6 s after its start): its CPU annotation x the
  time since its recorded start time (`status.startTime`, whole seconds), between the clock read
  just before and just after the scrape, to the millicore-second (kwok's Quantity arithmetic
  truncates to millis);
- a stage pod (`complete-after`): stops at CPU x complete-after, to the millicore-second, and
  Prometheus holds all of it, its first sample of the pod at 0;
- a CPU change through `usage_patch` (how the simulated platform and the chaos actions change it):
  the counter never decreases, and takes the new rate once the switch time has passed; Prometheus
  sees no reset.
"""

from __future__ import annotations

import itertools
import json
import re
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.cluster import Sandbox, wait_until
from validator.sandbox.kwokctl_driver import kwok_components
from validator.sandbox.usage import (
    COMPLETE_AFTER,
    COUNTER_DELAY_S,
    CPU,
    CPU_SINCE,
    epoch_seconds,
    usage_patch,
)

pytestmark = pytest.mark.sandbox

MILLI = 0.001  # kwok computes with Quantities truncated to millicore-seconds
_SAMPLE = re.compile(r"^container_cpu_usage_seconds_total\{(.*)\} (\S+)$")


@dataclass(frozen=True)
class Read:
    before: float  # this machine's clock just before the scrape (kwok's clock: the same machine)
    after: float  # and just after
    containers: dict[str, float]  # container name -> counter


def _kwok_url(sandbox: Sandbox) -> str:
    for component in kwok_components(Path(sandbox.info.state_dir), sandbox.info.name):
        if component.get("name") == "kwok-controller":
            return f"http://{component['metric']['host']}"
    raise AssertionError("the sandbox has no kwok-controller component")


def _pod(sandbox: Sandbox, namespace: str, name: str) -> dict[str, Any]:
    return dict(sandbox.api.sanitize_for_serialization(sandbox.core.read_namespaced_pod(name, namespace)))


def _read(sandbox: Sandbox, namespace: str, name: str, node: str) -> Read:
    url = f"{_kwok_url(sandbox)}/metrics/nodes/{node}/metrics/resource"
    before = time.time()
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    after = time.time()
    containers: dict[str, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match or f'namespace="{namespace}"' not in match[1] or f'pod="{name}"' not in match[1]:
            continue
        containers[re.search(r'container="([^"]*)"', match[1])[1]] = float(match[2])  # type: ignore[index]
    return Read(before, after, containers)


def _prometheus(sandbox: Sandbox, promql: str) -> list[dict[str, Any]]:
    url = f"{sandbox.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.load(response)
    assert body["status"] == "success", body
    return list(body["data"]["result"])


@pytest.fixture(scope="module")
def scraped(sandbox: Sandbox) -> Sandbox:
    """The sandbox once Prometheus scrapes every node (kwok's targets are discovered every 5 s: on a
    sandbox just started, a pod's first seconds could otherwise go unscraped)."""
    nodes = [node.metadata.name for node in sandbox.core.list_node().items]
    paths = {f"/metrics/nodes/{name}/metrics/resource" for name in nodes}

    def every_node_scraped() -> bool:
        with urllib.request.urlopen(f"{sandbox.prometheus_url}/api/v1/targets", timeout=10) as response:
            targets = json.load(response)["data"]["activeTargets"]
        healthy = {urllib.parse.urlparse(t["scrapeUrl"]).path for t in targets if t["health"] == "up"}
        return paths <= healthy

    wait_until("Prometheus scraping every node", every_node_scraped, timeout_s=60)
    return sandbox


def _create(
    sandbox: Sandbox, namespace: str, name: str, annotations: dict[str, str]
) -> tuple[dict[str, Any], str]:
    sandbox.core.create_namespaced_pod(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "annotations": annotations},
            "spec": {
                "restartPolicy": "Never",
                "nodeSelector": {"node-pool": "quality"},
                "terminationGracePeriodSeconds": 0,
                "containers": [
                    {"name": "agent", "image": "registry.invalid/sim:1"},
                    {"name": "sidecar", "image": "registry.invalid/sim:1"},
                ],
            },
        },
    )
    pod = wait_until(
        f"pod {name} started",
        lambda: (p := _pod(sandbox, namespace, name))["status"].get("startTime") and p,
    )
    return pod, pod["spec"]["nodeName"]


def test_a_running_pods_counter_is_its_cpu_times_its_time_since_start(
    scraped: Sandbox, namespace: str
) -> None:
    sandbox = scraped
    pod, node = _create(sandbox, namespace, "steady", {CPU: "1500m"})
    started = epoch_seconds(pod["status"]["startTime"])
    reads = []
    while len(reads) < 6:
        read = _read(sandbox, namespace, "steady", node)
        assert set(read.containers) == {"agent", "sidecar"}
        if read.before > started + 2 * COUNTER_DELAY_S:  # caught up
            reads.append(read)
        time.sleep(0.3)
    for read in reads:
        low = 1.5 * (read.before - started) - MILLI
        high = 1.5 * (read.after - started)
        for value in read.containers.values():
            assert low <= value <= high, (low, value, high)


def test_a_stage_pods_counter_stops_at_cpu_times_its_duration_and_prometheus_holds_it_all(
    scraped: Sandbox, namespace: str
) -> None:
    """A 3 s stage, as short as the nightly's shortest reviews: nothing lost at either end."""
    sandbox = scraped
    _, node = _create(sandbox, namespace, "review", {CPU: "700m", COMPLETE_AFTER: "3s"})
    wait_until(
        "the stage pod Succeeded",
        lambda: _pod(sandbox, namespace, "review")["status"]["phase"] == "Succeeded",
        timeout_s=60,
    )
    expected = 0.7 * 3
    final = wait_until(
        "the finished pod's counter at its end",
        lambda: (
            (r := _read(sandbox, namespace, "review", node)).containers.get("agent")
            == pytest.approx(expected, abs=MILLI)
            and r
        ),
        timeout_s=30,
    )
    assert final.containers["sidecar"] == pytest.approx(expected, abs=MILLI)
    selector = f'container_cpu_usage_seconds_total{{namespace="{namespace}",pod="review",container="agent"}}'
    wait_until(
        "Prometheus to hold the pod's final counter",
        lambda: (
            (r := _prometheus(sandbox, f"max_over_time({selector}[2m])"))
            and float(r[0]["value"][1]) == pytest.approx(expected, abs=MILLI)
        ),
        timeout_s=30,
    )
    first = _prometheus(sandbox, f"min_over_time({selector}[2m])")
    assert float(first[0]["value"][1]) == 0.0, "Prometheus's first sample of the pod must read 0"
    time.sleep(3)  # a few more scrapes: the counter stays where it stopped
    assert _read(sandbox, namespace, "review", node).containers["agent"] == pytest.approx(expected, abs=MILLI)


@pytest.mark.parametrize(("old", "new"), [("1500m", "300m"), ("300m", "2")], ids=["down", "up"])
def test_a_cpu_change_keeps_the_counter_monotonic_and_takes_the_new_rate(
    scraped: Sandbox, namespace: str, old: str, new: str
) -> None:
    sandbox = scraped
    _, node = _create(sandbox, namespace, "agent", {CPU: old})
    wait_until(
        "the counter counting", lambda: _read(sandbox, namespace, "agent", node).containers.get("agent")
    )
    reads = [_read(sandbox, namespace, "agent", node)]
    patch = usage_patch(_pod(sandbox, namespace, "agent"), cpu=new)
    sandbox.core.patch_namespaced_pod("agent", namespace, patch)
    since = float(patch["metadata"]["annotations"][CPU_SINCE])
    while reads[-1].before < since + 2.5:
        time.sleep(0.1)
        reads.append(_read(sandbox, namespace, "agent", node))
    values = [r.containers["agent"] for r in reads]
    assert all(b >= a for a, b in itertools.pairwise(values)), values
    rate = float(new.removesuffix("m")) / 1000 if new.endswith("m") else float(new)
    after = [r for r in reads if r.before > since]
    a, b = after[0], after[-1]
    moved = b.containers["agent"] - a.containers["agent"]
    assert rate * (b.before - a.after) - 2 * MILLI <= moved <= rate * (b.after - a.before) + 2 * MILLI
    time.sleep(2)  # Prometheus scrapes every second: the switch is in its samples
    resets = _prometheus(
        sandbox, f'resets(container_cpu_usage_seconds_total{{namespace="{namespace}",pod="agent"}}[1m])'
    )
    assert resets and all(float(r["value"][1]) == 0 for r in resets), resets
