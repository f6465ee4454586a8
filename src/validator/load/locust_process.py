"""Locust in a subprocess: start it with caps, stream its progress, stop it cleanly.

Never imports locust: `import locust` monkey-patches the standard library for gevent, which breaks
the Kubernetes client and chaoslib in this process (docs/libraries.md). The child writes into the
run directory's `load/` (docs/run-directory.md):

    load/locust_stats_history.csv   --csv-full-history, epoch-second timestamps
    load/locust_stats.csv, locust_failures.csv, locust_exceptions.csv, locust.html
    load/locust.log                 the child's stdout and stderr, line by line

Stopping: SIGINT (Locust stops its users, writes the HTML report and the CSVs, exits), then
SIGTERM (exits without the HTML report), then SIGKILL, each after its own timeout.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Literal
from urllib.parse import urlsplit

from validator.errors import ConfigError, UnsafeOperation
from validator.run_directory.layout import LOAD_DIR
from validator.run_directory.locust_results import history_sample

CSV_PREFIX = "locust"
REFUSED_EXIT_CODE = 4  # loadprofiles/workflow_users.py: refused before anything was sent
DEFAULT_ALLOWED_HOSTS = ("127.0.0.1", "localhost", "::1")

StopReason = Literal["finished", "interrupted", "terminated", "killed", "refused", "failed"]


@dataclass(frozen=True, slots=True, kw_only=True)
class LocustSpec:
    """What to run. The caps are passed to the locustfile, which refuses to start without them."""

    locustfile: Path
    host: str
    max_users: int
    max_spawn_rate: float
    max_duration_s: float
    time_factor: float = 1.0
    profile_duration_s: float | None = None  # wall-clock length of the shape; None: profile / factor
    allowed_hosts: tuple[str, ...] = ()  # besides 127.0.0.1, localhost, ::1
    think_time_s: float | None = None  # fixed wait between submissions; None: the mix's think times
    extra_env: Mapping[str, str] = field(default_factory=dict)  # e.g. VALIDATOR_LOAD_TARGET, seeds
    extra_args: tuple[str, ...] = ()
    stop_timeout_s: float = 5.0  # Locust --stop-timeout: grace for users' in-flight tasks
    locust_executable: str | None = None  # default: the `locust` next to this Python
    cpu_affinity: tuple[int, ...] | None = None  # pin the child to these CPUs (benchmarks)
    hold_file: Path | None = None  # shape_hold.ShapeHold's file: the profile stands still while it holds
    max_hold_s: float = 0.0  # the most it may hold; max_duration_s must leave room for it


@dataclass(frozen=True, slots=True, kw_only=True)
class LoadProgress:
    """The latest "Aggregated" row of the stats history."""

    timestamp: float  # epoch seconds
    user_count: int
    requests_per_s: float
    failures_per_s: float
    total_requests: int
    total_failures: int


@dataclass(frozen=True, slots=True, kw_only=True)
class LocustOutcome:
    returncode: int | None
    stopped: StopReason
    load_dir: Path
    started_ms: int
    ended_ms: int
    last_progress: LoadProgress | None
    detail: str = ""  # the refusal or failure text from Locust's output

    @property
    def had_request_failures(self) -> bool:
        """Locust exits 1 when any request failed (its --exit-code-on-error default)."""
        return self.returncode == 1


def _locust_executable(spec: LocustSpec) -> list[str]:
    if spec.locust_executable:
        return [spec.locust_executable]
    sibling = Path(sys.executable).parent / "locust"
    if sibling.exists():
        return [str(sibling)]
    return [sys.executable, "-m", "locust"]


def check_spec(spec: LocustSpec) -> None:
    """The checks this process can make before starting anything (the locustfile repeats them and
    adds its hard maxima)."""
    where = f"load profile {spec.locustfile}"
    if not spec.locustfile.is_file():
        raise ConfigError(f"locustfile {spec.locustfile} does not exist", where=where,
                          fix="give a file of loadprofiles/: steady.py, burst.py, diurnal.py or soak.py")
    for name, value in (("max_users", spec.max_users), ("max_spawn_rate", spec.max_spawn_rate),
                        ("max_duration_s", spec.max_duration_s), ("time_factor", spec.time_factor)):
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ConfigError(f"load cap {name} must be a positive number, got {value!r}", where=where,
                              fix=f"set {name} in the suite's load section")
    parts = urlsplit(spec.host if "://" in spec.host else f"http://{spec.host}")
    host = (parts.hostname or "").lower()
    allowed = {h.lower().strip("[]") for h in (*DEFAULT_ALLOWED_HOSTS, *spec.allowed_hosts)}
    if host not in allowed:
        raise UnsafeOperation(f"load target host {host!r} is not on the allow-list {sorted(allowed)}",
                              where=f"{where}: host {spec.host}",
                              fix="point the load at the platform's loopback address, or add the host to "
                                  "allowed_hosts on purpose")


def locust_command(spec: LocustSpec, load_dir: Path) -> list[str]:
    """The child's argv: headless, caps, CSV with full history, HTML, bounded run time."""
    run_time = math.ceil(spec.max_duration_s)
    command = [
        *_locust_executable(spec), "-f", str(spec.locustfile),
        "--headless", "--only-summary",
        "--host", spec.host,
        "--csv", str(load_dir / CSV_PREFIX), "--csv-full-history",
        "--html", str(load_dir / f"{CSV_PREFIX}.html"),
        "--run-time", f"{run_time}s",
        "--stop-timeout", f"{spec.stop_timeout_s:g}",
        "--max-users", str(spec.max_users),
        "--max-spawn-rate", f"{spec.max_spawn_rate:g}",
        "--max-duration", f"{spec.max_duration_s:g}",
        "--time-factor", f"{spec.time_factor:g}",
    ]
    if spec.profile_duration_s is not None:
        command += ["--profile-duration", f"{spec.profile_duration_s:g}"]
    if spec.allowed_hosts:
        command += ["--allowed-hosts", ",".join(spec.allowed_hosts)]
    if spec.think_time_s is not None:
        command += ["--think-time", f"{spec.think_time_s:g}"]
    if spec.hold_file is not None:
        command += ["--hold-file", str(spec.hold_file), "--max-hold", f"{spec.max_hold_s:g}"]
    return [*command, *spec.extra_args]


def locust_environment(spec: LocustSpec, base: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ if base is None else base)
    env.update(spec.extra_env)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def parse_history_row(row: list[str], header: list[str]) -> LoadProgress | None:
    """An "Aggregated" row of locust_stats_history.csv, or None for any other row."""
    if len(row) != len(header):
        return None
    values = dict(zip(header, row, strict=True))
    if values.get("Name") != "Aggregated":
        return None
    try:
        sample = history_sample(values)
    except (TypeError, ValueError):
        return None
    return LoadProgress(
        timestamp=sample.timestamp, user_count=sample.user_count, requests_per_s=sample.requests_per_s,
        failures_per_s=sample.failures_per_s, total_requests=sample.total_requests,
        total_failures=sample.total_failures,
    )


class LocustProcess:
    """One Locust child. Use as a context manager so it is always stopped:

        with LocustProcess(spec, run_dir, on_progress=print) as load:
            outcome = load.wait(timeout=None)
    """

    def __init__(self, spec: LocustSpec, run_dir: Path, *,
                 on_progress: Callable[[LoadProgress], None] | None = None,
                 on_log: Callable[[str], None] | None = None,
                 progress_interval_s: float = 1.0) -> None:
        check_spec(spec)
        self.spec = spec
        self.load_dir = Path(run_dir) / LOAD_DIR
        self._on_progress = on_progress
        self._on_log = on_log
        self._interval = progress_interval_s
        self._process: subprocess.Popen[bytes] | None = None
        self._threads: list[threading.Thread] = []
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._last_progress: LoadProgress | None = None
        self._tail: list[str] = []  # last lines of output, for refusal / failure detail
        self._stopped_by: StopReason | None = None
        self._started_ms = 0
        self._outcome: LocustOutcome | None = None
        self._history_offset = 0
        self._history_header: list[str] | None = None
        self._history_partial = ""

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._process is not None:
            raise RuntimeError("LocustProcess.start() called twice")
        self.load_dir.mkdir(parents=True, exist_ok=True)
        command = locust_command(self.spec, self.load_dir)
        self._started_ms = int(time.time() * 1000)
        self._process = subprocess.Popen(
            command, env=locust_environment(self.spec), stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,  # a terminal's Ctrl-C reaches us only; we forward it
        )
        if self.spec.cpu_affinity is not None and hasattr(os, "sched_setaffinity"):
            with contextlib.suppress(ProcessLookupError):
                os.sched_setaffinity(self._process.pid, set(self.spec.cpu_affinity))
        for target, name in ((self._pump_output, "locust-output"), (self._follow_history, "locust-progress")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def wait(self, timeout: float | None = None) -> LocustOutcome | None:
        """The outcome once Locust has exited; None if it is still running after `timeout` seconds.
        A run that outlives its --max-duration by more than a minute is stopped here."""
        process = self._require()
        deadline = self.spec.max_duration_s + self.spec.stop_timeout_s + 60.0
        remaining = max(0.0, self._started_ms / 1000 + deadline - time.time())
        limit = remaining if timeout is None else min(timeout, remaining)
        try:
            process.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            if timeout is not None and timeout < remaining:
                return None
            return self.stop()
        return self._finish()

    def stop(self, *, interrupt_timeout_s: float = 30.0, terminate_timeout_s: float = 10.0) -> LocustOutcome:
        """SIGINT, then SIGTERM, then SIGKILL; each waits its timeout for Locust to exit."""
        process = self._require()
        for sig, reason, wait_s in ((signal.SIGINT, "interrupted", interrupt_timeout_s),
                                    (signal.SIGTERM, "terminated", terminate_timeout_s),
                                    (signal.SIGKILL, "killed", 10.0)):
            if process.poll() is not None:
                break
            with self._lock:
                self._stopped_by = reason  # type: ignore[assignment]
            self._signal(sig)
            try:
                process.wait(timeout=wait_s)
            except subprocess.TimeoutExpired:
                continue
        return self._finish()

    def __enter__(self) -> LocustProcess:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._process is not None and self._process.poll() is None:
            self.stop()
        elif self._process is not None:
            self._finish()

    # ------------------------------------------------------------------ internals
    def _require(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise RuntimeError("LocustProcess is not started")
        return self._process

    def _signal(self, sig: signal.Signals) -> None:
        process = self._require()
        try:
            os.killpg(process.pid, sig)  # its own session: the group is Locust and its children only
        except ProcessLookupError:
            pass
        except PermissionError:
            process.send_signal(sig)

    def _finish(self) -> LocustOutcome:
        if self._outcome is not None:
            return self._outcome
        process = self._require()
        returncode = process.wait()
        self._done.set()
        for thread in self._threads:
            thread.join(timeout=5.0)
        self._read_history_once()  # the rows Locust wrote while shutting down
        with self._lock:
            tail = "\n".join(self._tail[-20:])
            stopped: StopReason
            if self._stopped_by is not None:
                stopped = self._stopped_by
            elif returncode == REFUSED_EXIT_CODE:
                stopped = "refused"
            elif returncode in (0, 1):
                stopped = "finished"
            else:
                stopped = "failed"
            detail = tail if stopped in ("refused", "failed") else ""
            self._outcome = LocustOutcome(returncode=returncode, stopped=stopped, load_dir=self.load_dir,
                                          started_ms=self._started_ms, ended_ms=int(time.time() * 1000),
                                          last_progress=self._last_progress, detail=detail)
        return self._outcome

    def _pump_output(self) -> None:
        process = self._require()
        assert process.stdout is not None
        with (self.load_dir / f"{CSV_PREFIX}.log").open("a", encoding="utf-8") as log:
            for raw in iter(process.stdout.readline, b""):
                line = raw.decode("utf-8", errors="replace").rstrip("\n")
                log.write(line + "\n")
                log.flush()
                with self._lock:
                    self._tail.append(line)
                    del self._tail[:-200]
                if self._on_log is not None:
                    self._on_log(line)

    def _read_history_once(self) -> None:
        path = self.load_dir / f"{CSV_PREFIX}_stats_history.csv"
        try:
            with path.open("r", encoding="utf-8", newline="") as handle:
                handle.seek(self._history_offset)
                chunk = handle.read()
                self._history_offset = handle.tell()
        except FileNotFoundError:
            return
        text = self._history_partial + chunk
        complete, _, self._history_partial = text.rpartition("\n")
        if not complete:
            return
        for row in csv.reader(io.StringIO(complete + "\n")):
            if self._history_header is None:
                self._history_header = row
                continue
            progress = parse_history_row(row, self._history_header)
            if progress is None:
                continue
            with self._lock:
                self._last_progress = progress
            if self._on_progress is not None:
                self._on_progress(progress)

    def _follow_history(self) -> None:
        while not self._done.wait(self._interval):
            self._read_history_once()


def run_locust(spec: LocustSpec, run_dir: Path, *,
               on_progress: Callable[[LoadProgress], None] | None = None,
               on_log: Callable[[str], None] | None = None,
               stop_requested: threading.Event | None = None) -> LocustOutcome:
    """Run one load profile to its end (or until `stop_requested` is set), always stopping Locust.

    Raises UnsafeOperation when the locustfile refused to start (caps, host allow-list)."""
    with LocustProcess(spec, run_dir, on_progress=on_progress, on_log=on_log) as load:
        outcome: LocustOutcome | None = None
        while outcome is None:
            if stop_requested is not None and stop_requested.is_set():
                outcome = load.stop()
                break
            outcome = load.wait(timeout=0.5)
    if outcome.stopped == "refused":
        what, where, fix = refusal_parts(outcome.detail)
        raise UnsafeOperation(f"the load profile refused to start: {what}",
                              where=f"{spec.locustfile}: {where}" if where else str(spec.locustfile),
                              fix=fix or f"see {outcome.load_dir / (CSV_PREFIX + '.log')}")
    return outcome


REFUSAL_MARK = "validator load profile refused to start: "


def refusal_parts(output: str) -> tuple[str, str, str]:
    """(what, where, fix) of the refusal a locustfile printed (loadprofiles/workflow_users.py)."""
    lines = output.splitlines()
    for index, line in enumerate(lines):
        if REFUSAL_MARK in line:
            what = line.split(REFUSAL_MARK, 1)[1].strip()
            where = fix = ""
            for follow in lines[index + 1:index + 3]:
                text = follow.strip()
                if text.startswith("where:"):
                    where = text.removeprefix("where:").strip()
                elif text.startswith("fix:"):
                    fix = text.removeprefix("fix:").strip()
            return what, where, fix
    last = next((line for line in reversed(lines) if line.strip()), "no output")
    return last.strip(), "", ""
