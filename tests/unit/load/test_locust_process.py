"""The Locust subprocess runner against the simulated platform's API (no Kubernetes): bounded to a
few users and a few seconds, loopback only."""

from __future__ import annotations

import csv
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from validator.errors import ConfigError, UnsafeOperation
from validator.load.locust_process import (
    LoadProgress,
    LocustProcess,
    LocustSpec,
    check_spec,
    locust_command,
    parse_history_row,
    run_locust,
)
from validator.sandbox.simulated_platform.offline_drain import OfflineDrain
from validator.sandbox.simulated_platform.submission_api import SubmissionApi
from validator.sandbox.simulated_platform.workflow_book import WorkflowBook

LOADPROFILES = Path(__file__).resolve().parents[3] / "loadprofiles"


@pytest.fixture
def platform() -> Iterator[tuple[str, WorkflowBook]]:
    book = WorkflowBook(capacity=10_000)
    drain = OfflineDrain(book, replicas=2, rate_per_replica=50.0, time_factor=1.0)
    api = SubmissionApi(book)
    drain.start()
    api.start()
    yield api.url, book
    api.stop()
    drain.stop()


def _spec(url: str, **kw: object) -> LocustSpec:
    base: dict[str, object] = {"locustfile": LOADPROFILES / "burst.py", "host": url, "max_users": 4,
                               "max_spawn_rate": 4.0, "max_duration_s": 30.0, "time_factor": 600.0,
                               "profile_duration_s": 4.0}
    base.update(kw)
    return LocustSpec(**base)  # type: ignore[arg-type]


def test_command_is_headless_capped_and_writes_the_run_directory_files(tmp_path: Path) -> None:
    spec = _spec("http://127.0.0.1:1", allowed_hosts=("platform.test",), think_time_s=0.0)
    command = locust_command(spec, tmp_path / "load")
    joined = " ".join(command)
    for flag in ("--headless", "--only-summary", "--csv-full-history", f"--csv {tmp_path}/load/locust",
                 f"--html {tmp_path}/load/locust.html", "--run-time 30s", "--max-users 4",
                 "--max-spawn-rate 4", "--max-duration 30", "--time-factor 600", "--profile-duration 4",
                 "--allowed-hosts platform.test", "--think-time 0"):
        assert flag in joined
    assert "--processes" not in joined


def test_spec_checks_happen_before_anything_starts(tmp_path: Path) -> None:
    with pytest.raises(UnsafeOperation, match="allow-list"):
        check_spec(_spec("http://203.0.113.9:80"))
    with pytest.raises(ConfigError, match="does not exist"):
        check_spec(_spec("http://127.0.0.1:1", locustfile=tmp_path / "nope.py"))
    with pytest.raises(ConfigError, match="max_users"):
        check_spec(_spec("http://127.0.0.1:1", max_users=0))


def test_history_rows_are_parsed_for_the_aggregated_line_only() -> None:
    header = ["Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s", "Total Request Count",
              "Total Failure Count"]
    assert parse_history_row(["1700000000", "3", "", "Aggregated", "2.5", "0.5", "10", "2"], header) == \
        LoadProgress(timestamp=1700000000.0, user_count=3, requests_per_s=2.5, failures_per_s=0.5,
                     total_requests=10, total_failures=2)
    assert parse_history_row(["1700000000", "3", "POST", "submit x", "2.5", "0", "10", "0"], header) is None
    assert parse_history_row(["short"], header) is None


def test_a_profile_runs_to_its_end_against_the_simulated_api(platform: tuple[str, WorkflowBook],
                                                             tmp_path: Path) -> None:
    url, book = platform
    progress: list[LoadProgress] = []
    started = time.time()
    outcome = run_locust(_spec(url), tmp_path, on_progress=progress.append)
    assert time.time() - started < 25
    assert outcome.stopped == "finished" and outcome.returncode == 0
    load = tmp_path / "load"
    for name in ("locust_stats_history.csv", "locust_stats.csv", "locust_failures.csv", "locust.html",
                 "locust.log"):
        assert (load / name).is_file(), name
    rows = list(csv.DictReader((load / "locust_stats_history.csv").open()))
    aggregated = [r for r in rows if r["Name"] == "Aggregated"]
    assert aggregated and all(abs(float(r["Timestamp"]) - started) < 60 for r in aggregated)  # epoch seconds
    assert max(int(r["User Count"]) for r in aggregated) <= 4
    assert progress, "progress is streamed while Locust runs"
    assert outcome.last_progress is not None
    assert book.submitted == outcome.last_progress.total_requests > 0
    assert book.completed == book.submitted  # drained and done


def test_stop_interrupts_locust_which_still_writes_its_reports(platform: tuple[str, WorkflowBook],
                                                               tmp_path: Path) -> None:
    url, book = platform
    lines: list[str] = []
    with LocustProcess(_spec(url, locustfile=LOADPROFILES / "steady.py", profile_duration_s=25.0),
                       tmp_path, on_log=lines.append) as load:
        deadline = time.time() + 15
        while book.submitted < 3 and time.time() < deadline:
            time.sleep(0.2)
        assert load.wait(timeout=0.1) is None, "still running"
        started = time.time()
        outcome = load.stop()
    assert time.time() - started < 15
    assert outcome.stopped == "interrupted"
    assert (tmp_path / "load" / "locust.html").is_file(), "SIGINT lets Locust write its HTML report"
    assert not load.running()


def test_a_refusing_locustfile_raises_unsafe_operation(tmp_path: Path) -> None:
    spec = _spec("http://127.0.0.1:9", max_users=501)  # above the locustfile's hard maximum
    with pytest.raises(UnsafeOperation) as refused:
        run_locust(spec, tmp_path)
    assert "above the hard maximum 500" in str(refused.value)


def test_stop_requested_event_ends_the_run(platform: tuple[str, WorkflowBook], tmp_path: Path) -> None:
    url, _ = platform
    stop = threading.Event()
    timer = threading.Timer(2.0, stop.set)
    timer.start()
    started = time.time()
    outcome = run_locust(_spec(url, profile_duration_s=25.0), tmp_path, stop_requested=stop)
    timer.cancel()
    assert outcome.stopped == "interrupted" and time.time() - started < 15


def test_a_locust_that_ignores_sigint_is_terminated(tmp_path: Path) -> None:
    """Escalation: a child that ignores SIGINT gets SIGTERM after the interrupt timeout."""
    fake = tmp_path / "fake_locust"
    fake.write_text("#!/usr/bin/env python3\nimport signal, time\n"
                    "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                    "print('started', flush=True)\ntime.sleep(60)\n")
    fake.chmod(0o755)
    spec = _spec("http://127.0.0.1:9", locust_executable=str(fake))
    lines: list[str] = []
    with LocustProcess(spec, tmp_path, on_log=lines.append) as load:
        deadline = time.time() + 30
        while "started" not in "".join(lines):  # its handler is in place (a loaded machine is slow)
            assert time.time() < deadline, lines
            time.sleep(0.05)
        outcome = load.stop(interrupt_timeout_s=0.5, terminate_timeout_s=2.0)
    assert outcome.stopped == "terminated" and outcome.returncode == -signal.SIGTERM


def test_with_await_result_each_user_waits_for_its_workflow_before_the_next(tmp_path: Path) -> None:
    """Closed loop: a developer reviews each result. Against a platform completing one workflow
    every two seconds, four users can never have more than four workflows in flight, where open-loop
    users with no think time would flood the queue."""
    book = WorkflowBook(capacity=10_000)
    drain = OfflineDrain(book, replicas=1, rate_per_replica=0.5, time_factor=1.0)
    api = SubmissionApi(book)
    drain.start()
    api.start()
    peak = 0
    try:
        spec = _spec(api.url, locustfile=LOADPROFILES / "steady.py", profile_duration_s=8.0, think_time_s=0.0,
                     extra_env={"VALIDATOR_LOAD_AWAIT_RESULT": "/workflows/{id}"})
        with LocustProcess(spec, tmp_path) as load:
            while load.running():
                peak = max(peak, book.queue_depth())
                time.sleep(0.1)
        outcome = load.wait(timeout=30)
    finally:
        api.stop()
        drain.stop()
    assert outcome is not None and outcome.returncode == 0
    assert 0 < peak <= 4, f"queue depth peaked at {peak}"
    assert book.submitted <= book.completed + 4
    rows = list(csv.DictReader((tmp_path / "load" / "locust_stats.csv").open()))
    results = next(r for r in rows if r["Name"] == "workflow result")
    assert int(results["Request Count"]) >= book.completed - 4 and int(results["Failure Count"]) == 0


def test_a_held_profile_stands_still_and_ends_late_by_the_hold(platform: tuple[str, WorkflowBook],
                                                               tmp_path: Path) -> None:
    """The suite run holds the profile while a fault overruns (validator/load/shape_hold.py): Locust
    keeps its users at the point held and ends later by the time held."""
    from validator.load.shape_hold import ShapeHold

    url, _ = platform
    hold = ShapeHold(tmp_path / "load" / "shape_hold.json", max_hold_s=20.0)
    # a 20 s burst: 4 users (its peak) from 10 s to 15 s of its clock, which starts a second or so
    # after the process (Locust's history, flushed every 10 s, cannot say when: too late to follow)
    spec = _spec(url, profile_duration_s=20.0, max_duration_s=60.0, hold_file=hold.path, max_hold_s=20.0,
                 think_time_s=0.2)
    with LocustProcess(spec, tmp_path) as process:
        time.sleep(11.0)
        hold.hold()
        time.sleep(4.0)
        held = hold.release()
        outcome = process.wait(timeout=60)
    assert outcome is not None and outcome.stopped == "finished"
    assert (outcome.ended_ms - outcome.started_ms) / 1000 >= 20.0 + held - 0.5, "ends late by the hold"
    rows = [r for r in csv.DictReader((tmp_path / "load" / "locust_stats_history.csv").open())
            if r["Name"] == "Aggregated"]
    at_peak = [float(r["Timestamp"]) for r in rows if int(r["User Count"]) == 4]
    # unheld, the peak lasts 5 s; held, 5 s + the hold (the history has a row a second)
    assert at_peak and max(at_peak) - min(at_peak) >= held + 2.5
