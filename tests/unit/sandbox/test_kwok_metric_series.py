"""The sandbox's simulated kubelets (kwok/metrics.yaml) render exactly the series somebody reads.
kwok evaluates every series of a node on every read of it, so a series nobody reads costs the
sandbox's CPU at every scrape; a series the product reads and kwok does not render leaves that
query without data on the sandbox."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

SRC = Path(__file__).resolve().parents[3] / "src" / "validator"
KWOK_METRICS = SRC / "sandbox" / "kwok" / "metrics.yaml"
# What metrics-server decodes from a kubelet's /metrics/resource (its
# pkg/scraper/client/resource/decode.go, v0.8.0): it skips every other series.
METRICS_SERVER_READS = {
    "node_cpu_usage_seconds_total",
    "node_memory_working_set_bytes",
    "container_cpu_usage_seconds_total",
    "container_memory_working_set_bytes",
    "container_start_time_seconds",
}
# The kubelet- and cAdvisor-style families a simulated kubelet stands in for.
KUBELET_SERIES = re.compile(r"\b(?:node|pod|container|kubelet)_[a-z_]+?_(?:total|bytes|seconds)\b")


def _rendered() -> set[str]:
    doc = yaml.safe_load(KWOK_METRICS.read_text())
    return {metric["name"] for metric in doc["spec"]["metrics"]}


def _named_in_the_product() -> set[str]:
    names: set[str] = set()
    for path in SRC.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".yaml", ".yml", ".json") and path != KWOK_METRICS:
            names.update(KUBELET_SERIES.findall(path.read_text(errors="replace")))
    return names


def test_every_rendered_series_is_read_by_metrics_server_or_the_product() -> None:
    named = _named_in_the_product()
    assert {"container_cpu_usage_seconds_total", "kubelet_volume_stats_used_bytes"} <= named  # the scan works
    unread = sorted(_rendered() - METRICS_SERVER_READS - named)
    assert not unread, f"nothing reads these series, remove them from {KWOK_METRICS.name}: {unread}"


def test_every_kubelet_series_the_product_reads_is_rendered() -> None:
    missing = sorted((_named_in_the_product() | METRICS_SERVER_READS) - _rendered())
    assert not missing, (
        f"metrics-server or the product reads these, render them in {KWOK_METRICS.name}: {missing}"
    )
