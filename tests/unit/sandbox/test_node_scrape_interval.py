"""The sandbox's Prometheus reads each simulated kubelet once a second with the compressed clock, up
to 200 nodes; a bigger sandbox is read less often, so that kwok keeps renewing its node leases
(docs/sandbox-contract.md, "At 1,000 nodes"). The configuration is checked by Prometheus's own
`promtool`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from validator.sandbox.prometheus_setup import node_scrape_interval_s, prometheus_config

COMPONENTS = [
    {
        "name": "kwok-controller",
        "metricsDiscovery": {"scheme": "http", "host": "127.0.0.1:10247", "path": "/discovery/prometheus"},
        "metric": {"scheme": "http", "host": "127.0.0.1:10247", "path": "/metrics"},
    }
]


def _node_job(config: dict[str, Any]) -> dict[str, Any]:
    [job] = [j for j in config["scrape_configs"] if j["job_name"].endswith("-metrics-discovery")]
    return job


@pytest.mark.parametrize(
    ("nodes", "interval"), [(0, 1), (10, 1), (200, 1), (201, 2), (500, 3), (1000, 5), (5000, 25)]
)
def test_the_interval_grows_with_the_nodes_past_200(nodes: int, interval: int) -> None:
    assert node_scrape_interval_s(nodes) == interval


@pytest.mark.parametrize("nodes", [10, 1000, 5000])
def test_promtool_accepts_the_configuration_and_each_node_is_read_at_that_interval(
    tmp_path: Path, nodes: int
) -> None:
    rules, targets = tmp_path / "rules", tmp_path / "targets"
    config = prometheus_config(COMPONENTS, 9000, "compressed", rules, targets, nodes)
    interval = node_scrape_interval_s(nodes)
    [ksm] = [j for j in config["scrape_configs"] if j["job_name"] == "kube-state-metrics"]
    for job in (_node_job(config), ksm):  # the pods' requests as often as their CPU
        assert job["scrape_interval"] == f"{interval}s"
        assert job["scrape_timeout"] == f"{min(interval, 4)}s"  # never above the interval
    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with Debian's prometheus package (make debian)"
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    checked = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_production_timings_keep_the_global_interval() -> None:
    config = prometheus_config(COMPONENTS, 9000, "production", Path("r"), Path("t"), nodes=1000)
    assert "scrape_interval" not in _node_job(config)
    [ksm] = [j for j in config["scrape_configs"] if j["job_name"] == "kube-state-metrics"]
    assert "scrape_interval" not in ksm
    assert config["global"]["scrape_interval"] == "15s"
