"""The locustfiles themselves, always in a subprocess: their shapes' tick() sequences, and plain
`locust -f` refusing to start (caps missing, host off the allow-list) before any request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

LOCUST = str(Path(sys.executable).parent / "locust")

# Runs in the child: import the locustfile as Locust would, then drive its shape with a fake clock.
TICKS = r"""
import importlib, json, sys, types
sys.path.insert(0, sys.argv[1])
module = importlib.import_module(sys.argv[2])
from locust import LoadTestShape
shape_cls = next(v for v in vars(module).values()
                 if isinstance(v, type) and issubclass(v, LoadTestShape) and not v.abstract)
shape = shape_cls()
opts = types.SimpleNamespace(max_users="10", max_spawn_rate="4", max_duration="900",
                             time_factor=sys.argv[3], profile_duration="")
shape.runner = types.SimpleNamespace(environment=types.SimpleNamespace(parsed_options=opts))
clock = [0.0]
shape.get_run_time = lambda: clock[0]
ticks = []
while True:
    tick = shape.tick()
    ticks.append(tick)
    if tick is None:
        break
    clock[0] += 1.0
users = [c for c in vars(module).values() if isinstance(c, type) and getattr(c, "abstract", True) is False
         and c.__name__ == "WorkflowUser"]
print(json.dumps({"shape": shape_cls.__name__, "ticks": ticks, "users": len(users)}))
"""

LOADPROFILES = Path(__file__).resolve().parents[3] / "loadprofiles"


def _ticks(profile: str, time_factor: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", TICKS, str(LOADPROFILES), profile, time_factor],
                         capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize(("profile", "factor", "length", "levels"), [
    ("steady", "10", 180, [10]),
    ("burst", "10", 240, [2, 5, 8, 10, 2]),
    ("soak", "96", 300, [6]),
])
def test_locustfile_shapes_tick_as_their_curves(profile: str, factor: str, length: int,
                                                levels: list[int]) -> None:
    result = _ticks(profile, factor)
    ticks = result["ticks"]
    assert isinstance(ticks, list)
    assert result["users"] == 1, "each locustfile exposes exactly one concrete user class"
    assert len(ticks) == length + 1 and ticks[-1] is None
    seen: list[int] = []
    for users, rate in ticks[:-1]:
        assert rate == 4
        if not seen or seen[-1] != users:
            seen.append(users)
    assert seen == levels


def test_diurnal_locustfile_runs_one_compressed_day() -> None:
    ticks = _ticks("diurnal", "144")["ticks"]
    assert isinstance(ticks, list)
    users = [t[0] for t in ticks[:-1]]
    assert len(users) == 600 and users[0] == 1 and max(users) == 10 and ticks[-1] is None


class _CountingHandler(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.hits.append(self.path)
        self.send_response(202)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def counting_server() -> Iterator[tuple[str, list[str]]]:
    _CountingHandler.hits = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CountingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _CountingHandler.hits
    server.shutdown()
    server.server_close()


def _locust(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VALIDATOR_LOAD_")}
    return subprocess.run([LOCUST, *args], capture_output=True, text=True, timeout=60,
                          env={**clean, **(env or {})}, cwd=LOADPROFILES.parent)


@pytest.mark.parametrize("profile", ["steady", "burst", "diurnal", "soak"])
def test_plain_locust_refuses_without_caps_and_sends_nothing(profile: str,
                                                             counting_server: tuple[str, list[str]]) -> None:
    url, hits = counting_server
    out = _locust(["-f", f"loadprofiles/{profile}.py", "--headless", "--host", url])
    assert out.returncode == 4, out.stderr
    assert "load cap max users is not set" in out.stderr and "VALIDATOR_LOAD_MAX_USERS" in out.stderr
    assert hits == []


def test_plain_locust_refuses_a_host_off_the_allow_list() -> None:
    out = _locust(["-f", "loadprofiles/steady.py", "--headless", "--host", "http://192.0.2.10:80",
                   "--max-users", "2", "--max-spawn-rate", "1", "--max-duration", "60",
                   "--time-factor", "60"])
    assert out.returncode == 4
    assert "'192.0.2.10' is not on the allow-list" in out.stderr


def test_plain_locust_refuses_users_above_the_cap(counting_server: tuple[str, list[str]]) -> None:
    url, hits = counting_server
    out = _locust(["-f", "loadprofiles/steady.py", "--headless", "--host", url, "-u", "50",
                   "--time-factor", "60"],
                  env={"VALIDATOR_LOAD_MAX_USERS": "5", "VALIDATOR_LOAD_MAX_SPAWN_RATE": "1",
                       "VALIDATOR_LOAD_MAX_DURATION": "60"})
    assert out.returncode == 4 and "-u/--users 50 is above the cap" in out.stderr
    assert hits == []


def test_plain_locust_runs_with_caps_from_the_environment(counting_server: tuple[str, list[str]]) -> None:
    url, hits = counting_server
    out = _locust(["-f", "loadprofiles/steady.py", "--headless", "--host", url, "--only-summary"],
                  env={"VALIDATOR_LOAD_MAX_USERS": "2", "VALIDATOR_LOAD_MAX_SPAWN_RATE": "2",
                       "VALIDATOR_LOAD_MAX_DURATION": "30", "VALIDATOR_LOAD_TIME_FACTOR": "1000",
                       "VALIDATOR_LOAD_PROFILE_DURATION": "3"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert hits and set(hits) == {"/workflows"}
    assert len(hits) < 100  # 2 users thinking 0.12-0.6 s for 3 s
