"""`validator check` against a real Prometheus backfilled with promtool from fixtures of known values.

The fixtures (tests/support/openmetrics.py) encode exact utilisations, an OOM kill, a scaling latency,
a quota trend; promtool turns them into TSDB blocks; a real `prometheus` serves them on a free
127.0.0.1 port with no scrape targets; `validator check` must report exactly those values.

promtool 2.42 (Debian) writes OpenMetrics samples into 2-hour-aligned blocks; Prometheus serves
blocks it finds in its storage directory at start-up. The window ends about 2.5 hours before
now, so no sample falls in the head block's range and nothing is compacted away.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.openmetrics import (
    HPA_DECISION_AT,
    HPA_RISE_AT,
    LEAD,
    MEMORY_LIMIT,
    MEMORY_WORKING_SET,
    PVC_CAPACITY,
    PVC_USED,
    QUOTA_HARD,
    QUOTA_USED_AT_END,
    THROTTLED_SHARE,
    WINDOW,
    write_openmetrics,
)
from validator.cli import main
from validator.criteria.registry import CRITERIA, prometheus_only_ids
from validator.history import HistoryStore
from validator.model import format_rfc3339

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """(URL of a Prometheus serving the fixtures, window start)."""
    root = tmp_path_factory.mktemp("prometheus")
    window_start = (int(time.time()) - 3 * 3600) // 900 * 900  # ends ~2.5 h ago at the latest
    fixtures = write_openmetrics(root / "fixtures.om", window_start)
    storage = root / "data"
    made = subprocess.run(
        [PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", str(fixtures), str(storage)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    config = root / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 15s\nscrape_configs: []\n", encoding="utf-8")
    port = _free_port()
    log = (root / "prometheus.log").open("w")
    server = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={storage}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=30d",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (root / "prometheus.log").read_text()
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "Prometheus did not become ready in 60 s"
            time.sleep(0.2)
        yield url, window_start
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _check(url: str, window_start: int, out: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    code = main(
        [
            "check",
            "--prometheus-url",
            url,
            "--start",
            format_rfc3339(window_start),
            "--end",
            format_rfc3339(window_start + WINDOW),
            "--output",
            str(out),
            "--namespace",
            "agents",
            *extra,
        ]
    )
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
    return code, summary


def _results(summary: dict[str, Any], criterion: str) -> list[dict[str, Any]]:
    for c in summary["criteria"]:
        if c["id"] == criterion:
            return list(c["results"])
    raise AssertionError(f"{criterion} not in summary.json")


def _by_scope(results: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {r["scope"][key]: r for r in results}


def test_check_reports_the_values_the_fixtures_encode(backfilled: tuple[str, int], tmp_path: Path) -> None:
    url, window_start = backfilled
    code, summary = _check(url, window_start, tmp_path / "out")

    cpu = _by_scope(_results(summary, "cpu_utilization"), "agent")
    assert cpu["rex"]["verdict"] == "pass"
    assert cpu["rex"]["value"] == pytest.approx(0.70, abs=1e-9)
    assert cpu["tess"]["verdict"] == "fail"
    assert cpu["tess"]["value"] == pytest.approx(0.40, abs=1e-9)

    memory = _by_scope(_results(summary, "memory_utilization"), "agent")
    assert memory["rex"]["value"] == pytest.approx(MEMORY_WORKING_SET / MEMORY_LIMIT)
    assert memory["rex"]["verdict"] == "pass"

    (pvc,) = _results(summary, "pvc_utilization")
    assert pvc["scope"] == {"pvc": "agents/workspace-rex"}
    assert pvc["value"] == pytest.approx(PVC_USED / PVC_CAPACITY) == pytest.approx(0.65)
    assert pvc["verdict"] == "pass"

    (availability,) = _results(summary, "controller_availability")
    assert availability["value"] == pytest.approx(1.0)
    assert availability["verdict"] == "pass"

    (oom,) = _results(summary, "oom_kills")
    assert oom["value"] == 1
    assert oom["verdict"] == "fail"

    (scaling,) = _results(summary, "scaling_latency")
    assert scaling["value"] == pytest.approx(HPA_DECISION_AT - HPA_RISE_AT) == 120
    assert scaling["verdict"] == "pass"

    (quota,) = _results(summary, "capacity_forecast")
    assert quota["value"] == pytest.approx(QUOTA_HARD - QUOTA_USED_AT_END, rel=1e-3)  # 45 days
    assert "growing 1/day over the last 2.0 days" in quota["detail"], quota["detail"]  # deriv over [7d]

    # resource_isolation from Prometheus alone: its throttling measure is judged, its rejections
    # (Events, which only a run's watch sees) are listed as not evaluated
    isolation = _results(summary, "resource_isolation")
    assert {json.dumps(r["scope"], sort_keys=True): (r["verdict"], r["value"]) for r in isolation} == {
        json.dumps({"agent": a, "measure": "throttling"}, sort_keys=True): (
            "pass",
            pytest.approx(THROTTLED_SHARE),
        )
        for a in ("rex", "tess")
    }
    assert {"id": "resource_isolation", "measure": "rejections"}.items() <= next(
        n for n in summary["not_evaluated"] if n["id"] == "resource_isolation"
    ).items()

    # the criteria Prometheus cannot answer are listed, not passed, and do not decide the verdict
    evaluated = {c["id"] for c in summary["criteria"]}
    assert evaluated == set(prometheus_only_ids())
    listed = json.dumps(summary)
    for cid in set(CRITERIA) - evaluated:
        assert cid in listed
    assert summary["verdict"] == "fail"  # tess's CPU and the OOM kill
    assert code == 1
    assert LEAD > 300  # rate()[5m] has data at the window's first step

    out = tmp_path / "out"
    for name in ("summary.json", "junit.xml", "report.html", "manifest.json", "evidence/metrics.json"):
        assert (out / name).is_file(), name
    junit = (out / "junit.xml").read_text()
    assert 'classname="pdb_respected" name="not evaluated"' in junit
    assert "needs the Kubernetes watch" in junit
    html = (out / "report.html").read_text()
    assert "not evaluated" in html
    assert "pdb_respected" in html
    # the charts draw what Prometheus holds: HPA replicas, CPU per agent, the OOM kill, PVC use
    for title in ("Replicas per HPA", "CPU utilisation per agent type", "OOM kills", "PVC use"):
        assert title in html


def test_check_passes_when_only_prometheus_criteria_pass(backfilled: tuple[str, int], tmp_path: Path) -> None:
    """Not-evaluated criteria must not make the verdict inconclusive: with tess's band widened and
    the OOM kill allowed, everything evaluated passes, and so does the check."""
    url, window_start = backfilled
    overrides = tmp_path / "criteria.yaml"
    overrides.write_text(
        "criteria:\n  cpu_utilization:\n    min: 0.3\n  oom_kills:\n    max: 1\n", encoding="utf-8"
    )
    code, summary = _check(url, window_start, tmp_path / "out", "--criteria", str(overrides))
    # cost_efficiency's saving needs a baseline run, which a first check has not (info: it counts not)
    assert {c["id"]: c["verdict"] for c in summary["criteria"]} == {
        cid: "inconclusive" if cid == "cost_efficiency" else "pass" for cid in prometheus_only_ids()
    }
    assert summary["verdict"] == "pass"
    assert code == 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--start", "2026-11-20T04:00:00Z", "--end", "2026-11-20T02:00:00Z"], "--end"),
        (["--start", "yesterday", "--end", "2026-11-20T02:00:00Z"], "--start"),
        (["--start", "2026-11-20T02:00:00Z", "--end", "2026-11-20T04:00:00"], "--end"),
        (["--start", "2026-11-20T02:00:00Z", "--end", "2026-11-20T04:00:00Z", "--step", "0"], "--step"),
    ],
)
def test_bad_window_arguments_exit_2_naming_the_argument(
    args: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", "--prometheus-url", "http://127.0.0.1:9", "--output", str(tmp_path / "o"), *args])
    assert code == 2
    assert needle in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("criteria:\n  cpu_utilisation:\n    min: 0.5\n", ["cpu_utilisation", "unknown criterion id"]),
        ("criteria:\n  cpu_utilization: [1, 2\n", ["not valid YAML"]),
        (
            "criteria:\n  pvc_utilization:\n    queries:\n      pvc_used_bytes: 'sum(up{'\n",
            ["criteria.pvc_utilization.queries.pvc_used_bytes", "bad PromQL"],
        ),
    ],
)
def test_bad_criteria_file_exits_2_naming_file_and_key(
    text: str, needles: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "criteria.yaml"
    path.write_text(text, encoding="utf-8")
    code = main(
        [
            "check",
            "--prometheus-url",
            "http://127.0.0.1:9",
            "--start",
            "2026-11-20T02:00:00Z",
            "--end",
            "2026-11-20T04:00:00Z",
            "--criteria",
            str(path),
            "--output",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert str(path) in err
    for needle in needles:
        assert needle in err


def test_override_query_that_prometheus_rejects_exits_2_naming_file_and_key(
    backfilled: tuple[str, int], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Brackets balance, so only Prometheus can tell: rate() needs a range vector (HTTP 400)."""
    url, window_start = backfilled
    path = tmp_path / "criteria.yaml"
    path.write_text(
        "criteria:\n  pvc_utilization:\n    queries:\n"
        "      pvc_used_bytes: 'rate(kubelet_volume_stats_used_bytes)'\n",
        encoding="utf-8",
    )
    code, _ = _check(url, window_start, tmp_path / "out", "--criteria", str(path))
    err = capsys.readouterr().err
    assert code == 2
    assert f"{path}: criteria.pvc_utilization.queries.pvc_used_bytes: Prometheus rejected it: HTTP 400" in err
    assert "range vector" in err


def test_unreachable_prometheus_exits_3_without_credentials(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = _free_port()  # nothing listens there
    code = main(
        [
            "check",
            "--prometheus-url",
            f"http://bob:pa55w0rd@127.0.0.1:{port}",
            "--start",
            "2026-11-20T02:00:00Z",
            "--end",
            "2026-11-20T04:00:00Z",
            "--output",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 3
    assert f"127.0.0.1:{port}" in err
    assert "pa55w0rd" not in err and "bob" not in err


def test_checks_are_compared_only_with_checks_of_their_name_and_prometheus(
    backfilled: tuple[str, int], tmp_path: Path
) -> None:
    """One history for every check of a CI job: a check is judged against the earlier checks of the
    same name against the same Prometheus, never against another cluster's (two URLs of one server
    stand for two Prometheus here: the history tells them apart by URL)."""
    url, start = backfilled
    other = url.replace("127.0.0.1", "localhost")
    history = tmp_path / "history.sqlite"
    first_code, first = _check(url, start, tmp_path / "a1", "--history", str(history))
    assert first_code != 2 and first["regressions"]["earlier_runs"] == 0
    _, elsewhere = _check(other, start + 60, tmp_path / "b1", "--history", str(history))
    assert elsewhere["regressions"]["earlier_runs"] == 0  # another Prometheus: a history of its own
    _, renamed = _check(url, start + 120, tmp_path / "c1", "--history", str(history), "--name", "gpu-pool")
    assert renamed["regressions"]["earlier_runs"] == 0  # another name: a history of its own
    _, again = _check(url, start + 180, tmp_path / "a2", "--history", str(history))
    assert again["regressions"]["earlier_runs"] == 1  # the first check only
    manifest = json.loads((tmp_path / "a2" / "manifest.json").read_text())
    assert (manifest["suite"], manifest["context"]) == ("check", f"prometheus {url}")


def test_a_blank_check_name_exits_2(backfilled: tuple[str, int], tmp_path: Path) -> None:
    url, start = backfilled
    code, _ = _check(url, start, tmp_path / "blank", "--name", " ")
    assert code == 2


def test_two_checks_in_the_same_second_are_two_runs(
    backfilled: tuple[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --output a check writes reports/check-<UTC second>/; a second check started in the
    same second gets a directory (and a run id) of its own, never the first one's."""
    url, start = backfilled
    monkeypatch.chdir(tmp_path)
    argv = ["check", "--prometheus-url", url, "--start", format_rfc3339(start),
            "--end", format_rfc3339(start + WINDOW), "--namespace", "agents"]
    # both checks start in the same second: this one (the backfilled window must lie before it,
    # so a second fixed once for all would put the window in the future on later days)
    frozen = datetime.now(UTC).replace(microsecond=0)
    stamp = frozen.strftime("%Y%m%dT%H%M%SZ")

    class Frozen(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Frozen:
            return cls.fromtimestamp(frozen.timestamp(), tz=UTC)

    monkeypatch.setattr("validator.commands.check.datetime", Frozen)
    main(argv)
    main(argv)
    made = sorted(p.name for p in (tmp_path / "reports").iterdir() if p.is_dir())
    assert made == [f"check-{stamp}", f"check-{stamp}-2"]
    runs = HistoryStore(tmp_path / "reports" / "history.sqlite").runs("check", context=f"prometheus {url}")
    assert sorted(r.run_id for r in runs) == made
