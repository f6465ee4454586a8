"""The recorder's recovery paths, with faults the real apiserver cannot produce on demand.

A scripted list/watch call stands in for a kubernetes client method: it serves list pages and
watch streams as raw bytes, exactly as the client's `_preload_content=False` responses do, and
injects the faults: a `410 Gone` ERROR event inside the stream, an HTTP 410 on the watch call, a
connection that breaks mid-stream, a read timeout, a refused list. Everything else (parsing, the
lines written, resuming, relisting, stopping) is the recorder's real code.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from validator.collect.recorder import KubernetesRecorder, RecorderTuning, WatchedResource

FAST = RecorderTuning(
    server_timeout_seconds=5,
    read_margin_seconds=1,
    backoff_base_seconds=0.01,
    backoff_max_seconds=0.05,
)


def pod(name: str, rv: int, **extra: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "agents",
            "uid": f"uid-{name}",
            "resourceVersion": str(rv),
            "managedFields": [{"manager": "kubectl"}],
        },
        "status": {"phase": "Running", **extra},
    }


def event(kind: str, obj: dict[str, Any]) -> bytes:
    return (json.dumps({"type": kind, "object": obj}) + "\n").encode()


def gone_event() -> bytes:
    status = {
        "kind": "Status",
        "code": 410,
        "reason": "Expired",
        "message": "too old resource version: 11 (14)",
    }
    return event("ERROR", status)


def bookmark(rv: int) -> bytes:
    return event("BOOKMARK", {"kind": "Pod", "metadata": {"resourceVersion": str(rv)}})


class FakeResponse:
    """A urllib3 response: `data` for a list, `stream()` for a watch; `shutdown()` unblocks it."""

    def __init__(
        self, *, data: bytes = b"", chunks: list[bytes | BaseException] | None = None, hold: bool = False
    ):
        self.data = data
        self._chunks = chunks or []
        self._hold = hold
        self._shut = threading.Event()

    def stream(self, amt: Any = None, decode_content: bool = False) -> Iterator[bytes]:
        for chunk in self._chunks:
            if isinstance(chunk, BaseException):
                raise chunk
            yield chunk
        if self._hold:  # an open, quiet watch: blocks until the recorder shuts it down
            self._shut.wait(30)
            raise urllib3.exceptions.ProtocolError("connection shut down")

    def shutdown(self) -> None:
        self._shut.set()

    def close(self) -> None:
        pass

    def release_conn(self) -> None:
        pass


Step = FakeResponse | BaseException


class ScriptedListWatch:
    """One resource's list/watch method: the scripted steps in order, then a quiet held watch."""

    def __init__(self, lists: list[Step], watches: list[Step]) -> None:
        self.lists = list(lists)
        self.watches = list(watches)
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> FakeResponse:
        self.calls.append(kwargs)
        script = self.watches if kwargs.get("watch") else self.lists
        step: Step = script.pop(0) if script else FakeResponse(hold=True)
        if isinstance(step, BaseException):
            raise step
        return step

    @property
    def watch_versions(self) -> list[str | None]:
        return [c.get("resource_version") for c in self.calls if c.get("watch")]

    @property
    def list_count(self) -> int:
        return sum(1 for c in self.calls if not c.get("watch"))


def page(items: list[dict[str, Any]], rv: int) -> FakeResponse:
    return FakeResponse(data=json.dumps({"items": items, "metadata": {"resourceVersion": str(rv)}}).encode())


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def wait_for(predicate: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def record(
    tmp_path: Path, script: ScriptedListWatch, until: Callable[[list[dict[str, Any]]], bool]
) -> list[dict]:
    out = tmp_path / "evidence" / "k8s.jsonl"
    recorder = KubernetesRecorder(
        out, [WatchedResource(kind="Pod", namespace="agents", list_call=script)], tuning=FAST
    )
    with recorder:
        wait_for(lambda: out.exists() and until(read_lines(out)), "the scripted lines")
    return read_lines(out)


def summary(lines: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(r["type"], r.get("name", ""), r.get("resource_version", "")) for r in lines]


def test_410_inside_the_stream_relists_and_records_the_gap(tmp_path: Path) -> None:
    script = ScriptedListWatch(
        lists=[page([pod("a", 10), pod("b", 11)], 11), page([pod("a", 14), pod("c", 13)], 15)],
        watches=[
            FakeResponse(chunks=[event("MODIFIED", pod("a", 12)), gone_event()]),
            FakeResponse(chunks=[event("ADDED", pod("d", 16))], hold=True),
        ],
    )
    lines = record(tmp_path, script, lambda ls: any(r.get("name") == "d" for r in ls))

    assert summary(lines) == [
        ("RELIST", "a", "10"),
        ("RELIST", "b", "11"),
        ("MODIFIED", "a", "12"),
        ("GAP", "", ""),
        ("RELIST", "a", "14"),
        ("RELIST", "c", "13"),
        ("ADDED", "d", "16"),
    ]
    gap = lines[3]
    assert gap["kind"] == "Pod"
    assert "410" in gap["reason"]
    assert gap["relist"] is True  # the RELIST lines after it are the whole state
    assert gap["from_ms"] <= gap["to_ms"] <= lines[4]["received_ms"]
    assert gap["from_ms"] >= lines[2]["received_ms"]  # the gap starts when the stream was last alive
    # watched from the first list's version, then from the relist's: nothing replayed twice
    assert script.watch_versions[:2] == ["11", "15"]
    assert script.list_count == 2


def test_http_410_on_the_watch_call_relists(tmp_path: Path) -> None:
    script = ScriptedListWatch(
        lists=[page([pod("a", 10)], 10), page([pod("a", 20)], 21)],
        watches=[
            ApiException(status=410, reason="Gone"),
            FakeResponse(chunks=[event("MODIFIED", pod("a", 22))], hold=True),
        ],
    )
    lines = record(tmp_path, script, lambda ls: any(r.get("resource_version") == "22" for r in ls))

    assert summary(lines) == [
        ("RELIST", "a", "10"),
        ("GAP", "", ""),
        ("RELIST", "a", "20"),
        ("MODIFIED", "a", "22"),
    ]
    assert script.watch_versions[:2] == ["10", "21"]


def test_dropped_connection_resumes_from_the_last_version_without_loss_or_duplicates(tmp_path: Path) -> None:
    script = ScriptedListWatch(
        lists=[page([pod("a", 10)], 10)],
        watches=[
            FakeResponse(
                chunks=[
                    event("MODIFIED", pod("a", 11)),
                    event("ADDED", pod("b", 12)),
                    urllib3.exceptions.ProtocolError("Connection broken: IncompleteRead(0 bytes read)"),
                ]
            ),
            urllib3.exceptions.MaxRetryError(None, "/api/v1/namespaces/agents/pods", "Connection refused"),
            FakeResponse(chunks=[event("MODIFIED", pod("b", 13)), event("DELETED", pod("a", 14))], hold=True),
        ],
    )
    lines = record(tmp_path, script, lambda ls: any(r["type"] == "DELETED" for r in ls))

    assert summary(lines) == [
        ("RELIST", "a", "10"),
        ("MODIFIED", "a", "11"),
        ("ADDED", "b", "12"),
        ("GAP", "", ""),
        ("MODIFIED", "b", "13"),
        ("DELETED", "a", "14"),
    ]
    gap = lines[3]
    assert "connection" in gap["reason"].lower()
    assert gap["relist"] is False  # replayed, not relisted
    assert gap["from_ms"] >= lines[2]["received_ms"]
    assert gap["to_ms"] <= lines[4]["received_ms"]
    # no relist: the watch resumed from the last version seen, twice (refused, then accepted)
    assert script.list_count == 1
    assert script.watch_versions[:3] == ["10", "12", "12"]
    versions = [r["resource_version"] for r in lines if r["type"] != "GAP"]
    assert len(versions) == len(set(versions))


def test_bookmark_moves_the_resume_point_and_a_clean_end_is_no_gap(tmp_path: Path) -> None:
    script = ScriptedListWatch(
        lists=[page([pod("a", 10)], 10)],
        watches=[
            FakeResponse(chunks=[bookmark(30)]),  # the apiserver's timeout ends this watch cleanly
            FakeResponse(chunks=[event("MODIFIED", pod("a", 31))], hold=True),
        ],
    )
    lines = record(tmp_path, script, lambda ls: any(r.get("resource_version") == "31" for r in ls))

    assert summary(lines) == [("RELIST", "a", "10"), ("MODIFIED", "a", "31")]
    assert script.watch_versions[:2] == ["10", "30"]


def test_a_silent_connection_is_noticed_by_the_read_timeout(tmp_path: Path) -> None:
    script = ScriptedListWatch(
        lists=[page([pod("a", 10)], 10)],
        watches=[
            FakeResponse(
                chunks=[urllib3.exceptions.ReadTimeoutError(None, "/api/v1/pods", "Read timed out.")]
            ),
            FakeResponse(chunks=[event("MODIFIED", pod("a", 11))], hold=True),
        ],
    )
    lines = record(tmp_path, script, lambda ls: any(r.get("resource_version") == "11" for r in ls))

    assert [r["type"] for r in lines] == ["RELIST", "GAP", "MODIFIED"]
    assert "read timeout" in lines[1]["reason"]


def test_the_request_carries_bookmarks_and_both_timeouts(tmp_path: Path) -> None:
    script = ScriptedListWatch(lists=[page([], 5)], watches=[])
    record(tmp_path, script, lambda ls: len(script.watch_versions) >= 1)

    watch_call = next(c for c in script.calls if c.get("watch"))
    assert watch_call["allow_watch_bookmarks"] is True
    assert watch_call["timeout_seconds"] == FAST.server_timeout_seconds
    assert watch_call["_request_timeout"] == (FAST.connect_timeout_seconds, 6)
    assert watch_call["_preload_content"] is False
    assert watch_call["namespace"] == "agents"


def test_managed_fields_are_stripped_and_list_items_get_their_kind(tmp_path: Path) -> None:
    script = ScriptedListWatch(
        lists=[page([pod("a", 10)], 10)],
        watches=[FakeResponse(chunks=[event("MODIFIED", pod("a", 11))], hold=True)],
    )
    lines = record(tmp_path, script, lambda ls: len(ls) >= 2)

    for line in lines:
        assert "managedFields" not in line["object"]["metadata"]
    assert lines[0]["object"]["kind"] == "Pod"
    assert lines[0]["object"]["apiVersion"] == "v1"
    assert lines[0]["namespace"] == "agents"
    assert lines[0]["uid"] == "uid-a"


def test_a_refused_first_list_is_a_gap_from_the_start_then_the_state(tmp_path: Path) -> None:
    script = ScriptedListWatch(
        lists=[ApiException(status=503, reason="Service Unavailable"), page([pod("a", 10)], 10)], watches=[]
    )
    lines = record(tmp_path, script, lambda ls: len(ls) >= 2)

    assert [r["type"] for r in lines] == ["GAP", "RELIST"]
    assert "HTTP 503" in lines[0]["reason"]
    assert lines[0]["relist"] is True


def test_stop_is_prompt_closes_an_open_gap_and_leaves_whole_lines(tmp_path: Path) -> None:
    forbidden = ScriptedListWatch(lists=[ApiException(status=403, reason="Forbidden")] * 1000, watches=[])
    quiet = ScriptedListWatch(lists=[page([pod("a", 10)], 10)], watches=[])
    out = tmp_path / "k8s.jsonl"
    recorder = KubernetesRecorder(
        out,
        [
            WatchedResource(kind="Pod", namespace="agents", list_call=quiet),
            WatchedResource(kind="PodDisruptionBudget", namespace="agents", list_call=forbidden),
        ],
        tuning=FAST,
    )
    recorder.start()
    wait_for(lambda: quiet.watch_versions == ["10"], "the pod watch to open")
    with pytest.raises(
        Exception, match="PodDisruptionBudget in namespace agents: apiserver answered HTTP 403"
    ):
        recorder.wait_until_synced(timeout=0.3)

    assert recorder.synced_ms is None  # the PDBs were never listed: no window is fully seen
    began = time.monotonic()
    stats = recorder.stop()
    assert time.monotonic() - began < 2.0

    text = out.read_text()
    assert text.endswith("\n")
    lines = [json.loads(line) for line in text.splitlines()]
    gaps = [r for r in lines if r["type"] == "GAP"]
    assert len(gaps) == 1
    assert gaps[0]["kind"] == "PodDisruptionBudget"
    assert "stopped before the stream recovered" in gaps[0]["reason"]
    assert gaps[0]["relist"] is False
    assert gaps[0]["from_ms"] == recorder.started_ms
    assert stats.gaps == 1
    assert stats.dropped_after_stop == 0


def test_an_unreadable_line_is_a_gap_and_the_watch_resumes(tmp_path: Path) -> None:
    script = ScriptedListWatch(
        lists=[page([pod("a", 10)], 10)],
        watches=[
            FakeResponse(chunks=[event("MODIFIED", pod("a", 11)), b'{"type": "MODIFIED", "object": {tru\n']),
            FakeResponse(chunks=[event("MODIFIED", pod("a", 12))], hold=True),
        ],
    )
    lines = record(tmp_path, script, lambda ls: any(r.get("resource_version") == "12" for r in ls))

    assert [r["type"] for r in lines] == ["RELIST", "MODIFIED", "GAP", "MODIFIED"]
    assert "unreadable response" in lines[2]["reason"]
    assert script.watch_versions[:2] == ["10", "11"]


def test_a_line_split_across_chunks_is_one_record(tmp_path: Path) -> None:
    whole = event("MODIFIED", pod("a", 11))
    script = ScriptedListWatch(
        lists=[page([pod("a", 10)], 10)],
        watches=[FakeResponse(chunks=[whole[:7], whole[7:30], whole[30:]], hold=True)],
    )
    lines = record(tmp_path, script, lambda ls: len(ls) >= 2)

    assert summary(lines) == [("RELIST", "a", "10"), ("MODIFIED", "a", "11")]


KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: u
  user: {token: "s3cr3t-token-value"}
contexts:
- name: right
  context: {cluster: c, user: u}
current-context: right
"""


def test_kubeconfig_errors_name_the_file_and_context_but_never_its_contents(tmp_path: Path) -> None:
    from validator.errors import ConfigError
    from validator.kube import api_client

    path = tmp_path / "kubeconfig.yaml"
    path.write_text(KUBECONFIG)
    with pytest.raises(ConfigError) as missing:
        api_client(tmp_path / "absent.yaml", "right")
    assert "absent.yaml" in str(missing.value)
    with pytest.raises(ConfigError) as wrong:
        api_client(path, "wrong")
    assert "wrong" in str(wrong.value) and str(path) in str(wrong.value)
    with pytest.raises(ConfigError, match="no kubeconfig context"):
        api_client(path, "")
    path.write_text(KUBECONFIG.replace("kind: Config", "kind: [Config"))
    with pytest.raises(ConfigError) as broken:
        api_client(path, "right")
    for error in (missing, wrong, broken):
        assert "s3cr3t" not in str(error.value)

    path.write_text(KUBECONFIG)
    api = api_client(path, "right", connections=50)
    try:
        assert api.configuration.host == "https://127.0.0.1:6443"
        assert api.configuration.connection_pool_maxsize == 50  # one connection per open watch
    finally:
        api.close()


def test_an_apiserver_that_ends_every_watch_at_once_is_not_hammered(tmp_path: Path) -> None:
    script = ScriptedListWatch(lists=[page([pod("a", 10)], 10)], watches=[FakeResponse() for _ in range(200)])
    out = tmp_path / "k8s.jsonl"
    recorder = KubernetesRecorder(
        out, [WatchedResource(kind="Pod", namespace="agents", list_call=script)], tuning=FAST
    )
    with recorder:
        time.sleep(0.5)
    # FAST backs off 10..50 ms: without the guard this would be thousands of calls
    assert len(script.watch_versions) < 60, len(script.watch_versions)
    assert set(script.watch_versions) == {"10"}


def test_synced_ms_bounds_the_fully_seen_window(tmp_path: Path) -> None:
    script = ScriptedListWatch(lists=[page([pod("a", 10)], 10)], watches=[])
    out = tmp_path / "k8s.jsonl"
    recorder = KubernetesRecorder(
        out, [WatchedResource(kind="Pod", namespace="agents", list_call=script)], tuning=FAST
    )
    with recorder:
        assert recorder.synced_ms is not None
        assert recorder.started_ms is not None
        assert recorder.started_ms <= recorder.synced_ms <= read_lines(out)[0]["received_ms"] + 50
    assert recorder.stopped_ms is not None and recorder.stopped_ms >= recorder.synced_ms


def test_an_empty_relist_still_says_the_gap_was_relisted(tmp_path: Path) -> None:
    script = ScriptedListWatch(
        lists=[page([pod("a", 10)], 10), page([], 20)],
        watches=[
            FakeResponse(chunks=[gone_event()]),
            FakeResponse(chunks=[event("ADDED", pod("b", 21))], hold=True),
        ],
    )
    lines = record(tmp_path, script, lambda ls: any(r.get("name") == "b" for r in ls))

    # pod a vanished during the gap: nothing is relisted, and the GAP says a relist happened
    assert summary(lines) == [("RELIST", "a", "10"), ("GAP", "", ""), ("ADDED", "b", "21")]
    assert lines[1]["relist"] is True


def test_a_410_relist_is_logged_as_routine_and_a_refused_list_as_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A 410 happens on every quiet Event watch (no watch cache, no bookmarks): the GAP line records
    it, the console does not alarm; an apiserver that refuses is a warning."""
    caplog.set_level(logging.INFO, logger="validator.collect.recorder")
    gone = ScriptedListWatch(
        lists=[page([pod("a", 10)], 10), page([pod("a", 10)], 20)],
        watches=[
            FakeResponse(chunks=[gone_event()]),
            FakeResponse(chunks=[event("ADDED", pod("b", 21))], hold=True),
        ],
    )
    record(tmp_path / "gone", gone, lambda ls: any(r.get("name") == "b" for r in ls))
    refused = ScriptedListWatch(
        lists=[ApiException(status=503, reason="Service Unavailable"), page([pod("a", 10)], 10)], watches=[]
    )
    record(tmp_path / "refused", refused, lambda ls: len(ls) >= 2)

    logged = [(r.levelno, r.getMessage()) for r in caplog.records if r.getMessage().startswith("recorder:")]
    assert [level for level, text in logged if "410 Gone" in text] == [logging.INFO], logged
    assert [level for level, text in logged if "HTTP 503" in text] == [logging.WARNING], logged


def test_the_recorder_counts_every_list_and_watch_request_it_sends(tmp_path: Path) -> None:
    """The request rate the recorder puts on the apiserver (benchmarks/recorder_at_scale.py) comes
    from these counters: a paged list, a 410 on the watch, the relist and the watches after it."""
    first = FakeResponse(
        data=json.dumps(
            {"items": [pod("a", 10)], "metadata": {"resourceVersion": "10", "continue": "next"}}
        ).encode()
    )
    script = ScriptedListWatch(
        lists=[first, page([pod("b", 11)], 11), page([pod("a", 20)], 21)],
        watches=[
            ApiException(status=410, reason="Gone"),
            FakeResponse(chunks=[event("MODIFIED", pod("a", 22))], hold=True),
        ],
    )
    out = tmp_path / "k8s.jsonl"
    recorder = KubernetesRecorder(
        out, [WatchedResource(kind="Pod", namespace="agents", list_call=script)], tuning=FAST
    )
    with recorder:
        wait_for(lambda: out.exists() and '"resource_version":"22"' in out.read_text(), "the MODIFIED line")
    stats = recorder.stats()
    assert (stats.list_requests, stats.watch_requests) == (3, 2)
    assert (stats.list_requests, stats.watch_requests) == (
        script.list_count,
        len(script.watch_versions),
    )
