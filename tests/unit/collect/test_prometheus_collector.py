"""The Prometheus collector against a fake Prometheus that fails on demand (500s, 400s, empty answers).

The fake is an http.server on 127.0.0.1 in a thread: it lets us inject what a real Prometheus
will not produce when asked (a 500 on the first try only, a server that always fails).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from validator.collect.prometheus import (
    PrometheusCollector,
    RetryPolicy,
    collect_metrics,
    namespace_matcher,
    render_query,
)
from validator.criteria.promql import QueryRanges
from validator.errors import EvidenceUnavailable
from validator.model.evidence import kube_state_label

START = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
END = datetime(2026, 11, 20, 2, 5, tzinfo=UTC)
FAST = RetryPolicy(attempts=4, base_delay_seconds=0.01, max_delay_seconds=0.02, total_seconds=5,
                   request_timeout_seconds=5)

Answer = tuple[int, dict[str, Any]]


def matrix(*series: tuple[dict[str, str], list[tuple[float, str]]]) -> Answer:
    return 200, {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": labels, "values": [[t, v] for t, v in values]} for labels, values in series]}}


ERROR_500: Answer = (500, {"status": "error", "errorType": "internal", "error": "storage is on fire"})
BAD_QUERY: Answer = (400, {"status": "error", "errorType": "bad_data",
                           "error": 'invalid parameter "query": 1:5: parse error: unexpected "}"'})


class FakePrometheus:
    """Answers each path with the next scripted answer (the last one repeats); records requests."""

    def __init__(self, script: Callable[[str, dict[str, list[str]], int], Answer]) -> None:
        self.script = script
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                params = parse_qs(parts.query)
                fake.requests.append((parts.path, params, dict(self.headers.items())))
                calls = sum(1 for p, q, _ in fake.requests if p == parts.path and q == params)
                code, body = fake.script(parts.path, params, calls)
                payload = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def __enter__(self) -> FakePrometheus:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def instant_ok(path: str) -> Answer | None:
    if path == "/api/v1/query":
        return 200, {"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {}, "value": [0, "1"]}]}}
    return None


@pytest.fixture
def run_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "run"


def read_metrics(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "evidence" / "metrics.json").read_text())  # type: ignore[no-any-return]


def test_500_then_200_is_retried_and_ends_ok(run_dir: Path) -> None:
    def script(path: str, params: dict[str, list[str]], calls: int) -> Answer:
        if (a := instant_ok(path)) is not None:
            return a
        if calls == 1:
            return ERROR_500
        return matrix(({"namespace": "agents", "pod": "rex-1"}, [(START.timestamp(), "0.5"),
                                                               (START.timestamp() + 15, "0.7")]))

    with FakePrometheus(script) as fake:
        collect_metrics(run_dir, f"http://127.0.0.1:{fake.port}", {"cpu": "up"}, START, END,
                        step_seconds=15, retry=FAST, show_progress=False)
        ranges = [r for r in fake.requests if r[0] == "/api/v1/query_range"]
    doc = read_metrics(run_dir)
    entry = doc["queries"]["cpu"]
    assert entry["status"] == "ok"
    assert entry["series"] == [{"labels": {"namespace": "agents", "pod": "rex-1"},
                                "points": [[START.timestamp(), 0.5], [START.timestamp() + 15, 0.7]]}]
    assert len(ranges) == 2
    assert ranges[0][1]["step"] == ["15"]
    assert ranges[0][1]["start"] == [str(int(START.timestamp()))]
    assert ranges[0][1]["end"] == [str(int(END.timestamp()))]
    assert doc["schema"] == "validator.metrics/v1"
    assert doc["window"] == {"start": "2026-11-20T02:00:00Z", "end": "2026-11-20T02:05:00Z"}
    assert doc["step_seconds"] == 15


def test_always_500_gives_error_status_with_reason_after_bounded_attempts(run_dir: Path) -> None:
    def script(path: str, params: dict[str, list[str]], calls: int) -> Answer:
        return instant_ok(path) or ERROR_500

    with FakePrometheus(script) as fake:
        collect_metrics(run_dir, f"http://127.0.0.1:{fake.port}", {"alerts": "ALERTS"}, START, END,
                        retry=FAST, show_progress=False)
        ranges = [r for r in fake.requests if r[0] == "/api/v1/query_range"]
    entry = read_metrics(run_dir)["queries"]["alerts"]
    assert entry["status"] == "error"
    assert "series" not in entry
    assert "HTTP 500" in entry["error"]
    assert "storage is on fire" in entry["error"]
    assert "after 4 attempts" in entry["error"]
    assert len(ranges) == 4


def test_total_time_bound_stops_retries_before_attempts_run_out() -> None:
    slept: list[float] = []
    now = [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    policy = RetryPolicy(attempts=10, base_delay_seconds=1.0, max_delay_seconds=100, total_seconds=2.5)

    def script(path: str, params: dict[str, list[str]], calls: int) -> Answer:
        return ERROR_500

    with FakePrometheus(script) as fake, PrometheusCollector(
            f"http://127.0.0.1:{fake.port}", retry=policy, sleep=sleep, clock=lambda: now[0]) as collector:
        outcome = collector.query_range("q", "up", START, END, 15)
    assert outcome.status == "error"
    # waits 1 s, then 2 s would pass the 2.5 s budget: two attempts only
    assert slept == [1.0]
    assert "after 2 attempts" in outcome.error


def test_bad_query_400_is_not_retried_and_keeps_prometheus_error_text(run_dir: Path) -> None:
    def script(path: str, params: dict[str, list[str]], calls: int) -> Answer:
        if (a := instant_ok(path)) is not None:
            return a
        if params["query"] == ["sum(up{)"]:
            return BAD_QUERY
        return matrix(({"job": "x"}, [(START.timestamp(), "1")]))

    with FakePrometheus(script) as fake:
        collect_metrics(run_dir, f"http://127.0.0.1:{fake.port}", {"bad": "sum(up{)", "good": "up"},
                        START, END, retry=FAST, show_progress=False)
        bad_calls = [r for r in fake.requests if r[1].get("query") == ["sum(up{)"]]
    queries = read_metrics(run_dir)["queries"]
    assert queries["bad"]["status"] == "error"
    assert "HTTP 400" in queries["bad"]["error"]
    assert 'parse error: unexpected "}"' in queries["bad"]["error"]
    assert "after 1 attempt" in queries["bad"]["error"]
    assert len(bad_calls) == 1
    assert queries["good"]["status"] == "ok"


def test_empty_result_is_ok_with_no_series_not_zero(run_dir: Path) -> None:
    def script(path: str, params: dict[str, list[str]], calls: int) -> Answer:
        return instant_ok(path) or matrix()

    with FakePrometheus(script) as fake:
        collect_metrics(run_dir, f"http://127.0.0.1:{fake.port}", {"oom": "kube_oom"}, START, END,
                        retry=FAST, show_progress=False)
    assert read_metrics(run_dir)["queries"]["oom"] == {"promql": "kube_oom", "status": "ok", "series": []}


def test_nan_points_are_dropped_not_written_as_numbers(run_dir: Path) -> None:
    def script(path: str, params: dict[str, list[str]], calls: int) -> Answer:
        return instant_ok(path) or matrix(({"pod": "a"}, [(START.timestamp(), "NaN"),
                                                          (START.timestamp() + 15, "0.25")]))

    with FakePrometheus(script) as fake:
        collect_metrics(run_dir, f"http://127.0.0.1:{fake.port}", {"r": "a/b"}, START, END,
                        retry=FAST, show_progress=False)
    entry = read_metrics(run_dir)["queries"]["r"]
    assert entry["series"][0]["points"] == [[START.timestamp() + 15, 0.25]]
    assert entry["non_finite_points_dropped"] == 1


def test_long_window_is_split_under_the_points_limit_and_merged() -> None:
    start = START
    end = datetime.fromtimestamp(START.timestamp() + 15 * 25_000, UTC)  # 25,001 points at 15 s

    def script(path: str, params: dict[str, list[str]], calls: int) -> Answer:
        lo, hi, step = int(params["start"][0]), int(params["end"][0]), int(params["step"][0])
        return matrix(({"pod": "a"}, [(float(t), "1") for t in range(lo, hi + 1, step)]))

    with FakePrometheus(script) as fake, PrometheusCollector(
            f"http://127.0.0.1:{fake.port}", retry=FAST) as collector:
        outcome = collector.query_range("q", "up", start, end, 15)
        ranges = [r for r in fake.requests if r[0] == "/api/v1/query_range"]
    assert len(ranges) == 3
    for _, params, _ in ranges:
        assert (int(params["end"][0]) - int(params["start"][0])) / 15 + 1 <= 11_000
    times = [p[0] for p in outcome.series[0]["points"]]
    assert len(times) == 25_001
    assert times == sorted(set(times))


def test_credentials_in_url_and_bearer_token_never_reach_metrics_json_or_errors(
        run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VALIDATOR_PROMETHEUS_TOKEN", "tok-SECRET-123456")

    def script(path: str, params: dict[str, list[str]], calls: int) -> Answer:
        if (a := instant_ok(path)) is not None:
            return a
        return ERROR_500 if params["query"] == ["broken"] else matrix()

    with FakePrometheus(script) as fake:
        url = f"http://alice:hunter2-pass@127.0.0.1:{fake.port}"
        collect_metrics(run_dir, url, {"broken": "broken", "fine": "up"}, START, END, retry=FAST,
                        show_progress=False)
        headers = [h for _, _, h in fake.requests]
    text = (run_dir / "evidence" / "metrics.json").read_text()
    assert "hunter2-pass" not in text
    assert "alice" not in text
    assert "tok-SECRET-123456" not in text
    assert json.loads(text)["prometheus_url"] == f"http://[redacted]@127.0.0.1:{fake.port}"
    # the token from the environment wins over user:pass and is sent on every request
    assert all(h.get("Authorization") == "Bearer tok-SECRET-123456" for h in headers)

    # unreachable: the exception text names the URL without its credentials or the token
    with pytest.raises(EvidenceUnavailable) as caught:
        collect_metrics(run_dir, f"http://alice:hunter2-pass@127.0.0.1:{fake.port}", {"x": "up"},
                        START, END, retry=FAST, show_progress=False)
    message = str(caught.value)
    assert "hunter2-pass" not in message and "alice" not in message
    assert "tok-SECRET-123456" not in message
    assert "127.0.0.1" in message
    assert "unreachable" in message
    assert "--prometheus-url" in message


def test_basic_auth_from_url_is_sent_as_header_not_in_path(run_dir: Path) -> None:
    def script(path: str, params: dict[str, list[str]], calls: int) -> Answer:
        return instant_ok(path) or matrix()

    with FakePrometheus(script) as fake:
        collect_metrics(run_dir, f"http://alice:hunter2-pass@127.0.0.1:{fake.port}", {"x": "up"},
                        START, END, retry=FAST, show_progress=False, token_env=None)
        auth = {h.get("Authorization") for _, _, h in fake.requests}
    assert auth == {"Basic YWxpY2U6aHVudGVyMi1wYXNz"}  # alice:hunter2-pass


def test_unauthorised_ping_says_how_to_pass_a_token(run_dir: Path) -> None:
    def script(path: str, params: dict[str, list[str]], calls: int) -> Answer:
        return 401, {"status": "error", "error": "unauthorized"}

    with FakePrometheus(script) as fake, pytest.raises(EvidenceUnavailable) as caught:
        collect_metrics(run_dir, f"http://127.0.0.1:{fake.port}", {"x": "up"}, START, END,
                        retry=FAST, show_progress=False)
    assert "HTTP 401" in str(caught.value)
    assert "VALIDATOR_PROMETHEUS_TOKEN" in caught.value.fix
    assert not (run_dir / "evidence" / "metrics.json").exists()


def test_placeholders_are_filled_with_kube_state_metrics_label_and_namespace_matcher() -> None:
    assert kube_state_label("app.kubernetes.io/name") == "label_app_kubernetes_io_name"
    assert namespace_matcher([]) == ""
    assert namespace_matcher(["agents"]) == 'namespace="agents"'
    assert namespace_matcher(["b", "a", "a"]) == 'namespace=~"a|b"'
    q = render_query('sum by ({agent_label}) (kube_pod_labels{{namespace_matcher}})',
                     namespaces=["agents"])
    assert q == 'sum by (label_app_kubernetes_io_name) (kube_pod_labels{namespace="agents"})'
    assert render_query('up{job="x",{namespace_matcher}}') == 'up{job="x",}'
    assert render_query("rate(x[{rate_window}])") == "rate(x[300s])"
    assert render_query("rate(x[{rate_window}])", ranges=QueryRanges(rate_window_s=20)) == "rate(x[20s])"


def test_a_gauge_averaged_over_the_rate_window_is_read_five_times_a_step() -> None:
    """A 2-6 s stage pod's request is read at least once a second in the sandbox (5 s steps), every
    3 s on a real cluster (15 s steps); never more often than once a second."""
    query = "avg_over_time(x[{rate_window}:{sample_step}])"
    assert render_query(query, ranges=QueryRanges.for_run(30.0, 5.0)) == "avg_over_time(x[20s:1s])"
    assert render_query(query, ranges=QueryRanges.for_run(1.0, 15.0)) == "avg_over_time(x[300s:3s])"
    assert render_query(query) == "avg_over_time(x[300s:3s])"
    assert render_query(query, ranges=QueryRanges.for_run(30.0, 2.0)) == "avg_over_time(x[10s:1s])"


def test_unreachable_can_be_recorded_per_query_instead_of_raised(run_dir: Path) -> None:
    """At the end of a run, an unreachable Prometheus must not lose the run: each query says why."""

    def script(path: str, params: dict[str, list[str]], calls: int) -> Answer:
        return matrix()

    with FakePrometheus(script) as fake:
        url = f"http://alice:hunter2-pass@127.0.0.1:{fake.port}"
    collect_metrics(run_dir, url, {"a": "up", "b": "ALERTS"}, START, END, retry=FAST, show_progress=False,
                    record_unreachable=True)
    text = (run_dir / "evidence" / "metrics.json").read_text()
    queries = json.loads(text)["queries"]
    assert {q["status"] for q in queries.values()} == {"error"}
    assert "unreachable" in queries["a"]["error"]
    assert "hunter2-pass" not in text
