"""The one label-selector implementation (validator.model.label_selector) answers as the apiserver
does: for each selector, the pods it matches among a namespace's pods are exactly those the
apiserver lists for it; and a PodDisruptionBudget's empty selector covers every pod of the
namespace while a missing one covers none, as the disruption controller counts them."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes import client

from tests.support.cluster import Sandbox, wait_until
from validator.model.label_selector import LabelSelector

pytestmark = pytest.mark.sandbox

PODS = {
    "a": {"app": "rex", "tier": "agent", "zone": "z1"},
    "b": {"app": "rex", "tier": "controller"},
    "c": {"app": "cleo", "tier": "agent", "zone": "z2"},
    "d": {"app": "tess"},
    "e": {},
}

SELECTORS: list[Any] = [
    "app=rex",
    "app==rex,tier=agent",
    "app!=rex",
    "app in (rex, tess)",
    "app notin (rex)",
    "zone",
    "!zone",
    "app=rex,!zone",
    "tier notin (agent),app",
    "",
    {"matchLabels": {"app": "cleo"}},
    {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["agent", "controller"]}]},
    {"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["z1"]}]},
    {"matchLabels": {"app": "rex"}, "matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]},
    {
        "matchExpressions": [
            {"key": "tier", "operator": "Exists"},
            {"key": "app", "operator": "NotIn", "values": ["cleo"]},
        ]
    },
    {},
]


@pytest.fixture
def labelled_pods(sandbox: Sandbox, namespace: str) -> dict[str, dict[str, str]]:
    for name, labels in PODS.items():
        sandbox.core.create_namespaced_pod(
            namespace,
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "labels": labels},
                "spec": {
                    "nodeSelector": {"node-pool": "system"},
                    "containers": [{"name": "main", "image": "registry.invalid/sim:1"}],
                },
            },
        )
    # the labels as the apiserver stores them
    return {
        p.metadata.name: dict(p.metadata.labels or {})
        for p in sandbox.core.list_namespaced_pod(namespace).items
    }


@pytest.mark.parametrize("selector", SELECTORS, ids=[str(s) or "empty" for s in SELECTORS])
def test_selector_matches_what_the_apiserver_lists(
    sandbox: Sandbox, namespace: str, labelled_pods: dict[str, dict[str, str]], selector: Any
) -> None:
    parsed = LabelSelector.parse(selector) if isinstance(selector, str) else LabelSelector.from_api(selector)
    ours = {name for name, labels in labelled_pods.items() if parsed.matches(labels)}
    listed = {
        p.metadata.name
        for p in sandbox.core.list_namespaced_pod(namespace, label_selector=parsed.render()).items
    }
    assert ours == listed


def test_a_budget_without_a_selector_covers_nothing_and_an_empty_one_everything(
    sandbox: Sandbox, namespace: str
) -> None:
    sandbox.apps.create_namespaced_deployment(
        namespace,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "w"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "w"}},
                "template": {
                    "metadata": {"labels": {"app": "w"}},
                    "spec": {
                        "nodeSelector": {"node-pool": "system"},
                        "containers": [{"name": "main", "image": "registry.invalid/sim:1"}],
                    },
                },
            },
        },
    )
    policy = client.PolicyV1Api(sandbox.api)
    for name, spec in (
        ("everything", {"selector": {}, "maxUnavailable": 1}),
        ("nothing", {"maxUnavailable": 1}),
    ):
        policy.create_namespaced_pod_disruption_budget(
            namespace,
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": {"name": name},
                "spec": spec,
            },
        )

    def expected(name: str) -> int | None:
        status = policy.read_namespaced_pod_disruption_budget(name, namespace).status
        return (
            None if status is None or status.observed_generation is None else int(status.expected_pods or 0)
        )

    wait_until(
        "the disruption controller counted both budgets", lambda: expected("everything") == 2, timeout_s=60
    )
    wait_until("the selector-less budget observed", lambda: expected("nothing") is not None, timeout_s=60)
    labels = [dict(p.metadata.labels or {}) for p in sandbox.core.list_namespaced_pod(namespace).items]
    assert expected("nothing") == 0 and not any(LabelSelector.from_api(None).matches(x) for x in labels)
    assert expected("everything") == len(labels) == 2 and all(
        LabelSelector.from_api({}).matches(x) for x in labels
    )
