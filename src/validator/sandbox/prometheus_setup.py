"""The sandbox's Prometheus: its scrape configuration (kwokctl's component jobs, as kwokctl builds
them, plus kube-state-metrics and file-based targets) and its always-firing Watchdog rule."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

Timing = Literal["compressed", "production"]


# How many simulated kubelets Prometheus reads a second at most with the compressed clock. kwok
# renders a node's metrics on every read: at 1,000 nodes read each second kwok and Prometheus took
# a quarter of the 2 cores with no pod at all, and with 2,000 agent pods being created kwok renewed
# node leases late, a third of the nodes went NotReady and their pods were evicted.
NODE_SCRAPES_PER_S = 200


def node_scrape_interval_s(nodes: int) -> int:
    """Seconds between reads of each simulated kubelet with the compressed clock: 1 s up to
    NODE_SCRAPES_PER_S nodes, then growing with the node count (5 s at 1,000 nodes)."""
    return max(1, math.ceil(nodes / NODE_SCRAPES_PER_S))


def prometheus_config(
    components: list[dict[str, Any]],
    ksm_port: int,
    timing: Timing,
    rules_dir: Path,
    targets_dir: Path,
    nodes: int = 0,
) -> dict[str, Any]:
    """kwokctl's component scrape jobs (as kwokctl itself builds them) plus ours."""
    jobs: list[dict[str, Any]] = []
    # The simulated kubelets (kwok) every second with the compressed clock (a real kubelet's 30 s,
    # compressed 30x): a pod's CPU counter starts 3 s after its start time (kwok/metrics.yaml), so
    # Prometheus's first sample of a pod still reads 0 and rate() sees all of its CPU. Above
    # NODE_SCRAPES_PER_S nodes less often (node_scrape_interval_s): a pod's first sample may then
    # come after its counter started, and rate() misses what it counted before that sample.
    interval_s = node_scrape_interval_s(nodes)
    node_interval = (
        {"scrape_interval": f"{interval_s}s", "scrape_timeout": f"{min(interval_s, 4)}s"}
        if timing == "compressed"
        else {}
    )
    for comp in components:
        discovery = comp.get("metricsDiscovery")
        if discovery:
            jobs.append(
                {
                    "job_name": f"{comp['name']}-metrics-discovery",
                    **node_interval,
                    "http_sd_configs": [
                        {
                            "url": f"{discovery['scheme']}://{discovery['host']}{discovery['path']}",
                            "refresh_interval": "5s",  # nodes come and go during a run
                        }
                    ],
                }
            )
        metric = comp.get("metric")
        if metric:
            job: dict[str, Any] = {
                "job_name": comp["name"],
                "scheme": metric["scheme"],
                "metrics_path": metric["path"],
                "static_configs": [{"targets": [metric["host"]]}],
            }
            if metric["scheme"] == "https":
                job["tls_config"] = {
                    "cert_file": metric.get("certPath", ""),
                    "key_file": metric.get("keyPath", ""),
                    "insecure_skip_verify": True,
                }
            jobs.append(job)
    jobs.append(
        {
            "job_name": "kube-state-metrics",
            # as often as the simulated kubelets: a compressed stage pod lives 2-6 s, and the
            # requests a run holds its CPU against are read from here (promql.CPU_REQUESTS_BY_AGENT)
            **node_interval,
            "honor_labels": True,
            "static_configs": [{"targets": [f"127.0.0.1:{ksm_port}"]}],
        }
    )
    jobs.append(
        {
            "job_name": "sandbox-targets",
            "file_sd_configs": [{"files": [str(targets_dir / "*.json")], "refresh_interval": "5s"}],
        }
    )
    interval = "5s" if timing == "compressed" else "15s"
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval, "scrape_timeout": "4s"},
        "rule_files": [str(rules_dir / "*.yaml")],
        "scrape_configs": jobs,
    }


WATCHDOG_RULES = """\
# Always firing: proves rule evaluation and ALERTS work in the sandbox (as kube-prometheus' Watchdog).
groups:
- name: sandbox
  rules:
  - alert: Watchdog
    expr: vector(1)
    labels:
      severity: none
    annotations:
      summary: The sandbox's alerting pipeline works; this alert always fires.
"""
