"""The simulated platform's HTTP API, on loopback only (stdlib ThreadingHTTPServer).

POST /workflows        {"size": ..., "stages": [...]}  -> 202 {"id": ...}
                       400 invalid body, 429 queue full (Retry-After), 503 shutting down
GET  /workflows/<id>   -> 200 the workflow's state and stage history, 404 unknown
GET  /healthz          -> 200 ok
GET  /metrics          -> Prometheus text format (workflow_queue_depth and related series)
"""

from __future__ import annotations

import ipaddress
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from validator.errors import UnsafeOperation
from validator.sandbox.simulated_platform.exposition import CONTENT_TYPE
from validator.sandbox.simulated_platform.workflow_book import (
    QueueFull,
    SubmissionInvalid,
    WorkflowBook,
    parse_submission,
)

MAX_BODY_BYTES = 64 * 1024
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    book: WorkflowBook


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: a load generator reuses its connections
    # Headers and body leave in one segment (buffered, flushed per request) with Nagle off: else
    # the client's delayed ACK holds every response back ~40 ms and caps throughput per connection.
    wbufsize = -1
    disable_nagle_algorithm = True
    server: _Server
    server_version = "validator-simulated-platform"

    def log_message(self, format: str, *args: Any) -> None:
        return None  # one line per request would cost more than the request

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers=headers)

    def do_GET(self) -> None:
        book = self.server.book
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._send(200, b"ok\n", "text/plain; charset=utf-8")
        elif path == "/metrics":
            self._send(200, book.metrics_text().encode(), CONTENT_TYPE)
        elif path.startswith("/workflows/"):
            snapshot = book.get(path.removeprefix("/workflows/"))
            if snapshot is None:
                self._json(404, {"error": f"no workflow {path.removeprefix('/workflows/')!r}"})
            else:
                self._json(200, snapshot)
        else:
            self._json(404, {"error": f"no such path {path!r}; try POST /workflows, GET /metrics"})

    def do_POST(self) -> None:
        book = self.server.book
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._json(413, {"error": f"body over {MAX_BODY_BYTES} bytes"})
            return
        raw = self.rfile.read(length) if length else b""
        if self.path.split("?", 1)[0] != "/workflows":
            self._json(404, {"error": f"no such path {self.path!r}; submissions go to POST /workflows"})
            return
        if not book.accepting:
            book.reject("unavailable")
            self._json(503, {"error": "the platform is shutting down"}, {"Retry-After": "5"})
            return
        try:
            size, stages = parse_submission(json.loads(raw or b"null"))
        except (SubmissionInvalid, ValueError) as invalid:
            book.reject("invalid")
            self._json(400, {"error": str(invalid)})
            return
        try:
            workflow = book.submit(size, stages)
        except QueueFull as full:
            self._json(429, {"error": str(full)}, {"Retry-After": "5"})
            return
        self._json(202, {"id": workflow.id, "state": workflow.state})


def check_loopback(host: str) -> None:
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise UnsafeOperation(
            f"the simulated platform binds to loopback only, not {host!r}",
            where="--host of python -m validator.sandbox.simulated_platform",
            fix="use 127.0.0.1 (the default)",
        )


class SubmissionApi:
    """The HTTP server in a background thread. Port 0 picks a free port (see `.port`)."""

    def __init__(self, book: WorkflowBook, *, host: str = "127.0.0.1", port: int = 0) -> None:
        check_loopback(host)
        self._server = _Server((host, port), _Handler)
        self._server.book = book
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="submission-api",
            daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = str(self._server.server_address[0])
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5.0)
