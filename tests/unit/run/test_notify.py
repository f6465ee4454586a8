"""The webhook: a Slack-compatible message when a run fails or aborts, posted to a real local
receiver; nothing when it passes or no URL is set; a receiver that fails never shows the URL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tests.support.evidence import T0
from validator.model import CriterionOutcome, Summary, TimeWindow, Verdict
from validator.run.notify import WEBHOOK_ENV, notify

WINDOW = TimeWindow(start=T0, end=T0 + 600)
REPORT = Path("reports/r/report.html")


class Receiver:
    def __init__(self, status: int) -> None:
        self.bodies: list[dict[str, object]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                receiver.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"no such channel" if status >= 400 else b"ok")

            def log_message(self, *_: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/T0KEN-s3cr3t"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver(request: pytest.FixtureRequest) -> Iterator[Receiver]:
    r = Receiver(getattr(request, "param", 200))
    yield r
    r.server.shutdown()


def _summary(verdict: Verdict, aborted: str = "") -> Summary:
    outcome = CriterionOutcome(id="pdb_respected", verdict=verdict)
    return Summary(run_id="r1", window=WINDOW, verdict=verdict, criteria=(outcome,), aborted=aborted)


def test_a_failed_or_aborted_run_is_posted_as_slack_text(receiver: Receiver) -> None:
    env = {WEBHOOK_ENV: receiver.url}
    said = notify(_summary(Verdict.FAIL), suite="nightly", context="prod-eu", report=REPORT, environ=env)
    assert said == f"webhook (${WEBHOOK_ENV}) notified"
    notify(
        _summary(Verdict.FAIL, aborted="alert X is firing"),
        suite="nightly",
        context="prod-eu",
        report=REPORT,
        environ=env,
    )
    first, second = (b["text"] for b in receiver.bodies)
    assert isinstance(first, str) and isinstance(second, str)
    assert (
        first.startswith("validator nightly on prod-eu: FAIL (run r1)") and "failed: pdb_respected" in first
    )
    assert str(REPORT) in first
    assert "the run aborted itself: alert X is firing" in second


def test_nothing_is_sent_for_a_pass_or_without_a_url(receiver: Receiver) -> None:
    assert (
        notify(
            _summary(Verdict.PASS), suite="s", context="c", report=REPORT, environ={WEBHOOK_ENV: receiver.url}
        )
        == ""
    )
    assert notify(_summary(Verdict.FAIL), suite="s", context="c", report=REPORT, environ={}) == ""
    assert receiver.bodies == []


@pytest.mark.parametrize("receiver", [404], indirect=True)
def test_a_failing_receiver_is_reported_without_its_url(receiver: Receiver) -> None:
    said = notify(
        _summary(Verdict.FAIL), suite="s", context="c", report=REPORT, environ={WEBHOOK_ENV: receiver.url}
    )
    assert "HTTP 404" in said and "T0KEN" not in said and receiver.url not in said


def test_an_unreachable_receiver_is_reported_without_its_url() -> None:
    url = "http://127.0.0.1:9/hooks/T0KEN-s3cr3t"  # discard port: nothing listens
    said = notify(_summary(Verdict.FAIL), suite="s", context="c", report=REPORT, environ={WEBHOOK_ENV: url})
    assert said.startswith(f"webhook (${WEBHOOK_ENV}) not reached") and "T0KEN" not in said
