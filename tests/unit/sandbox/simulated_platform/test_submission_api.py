"""The simulated platform without a cluster: submissions, the queue, /metrics, pod manifests, usage."""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from validator.errors import SandboxError, UnsafeOperation
from validator.sandbox.simulated_platform.agent_pods import (
    PROFILES,
    agent_pod,
    agent_template,
    complete_after,
    controller_usage,
    differs_enough,
    held_by_chaos,
    memory_peak,
    most_memory,
    sample_usage,
    standing_agent_usage,
    throttled_share,
)
from validator.sandbox.simulated_platform.cluster_driver import queue_limit
from validator.sandbox.simulated_platform.platform_process import PlatformSettings, SimulatedPlatformProcess
from validator.sandbox.simulated_platform.submission_api import SubmissionApi
from validator.sandbox.simulated_platform.workflow_book import (
    QueueFull,
    SubmissionInvalid,
    WorkflowBook,
    parse_submission,
)
from validator.sandbox.usage import parse_quantity

STAGES = [{"agent": "blaze", "duration_s": 60}, {"agent": "cleo", "duration_s": 30},
          {"agent": "tess", "duration_s": 45}]


@pytest.fixture
def api() -> Iterator[tuple[str, WorkflowBook]]:
    book = WorkflowBook(capacity=3)
    server = SubmissionApi(book)
    server.start()
    yield server.url, book
    server.stop()


def _call(url: str, method: str = "GET", body: Any = None) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def _metrics(url: str) -> dict[str, float]:
    status, headers, body = _call(f"{url}/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    values = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            values[name] = float(value)
    return values


def test_submissions_queue_until_full_then_429(api: tuple[str, WorkflowBook]) -> None:
    url, _ = api
    ids = []
    for _ in range(3):
        status, _, body = _call(f"{url}/workflows", "POST", {"size": "single-file-change", "stages": STAGES})
        assert status == 202
        ids.append(json.loads(body)["id"])
    status, headers, _ = _call(f"{url}/workflows", "POST", {"size": "single-file-change"})
    assert status == 429 and headers["Retry-After"] == "5"
    metrics = _metrics(url)
    assert metrics["workflow_queue_depth"] == 3
    assert metrics["workflow_submitted_total"] == 3
    assert metrics['workflow_rejected_total{reason="queue_full"}'] == 1
    status, _, body = _call(f"{url}/workflows/{ids[0]}")
    workflow = json.loads(body)
    assert status == 200 and workflow["state"] == "queued"
    assert [s["agent"] for s in workflow["stages"]] == ["blaze", "cleo", "tess"]


def test_dispatch_moves_workflows_in_flight_and_observes_latency(api: tuple[str, WorkflowBook]) -> None:
    url, book = api
    _call(f"{url}/workflows", "POST", {"size": "s", "stages": STAGES})
    workflow = book.take_next()
    assert workflow is not None
    book.pod_created(workflow.id, 0, "blaze-x")
    book.pod_running(workflow.id, "blaze-x")
    metrics = _metrics(url)
    assert metrics["workflow_queue_depth"] == 0
    assert metrics['workflow_in_flight{agent="blaze",phase="running",stage="implementation"}'] == 1
    assert metrics["workflow_dispatch_latency_seconds_count"] == 1
    assert metrics['workflow_dispatch_latency_seconds_bucket{le="+Inf"}'] == 1
    assert book.stage_succeeded(workflow.id, "blaze-x") == 1
    book.pod_created(workflow.id, 1, "cleo-x")
    assert book.stage_lost(workflow.id, "cleo-old", "deleted") is None, "events of other pods are ignored"
    assert book.stage_lost(workflow.id, "cleo-x", "Evicted") == 1
    book.pod_created(workflow.id, 1, "cleo-y")
    assert book.stage_succeeded(workflow.id, "cleo-y") == 2
    book.pod_created(workflow.id, 2, "tess-x")
    assert book.stage_succeeded(workflow.id, "tess-x") is None
    metrics = _metrics(url)
    assert metrics["workflow_completed_total"] == 1 and metrics["workflow_stage_retries_total"] == 1


def test_a_stage_that_keeps_losing_pods_fails_the_workflow() -> None:
    book = WorkflowBook(capacity=5)
    size, stages = parse_submission({"size": "s", "stages": STAGES})
    workflow = book.submit(size, stages)
    book.take_next()
    for attempt in range(3):
        book.pod_created(workflow.id, 0, f"p{attempt}")
        retry = book.stage_lost(workflow.id, f"p{attempt}", "Failed")
    assert retry is None
    snapshot = book.get(workflow.id)
    assert snapshot is not None and snapshot["state"] == "failed" and "lost 3 pods" in snapshot["reason"]
    assert book.failed == 1


@pytest.mark.parametrize(("body", "message"), [
    ([], "JSON object"),
    ({"stages": STAGES}, "'size'"),
    ({"size": "unknown-size"}, "no default stages"),
    ({"size": "s", "stages": STAGES[:2]}, "must list 3 stages"),
    ({"size": "s", "stages": [STAGES[1], STAGES[0], STAGES[2]]}, "stages[0].agent"),
    ({"size": "s", "stages": [{"agent": "rex", "duration_s": -1}, *STAGES[1:]]}, "duration_s"),
    ({"size": "s", "stages": [{"agent": "rex", "duration_s": True}, *STAGES[1:]]}, "duration_s"),
])
def test_invalid_submissions_say_which_field(body: Any, message: str) -> None:
    with pytest.raises(SubmissionInvalid, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_submission(body)


def test_invalid_body_is_400_and_counted(api: tuple[str, WorkflowBook]) -> None:
    url, _ = api
    status, _, body = _call(f"{url}/workflows", "POST", {"size": 3})
    assert status == 400 and "size" in json.loads(body)["error"]
    assert _metrics(url)['workflow_rejected_total{reason="invalid"}'] == 1
    assert _call(f"{url}/nothing")[0] == 404
    assert _call(f"{url}/healthz")[0] == 200


def test_size_only_submissions_get_default_stages() -> None:
    size, stages = parse_submission({"size": "service-refactor"})
    assert size == "service-refactor"
    assert stages[0].agent in ("rex", "blaze") and [s.agent for s in stages[1:]] == ["cleo", "tess"]


def test_shutting_down_answers_503(api: tuple[str, WorkflowBook]) -> None:
    url, book = api
    book.accepting = False
    assert _call(f"{url}/workflows", "POST", {"size": "single-file-change"})[0] == 503


def test_queue_full_is_raised_by_the_book() -> None:
    book = WorkflowBook(capacity=1)
    book.submit("s", ())
    with pytest.raises(QueueFull, match="capacity 1"):
        book.submit("s", ())


def test_the_api_binds_loopback_only() -> None:
    with pytest.raises(UnsafeOperation, match="loopback"):
        SubmissionApi(WorkflowBook(capacity=1), host="0.0.0.0")


@pytest.mark.parametrize(("agent", "agent_class", "pool", "requests", "limits", "priority"), [
    ("rex", "implementation", "implementation", ("2", "8Gi"), ("4", "16Gi"), "agent-high-priority"),
    ("blaze", "implementation", "implementation", ("2", "8Gi"), ("4", "16Gi"), "agent-high-priority"),
    ("cleo", "quality", "quality", ("1", "4Gi"), ("2", "8Gi"), "agent-standard-priority"),
    ("tess", "testing", "testing", ("2", "8Gi"), ("4", "16Gi"), "agent-high-priority"),
])
def test_agent_pods_carry_the_brief_profile(agent: str, agent_class: str, pool: str,
                                            requests: tuple[str, str], limits: tuple[str, str],
                                            priority: str) -> None:
    pod = agent_pod(workflow_id="wf-1", agent=agent, agent_class=agent_class, stage_index=0, attempt=1,
                    duration_s=600, time_factor=20, namespace="agents", rng=random.Random(1),
                    with_priority_class=True)
    labels = pod["metadata"]["labels"]
    assert labels["app.kubernetes.io/name"] == agent
    assert labels["app.kubernetes.io/component"] == "workflow-stage"  # outside the agents' budgets
    assert labels["workflow-id"] == "wf-1"
    assert labels["app.kubernetes.io/managed-by"] == "validator-simulated-platform"
    assert pod["spec"]["nodeSelector"] == {"node-pool": pool}
    resources = pod["spec"]["containers"][0]["resources"]
    assert (resources["requests"]["cpu"], resources["requests"]["memory"]) == requests
    assert (resources["limits"]["cpu"], resources["limits"]["memory"]) == limits
    assert pod["spec"]["priorityClassName"] == priority
    annotations = pod["metadata"]["annotations"]
    assert annotations["sim.validator.io/complete-after"] == "30s"
    assert parse_quantity(annotations["sim.validator.io/memory"]) < parse_quantity(limits[1])


def test_complete_after_is_compressed_to_whole_seconds() -> None:
    assert complete_after(600, 1) == "600s"
    assert complete_after(600, 7) == "86s"
    assert complete_after(0.2, 100) == "1s"


def test_short_stages_keep_their_compressed_duration() -> None:
    """No floor beyond one second: the sandbox's CPU counter measures even a 2 s stage right."""
    assert complete_after(200, 100) == "2s"  # a one-file review
    assert complete_after(2400, 100) == "24s"


@pytest.mark.parametrize("agent_class", sorted(PROFILES))
def test_usage_follows_the_profile_with_noise_and_never_reaches_the_limit(agent_class: str) -> None:
    profile = PROFILES[agent_class]
    rng = random.Random(5)
    cpus, memories = [], []
    for _ in range(500):
        cpu, memory = sample_usage(profile, rng)
        cpus.append(parse_quantity(cpu) / parse_quantity(profile.cpu_request))
        memories.append(parse_quantity(memory))
    mean = sum(cpus) / len(cpus)
    assert abs(mean - profile.cpu_use) < 0.02 and 0.6 <= mean <= 0.8  # the brief's efficiency band
    assert len(set(cpus)) > 50, "noisy"
    assert max(memories) <= most_memory(profile) + 2**20 < 0.5 * parse_quantity(profile.memory_limit)
    # a need, bounded: the largest working set is the mean plus two standard deviations
    assert most_memory(profile) == pytest.approx(
        parse_quantity(profile.memory_request) * (profile.memory_use + 0.1)
    )
    capped = [parse_quantity(sample_usage(profile, rng, cpu_limit=0.5)[0]) for _ in range(100)]
    assert max(capped) == 0.5, "CPU never exceeds the pod's own limit"


def test_controller_cpu_follows_queue_depth_per_ready_replica() -> None:
    cpu = [parse_quantity(controller_usage(depth, 2)[0]) for depth in (0, 10, 20, 40, 1000)]
    assert cpu == sorted(cpu) and cpu[0] == pytest.approx(0.1) and cpu[-1] == pytest.approx(1.0)
    assert parse_quantity(controller_usage(20, 4)[0]) < parse_quantity(controller_usage(20, 2)[0])
    assert parse_quantity(controller_usage(5, 0)[0]) == parse_quantity(controller_usage(5, 1)[0])
    # crosses the HPA's 70% of a 500m request at about six queued workflows per replica
    assert parse_quantity(controller_usage(12, 2)[0]) < 0.35 < parse_quantity(controller_usage(14, 2)[0])


def _standing_pod(agent_class: str = "testing", claim: str | None = "workspace-tess-0") -> dict[str, Any]:
    volumes = [{"name": "tmp", "emptyDir": {}}]
    if claim:
        volumes.append({"name": "workspace", "persistentVolumeClaim": {"claimName": claim}})
    return {"metadata": {"name": "tess-0", "labels": {"agent-platform.io/agent-class": agent_class},
                         "annotations": {}},
            "spec": {"volumes": volumes}}


def test_standing_agents_get_their_profile_and_a_workspace_in_the_healthy_band() -> None:
    rng = random.Random(3)
    fills = []
    for _ in range(300):
        annotations = standing_agent_usage(_standing_pod(), "50Gi", rng)
        assert annotations is not None
        assert annotations["sim.validator.io/pvc"] == "workspace-tess-0"
        assert annotations["sim.validator.io/pvc-capacity"] == "50Gi"
        fills.append(parse_quantity(annotations["sim.validator.io/pvc-used"]) / parse_quantity("50Gi"))
        request = parse_quantity(PROFILES["testing"].cpu_request)
        assert 0.2 <= parse_quantity(annotations["sim.validator.io/cpu"]) / request <= 1.6
    assert 0.6 <= sum(fills) / len(fills) <= 0.7 and min(fills) >= 0.5 and max(fills) <= 0.8
    # no claim (or its capacity unknown yet): usage only, no workspace series
    for pod, capacity in ((_standing_pod(claim=None), "50Gi"), (_standing_pod(), None)):
        annotations = standing_agent_usage(pod, capacity, rng)
        assert annotations is not None
        assert set(annotations) == {
            "sim.validator.io/cpu", "sim.validator.io/memory", "sim.validator.io/cpu-throttled-ratio"
        }
    assert standing_agent_usage(_standing_pod(agent_class="unknown"), "10Gi", rng) is None


def test_a_standing_agent_without_memory_headroom_is_oom_killed_at_its_limit() -> None:
    rng = random.Random(4)
    roomy, tight = _standing_pod("quality"), _standing_pod("quality")
    roomy["spec"]["containers"] = [{"name": "agent", "resources": {"limits": {"memory": "8Gi"}}}]
    tight["spec"]["containers"] = [{"name": "agent", "resources": {"limits": {"memory": "2Gi"}}}]
    kills = 0
    for _ in range(50):
        assert "sim.validator.io/oom-kill" not in (standing_agent_usage(roomy, "10Gi", rng) or {})
        annotations = standing_agent_usage(tight, "10Gi", rng) or {}
        if "sim.validator.io/oom-kill" in annotations:  # cleo works in ~2.4Gi (60% of 4Gi)
            kills += 1
            assert annotations["sim.validator.io/memory"] == "2048Mi"
    assert kills >= 45


def test_a_pod_held_by_an_experiment_is_recognised() -> None:
    pod = _standing_pod()
    assert not held_by_chaos(pod)
    pod["metadata"]["annotations"]["validator.io/run-id"] = "nightly-1"
    assert held_by_chaos(pod)


def test_usage_writes_only_when_the_value_moved() -> None:
    assert differs_enough(None, "100m")
    assert not differs_enough("100m", "104m")
    assert differs_enough("100m", "110m")


def test_the_platform_process_starts_serves_and_stops_gracefully() -> None:
    settings = PlatformSettings(no_kubernetes=True, dispatch_rate_per_replica=100)
    with SimulatedPlatformProcess(settings) as platform:
        status, _, _ = _call(f"{platform.url}/workflows", "POST", {"size": "single-file-change"})
        assert status == 202
    assert platform.stopped["submitted"] == 1


def test_the_platform_process_refuses_a_non_sandbox_context_and_says_why() -> None:
    with pytest.raises(SandboxError) as error:
        SimulatedPlatformProcess(PlatformSettings(context="prod-eu-1")).start()
    assert "not a sandbox context" in str(error.value) and "--allow-context" in str(error.value)


def _statefulset(
    resources: dict[str, Any], priority: str | None = "agent-standard-priority"
) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "sidecar"}, {"name": "agent", "resources": resources}]}
    if priority:
        spec["priorityClassName"] = priority
    return {"metadata": {"name": "cleo", "labels": {"app.kubernetes.io/name": "cleo"}},
            "spec": {"template": {"spec": spec}}}


def test_a_stage_pod_takes_its_agents_statefulset_template() -> None:
    """The controller builds stage pods from the agent's template: a misconfigured request there is
    the stage pods' request too, while the work's need stays the profile's."""
    resources = {"requests": {"cpu": "500m", "memory": "2Gi"}, "limits": {"cpu": "2", "memory": "2944Mi"}}
    template = agent_template(_statefulset(resources))
    pod = agent_pod(workflow_id="wf-1", agent="cleo", agent_class="quality", stage_index=1, attempt=1,
                    duration_s=600, time_factor=20, namespace="agents", rng=random.Random(1),
                    with_priority_class=False, template=template)
    assert pod["spec"]["containers"][0]["resources"] == resources
    assert pod["spec"]["priorityClassName"] == "agent-standard-priority"
    need = parse_quantity(pod["metadata"]["annotations"]["sim.validator.io/cpu"])
    assert 0.4 <= need <= 1.0  # ~0.7 cores: 140% of the misconfigured 500m request
    assert agent_template(_statefulset({}, priority=None)).priority_class is None


def test_a_memory_limit_under_the_need_oom_kills_a_stage_pod_at_once() -> None:
    template = agent_template(_statefulset({"requests": {"memory": "1Gi"}, "limits": {"memory": "1Gi"}}))
    pod = agent_pod(workflow_id="wf-1", agent="cleo", agent_class="quality", stage_index=1, attempt=1,
                    duration_s=600, time_factor=20, namespace="agents", rng=random.Random(1),
                    with_priority_class=False, template=template)
    annotations = pod["metadata"]["annotations"]
    assert annotations["sim.validator.io/oom-kill"] == "memory-limit"
    assert annotations["sim.validator.io/memory"] == "1024Mi"  # killed at its limit


def test_cpu_throttling_follows_how_close_the_limit_is_to_the_need() -> None:
    """Bursty demand against a CFS quota: the brief's 2x limits throttle well under 5% of periods,
    a limit equal to the request (a Guaranteed pod) throttles Rex's 1.44-core need in ~17%."""
    assert throttled_share(1.44, 4.0) < 0.01 and throttled_share(0.70, 2.0) < 0.01
    assert 0.15 < throttled_share(1.44, 2.0) < 0.20
    assert throttled_share(1.44, None) == 0.0
    shares = [throttled_share(1.0, limit) for limit in (0.5, 1.0, 2.0, 4.0)]
    assert shares == sorted(shares, reverse=True) and shares[0] > 0.8
    guaranteed = agent_template(_statefulset({"requests": {"cpu": "2"}, "limits": {"cpu": "2"}}))
    pod = agent_pod(workflow_id="wf-1", agent="rex", agent_class="implementation", stage_index=0,
                    attempt=1, duration_s=600, time_factor=20, namespace="agents",
                    rng=random.Random(1), with_priority_class=False, template=guaranteed)
    assert 0.15 < float(pod["metadata"]["annotations"]["sim.validator.io/cpu-throttled-ratio"]) < 0.2


def test_only_large_workflows_of_builders_and_testers_peak() -> None:
    assert memory_peak(PROFILES["implementation"], "multi-service-refactor") == 1.5 * 8 * 2**30
    assert memory_peak(PROFILES["testing"], "service-refactor") == 1.5 * 8 * 2**30
    assert memory_peak(PROFILES["implementation"], "single-file-change") is None
    assert memory_peak(PROFILES["quality"], "multi-service-refactor") is None  # a review has none
    # the reference limit (2x the request) holds the peak
    peak = memory_peak(PROFILES["testing"], "service-refactor")
    assert peak is not None and peak < parse_quantity(PROFILES["testing"].memory_limit)


def test_an_oversized_workspace_holds_the_same_data_and_shows_mostly_empty() -> None:
    rng = random.Random(6)
    pod = _standing_pod(agent_class="quality", claim="workspace-cleo-1")
    fills = [
        parse_quantity((standing_agent_usage(pod, "20Gi", rng) or {})["sim.validator.io/pvc-used"])
        / parse_quantity("20Gi")
        for _ in range(200)
    ]
    assert 0.3 <= sum(fills) / len(fills) <= 0.35  # 6.5Gi of the brief's 10Gi in a 20Gi claim
    small = standing_agent_usage(pod, "5Gi", rng) or {}
    assert parse_quantity(small["sim.validator.io/pvc-used"]) <= 0.98 * parse_quantity("5Gi") + 2**20


def test_a_standing_agent_keeps_its_throttling_ratio_once_set() -> None:
    """The throttled-periods counter is ratio x periods: a ratio rewritten lower would step it back."""
    pod = _standing_pod()
    pod["metadata"]["annotations"]["sim.validator.io/cpu-throttled-ratio"] = "0.0100"
    annotations = standing_agent_usage(pod, "50Gi", random.Random(1)) or {}
    assert "sim.validator.io/cpu-throttled-ratio" not in annotations


def test_the_queue_limit_is_the_controllers_configuration() -> None:
    def deployment(*args: str) -> dict[str, Any]:
        return {"spec": {"template": {"spec": {"containers": [{"name": "controller", "args": list(args)}]}}}}

    assert queue_limit(deployment("--leader-elect=false", "--max-queued-workflows=8")) == 8
    assert queue_limit(deployment("--leader-elect=false")) is None
    assert queue_limit(deployment("--max-queued-workflows=zero")) is None
    book = WorkflowBook(capacity=500)
    book.set_capacity(1)
    book.submit("single-file-change", parse_submission({"size": "single-file-change"})[1])
    with pytest.raises(QueueFull):
        book.submit("single-file-change", parse_submission({"size": "single-file-change"})[1])
    with pytest.raises(ValueError, match="> 0"):
        book.set_capacity(0)
