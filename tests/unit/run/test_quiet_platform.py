"""Before a sandbox run's window opens, the runner lets the simulated platform drain what an earlier
run left queued (a backlog would be judged as this run's load), and says so; it gives up after its
timeout with a warning rather than waiting forever."""

from __future__ import annotations

import io

from rich.console import Console

from validator.run.preflight import queued_workflows, wait_for_quiet_platform
from validator.sandbox.simulated_platform.offline_drain import OfflineDrain
from validator.sandbox.simulated_platform.submission_api import SubmissionApi
from validator.sandbox.simulated_platform.workflow_book import WorkflowBook, parse_submission

BODY = {"size": "single-file-change", "stages": [{"agent": "rex", "duration_s": 60},
                                                 {"agent": "cleo", "duration_s": 30},
                                                 {"agent": "tess", "duration_s": 45}]}


def _queue(book: WorkflowBook, n: int) -> None:
    for _ in range(n):
        book.submit(*parse_submission(BODY))


def test_the_runner_waits_for_a_backlog_to_drain_and_says_so() -> None:
    book = WorkflowBook(capacity=100)
    api = SubmissionApi(book)
    api.start()
    drain = OfflineDrain(book, replicas=1, rate_per_replica=1.0, time_factor=1.0)  # one per second
    try:
        _queue(book, 4)
        assert queued_workflows(api.url) == 4
        out = io.StringIO()
        drain.start()
        wait_for_quiet_platform(api.url, Console(file=out, width=200), timeout_s=60)
        assert queued_workflows(api.url) == 0
        assert "4 workflows left by an earlier run" in out.getvalue() and "queue is empty" in out.getvalue()
    finally:
        drain.stop()
        api.stop()


def test_a_backlog_that_does_not_drain_is_a_warning_after_the_timeout() -> None:
    book = WorkflowBook(capacity=100)
    api = SubmissionApi(book)
    api.start()
    try:
        _queue(book, 2)  # nothing drains: no controller replica
        out = io.StringIO()
        wait_for_quiet_platform(api.url, Console(file=out, width=200), timeout_s=0.1)
        assert "2 workflows still queued after 0.1s: the run starts with a backlog" in out.getvalue()
    finally:
        api.stop()


def test_an_api_without_the_queue_metric_is_not_waited_for() -> None:
    assert queued_workflows("http://127.0.0.1:9") is None  # nothing listens: no wait, no error
    out = io.StringIO()
    wait_for_quiet_platform("http://127.0.0.1:9", Console(file=out), timeout_s=60)
    assert out.getvalue() == ""
