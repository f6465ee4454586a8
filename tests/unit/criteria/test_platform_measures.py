"""The platform's requests and quota use a run records into the history, read purely from its
metrics evidence: requests per agent type, summed and per pod (mean over the window), each quota
resource's used and hard at the window's end; what is not there is not recorded (never a zero)."""

from __future__ import annotations

from tests.support.evidence import AGENT, WINDOW, error, evidence, metrics, ok, series, steady
from validator.criteria.platform_measures import platform_measures

Q = {"namespace": "agents", "resourcequota": "agents", "resource": "requests.memory"}


def table(found) -> dict[tuple[str, str], tuple[float, str]]:
    return {(m.name, m.scope_text): (m.value, m.unit) for m in platform_measures(evidence(metrics=found))}


def test_requests_are_the_types_mean_and_quotas_their_last_sample_in_the_window() -> None:
    found = metrics(
        ok(
            "cpu_requests_by_agent",
            series({AGENT: "rex", "namespace": "a"}, steady(1.0)),
            series({AGENT: "rex", "namespace": "b"}, steady(lambda t: 2.0 if t <= WINDOW / 2 else 0.0)),
            series({AGENT: ""}, steady(9.0)),  # a pod without the agent label: no type
        ),
        ok("memory_requests_by_agent", series({AGENT: "tess"}, steady(512.0))),
        # what one pod requests: 1 core, then 1.5 (two pods at 1 and 2) while the second runs
        ok(
            "cpu_request_per_pod_by_agent",
            series({AGENT: "rex"}, steady(lambda t: 1.5 if t <= WINDOW / 2 else 1.0)),
        ),
        ok("quota_used", series(Q, steady(lambda t: t, end=WINDOW + 60))),  # after the window: not seen
        ok("quota_hard", series(Q, steady(1000.0))),
    )
    assert table(found) == {
        # 41 samples: 21 at 1 + 2, 20 at 1 + 0
        ("requests", "agent=rex,resource=cpu"): ((21 * 3 + 20 * 1) / 41, "cores"),
        ("requests", "agent=tess,resource=memory"): (512.0, "bytes"),
        ("request_per_pod", "agent=rex,resource=cpu"): ((21 * 1.5 + 20 * 1.0) / 41, "cores"),
        ("quota_used", "quota=agents/agents,resource=requests.memory"): (WINDOW, ""),
        ("quota_hard", "quota=agents/agents,resource=requests.memory"): (1000.0, ""),
    }


def test_what_the_evidence_lacks_is_not_recorded() -> None:
    assert platform_measures(evidence()) == ()  # no metrics at all
    found = metrics(
        error("cpu_requests_by_agent"),
        ok("memory_requests_by_agent"),  # no data: not a zero
        ok("quota_used", series(Q, steady(5.0))),
    )
    assert table(found) == {("quota_used", "quota=agents/agents,resource=requests.memory"): (5.0, "")}
