"""Before a run's window opens, an alert the suite expects a fault to raise that an earlier run left
firing (an OOM kill's alert holds for its rule's whole window) is waited for until it resolves: a
firing already in progress would hide this run's own, and alert_accuracy could count nothing. The
alerts are real: a real Prometheus evaluates rules whose expression stops firing at a set time."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from tests.support import servers
from validator.run.preflight import wait_for_expected_alerts_to_clear

RULES = """\
groups:
  - name: left-over
    rules:
      - alert: ContainerOOMKilled
        expr: label_replace(vector(time()) < {until}, "pod", "rex-0", "", "")
        labels: {{namespace: agents, severity: warning}}
      - alert: Unrelated
        expr: vector(1)
"""


@pytest.fixture
def prometheus(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, float]]:
    """A Prometheus whose ContainerOOMKilled fires until `until` (the test's parameter, seconds
    from now), and whose Unrelated alert fires for ever."""
    until = time.time() + float(request.param)
    for url in servers.prometheus_with_rules(tmp_path, RULES.format(until=until)):
        servers.wait_for(url, 'ALERTS{alertstate="firing",alertname="Unrelated"}')
        yield url, until


@pytest.mark.parametrize("prometheus", [8], indirect=True)
def test_an_expected_alert_left_firing_is_waited_for_until_it_resolves(
    prometheus: tuple[str, float],
) -> None:
    url, until = prometheus
    assert servers.query(url, 'ALERTS{alertname="ContainerOOMKilled"}')["result"], "not firing yet"
    out = io.StringIO()
    left = wait_for_expected_alerts_to_clear(
        url, ["ContainerOOMKilled", "PodRestartStorm"], Console(file=out, width=300), timeout_s=120
    )
    assert left == []
    assert time.time() >= until  # it waited for the rule to stop firing, not less
    assert not servers.query(url, 'ALERTS{alertstate="firing",alertname="ContainerOOMKilled"}')["result"]
    said = out.getvalue()
    assert "left firing by an earlier run" in said and "ContainerOOMKilled (agents/rex-0)" in said, said
    assert "resolved after" in said, said
    assert "Unrelated" not in said  # not expected by the suite: nothing to wait for


@pytest.mark.parametrize("prometheus", [3600], indirect=True)
def test_an_alert_that_does_not_resolve_is_a_warning_after_the_timeout(
    prometheus: tuple[str, float],
) -> None:
    url, _ = prometheus
    out = io.StringIO()
    console = Console(file=out, width=300)
    left = wait_for_expected_alerts_to_clear(url, ["ContainerOOMKilled"], console, timeout_s=2)
    assert left == ["ContainerOOMKilled (agents/rex-0)"]
    said = out.getvalue()
    assert "still firing after 2s: ContainerOOMKilled (agents/rex-0); this run cannot see them fire" in said


@pytest.mark.parametrize("prometheus", [3600], indirect=True)
def test_nothing_is_waited_for_when_no_expected_alert_fires_or_waiting_is_off(
    prometheus: tuple[str, float],
) -> None:
    url, _ = prometheus
    out = io.StringIO()
    console = Console(file=out)
    assert wait_for_expected_alerts_to_clear(url, ["PodRestartStorm"], console, timeout_s=60) == []
    assert wait_for_expected_alerts_to_clear(url, ["ContainerOOMKilled"], console, timeout_s=0) == []
    assert wait_for_expected_alerts_to_clear(url, [], console, timeout_s=60) == []
    assert out.getvalue() == ""
