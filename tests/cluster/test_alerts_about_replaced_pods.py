"""An alert left firing about a pod that is gone hides nothing: before its window opens a run waits
for the expected alerts an earlier run left firing (tests/unit/run/test_alerts_left_firing.py), but
not for one that names, by uid, a pod no longer in its namespace. A restart-count rule keeps firing
for its whole range after the pod is replaced, and the alert about the replacement is another
series, a firing of its own.

The pods are the apiserver's (a real one, and the uid of one deleted); the alerts a real
Prometheus's, from rules that carry those labels."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from rich.console import Console

from tests.support import servers
from tests.support.cluster import wait_until
from validator.run.preflight import about_live_pods, wait_for_expected_alerts_to_clear

RULES = """\
groups:
  - name: left-over
    rules:
      - alert: ContainerOOMKilled
        expr: vector(1)
        labels: {{namespace: {namespace}, pod: agent-0, uid: "{live}"}}
      - alert: PodRestartStorm
        expr: vector(1)
        labels: {{namespace: {namespace}, pod: agent-0, uid: "{gone}"}}
      - alert: AgentResourcePressure
        expr: vector(1)
        labels: {{namespace: {namespace}, pod: agent-0}}
      - alert: ControllerDown
        expr: vector(1)
        labels: {{namespace: elsewhere, pod: c-0, uid: "{gone}"}}
"""


def _pod(sandbox: Any, namespace: str) -> str:
    body = client.V1Pod(
        metadata=client.V1ObjectMeta(name="agent-0"),
        spec=client.V1PodSpec(containers=[client.V1Container(name="agent", image="registry.invalid/a:1")]),
    )
    return str(sandbox.core.create_namespaced_pod(namespace, body).metadata.uid)


@pytest.fixture
def replaced(sandbox: Any, namespace: str) -> tuple[str, str]:
    """agent-0 created, deleted and created again: (the live uid, the gone one)."""
    gone = _pod(sandbox, namespace)
    sandbox.core.delete_namespaced_pod("agent-0", namespace, grace_period_seconds=0)
    wait_until(
        "agent-0 deleted",
        lambda: not sandbox.core.list_namespaced_pod(namespace, field_selector="metadata.name=agent-0").items,
    )
    return _pod(sandbox, namespace), gone


@pytest.fixture
def prometheus(tmp_path: Path, namespace: str, replaced: tuple[str, str]) -> Iterator[str]:
    live, gone = replaced
    rules = RULES.format(namespace=namespace, live=live, gone=gone)
    for url in servers.prometheus_with_rules(tmp_path, rules):
        servers.wait_for(url, 'ALERTS{alertstate="firing",alertname="ControllerDown"}')
        yield url


def test_an_alert_about_a_replaced_pod_is_named_and_not_waited_for(
    sandbox: Any, namespace: str, prometheus: str
) -> None:
    out = io.StringIO()
    left = wait_for_expected_alerts_to_clear(
        prometheus,
        ["ContainerOOMKilled", "PodRestartStorm", "AgentResourcePressure", "ControllerDown"],
        Console(file=out, width=400),
        timeout_s=2,
        about_live=about_live_pods(sandbox.api, [namespace]),
    )
    said = out.getvalue()
    # about the live pod, by uid; without a uid (cannot tell); outside the run's namespaces: waited for
    assert left == [
        f"AgentResourcePressure ({namespace}/agent-0)",
        f"ContainerOOMKilled ({namespace}/agent-0)",
        "ControllerDown (elsewhere/c-0)",
    ], said
    assert "not waited for, about a pod since replaced (the alert about its replacement would be" in said
    assert f"of its own): PodRestartStorm ({namespace}/agent-0)\n" in said, said


def test_when_only_alerts_about_replaced_pods_fire_nothing_is_waited_for(
    sandbox: Any, namespace: str, prometheus: str
) -> None:
    out = io.StringIO()
    left = wait_for_expected_alerts_to_clear(
        prometheus,
        ["PodRestartStorm"],
        Console(file=out, width=400),
        timeout_s=600,
        about_live=about_live_pods(sandbox.api, [namespace]),
    )
    assert left == []
    assert "waiting" not in out.getvalue() and "PodRestartStorm" in out.getvalue()
