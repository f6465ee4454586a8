"""Real servers on free 127.0.0.1 ports, stopped by the fixtures' finalizers whatever the test did:
Debian's prometheus-pushgateway, and Prometheus scraping it or evaluating a rule file."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PUSHGATEWAY = shutil.which("prometheus-pushgateway") or "/usr/bin/prometheus-pushgateway"
PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
SCRAPE_INTERVAL_S = 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    return free_port()


def _serve(
    argv: list[str], log_path: Path, ready_url: str, headers: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as log:
        server = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, log_path.read_text()
                try:
                    ready = urllib.request.Request(ready_url, headers=headers or {})
                    with urllib.request.urlopen(ready, timeout=2) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    pass
                assert time.monotonic() < deadline, f"{argv[0]} not ready in 60 s: {log_path.read_text()}"
                time.sleep(0.1)
            yield server
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def pushgateway(root: Path, *, user: str = "", bcrypt_hash: str = "", password: str = "") -> Iterator[str]:
    """A Pushgateway; with `user`, one that asks for HTTP basic auth (its web config holds the
    password's bcrypt hash; `password` is only used to see that it is ready)."""
    port = free_port()
    argv = [
        PUSHGATEWAY,
        f"--web.listen-address=127.0.0.1:{port}",
        f"--persistence.file={root / 'pushgateway.data'}",
        "--log.level=warn",
    ]
    headers = {}
    if user:
        web_config = root / "web.yml"
        web_config.write_text(f"basic_auth_users:\n  {user}: '{bcrypt_hash}'\n", encoding="utf-8")
        argv.append(f"--web.config.file={web_config}")
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    url = f"http://127.0.0.1:{port}"
    for _ in _serve(argv, root / "pushgateway.log", f"{url}/-/ready", headers):
        yield url


def prometheus(root: Path, pushgateway_url: str) -> Iterator[str]:
    """A Prometheus scraping the Pushgateway (its pushed labels kept)."""
    target = urllib.parse.urlsplit(pushgateway_url).netloc
    yield from _prometheus(
        root,
        "scrape_configs:\n"
        "  - job_name: pushgateway\n"
        "    honor_labels: true\n"
        f"    static_configs:\n      - targets: ['{target}']\n",
    )


def prometheus_with_rules(root: Path, rules: str) -> Iterator[str]:
    """A Prometheus evaluating `rules` (a rule file's text) every second, scraping nothing: its
    alerts are driven by their expressions alone (e.g. `vector(time()) < T`)."""
    rule_file = root / "rules.yml"
    rule_file.write_text(rules, encoding="utf-8")
    yield from _prometheus(root, f"rule_files: ['{rule_file}']\n")


def _prometheus(root: Path, config_tail: str) -> Iterator[str]:
    config = root / "prometheus.yml"
    config.write_text(
        f"global:\n  scrape_interval: {SCRAPE_INTERVAL_S}s\n  evaluation_interval: 1s\n" + config_tail,
        encoding="utf-8",
    )
    port = free_port()
    argv = [
        PROMETHEUS,
        f"--config.file={config}",
        f"--storage.tsdb.path={root / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    url = f"http://127.0.0.1:{port}"
    for _ in _serve(argv, root / "prometheus.log", f"{url}/-/ready"):
        yield url


def query(prometheus_url: str, promql: str, **params: float | str) -> Any:
    """The `data` of Prometheus's HTTP API answer: an instant query, or a range query when `start`
    is given."""
    path = "query_range" if "start" in params else "query"
    body = urllib.parse.urlencode({"query": promql, **{k: str(v) for k, v in params.items()}}).encode()
    with urllib.request.urlopen(f"{prometheus_url}/api/v1/{path}", data=body, timeout=30) as answer:
        document = json.loads(answer.read())
    assert document["status"] == "success", document
    return document["data"]


def wait_for(prometheus_url: str, promql: str, *, timeout_s: float = 30.0) -> list[Any]:
    """The instant query's series once it has any (Prometheus scraped the push)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found: list[Any] = query(prometheus_url, promql)["result"]
        if found:
            return found
        assert time.monotonic() < deadline, f"{promql} returned nothing in {timeout_s:g} s"
        time.sleep(0.2)
