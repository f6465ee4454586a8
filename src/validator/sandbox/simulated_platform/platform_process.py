"""Run the simulated platform as a child process, for the runner and the tests.

    with SimulatedPlatformProcess(PlatformSettings(kubeconfig=..., context=..., time_factor=10)) as platform:
        url = platform.url           # the submission API, for LocustSpec(host=...)
        ...
    # stopped: SIGINT, then SIGTERM, then SIGKILL

A child process, not threads in the runner: the platform's writes and watches then never compete
with the runner's recorder for one interpreter, and a crash of either leaves the other standing.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from validator.errors import SandboxError


@dataclass(frozen=True, slots=True, kw_only=True)
class PlatformSettings:
    kubeconfig: Path | None = None
    context: str | None = None
    namespace: str = "agents"
    controller_namespace: str = "workflow-system"
    time_factor: float = 1.0
    queue_capacity: int = 500
    dispatch_rate_per_replica: float = 0.05
    usage_interval_s: float = 15.0
    controller_interval_s: float = 5.0
    scrape_targets_dir: Path | None = None  # the sandbox's SandboxInfo.targets_dir
    no_kubernetes: bool = False
    port: int = 0  # 0: a free port, reported on the ready line
    max_running_workflows: int = 0  # the controller's concurrency limit (0: none)
    log_file: Path | None = None  # the child's stderr; default: a temporary file
    extra_args: tuple[str, ...] = ()  # any other option of `python -m validator.sandbox.simulated_platform`

    def argv(self) -> list[str]:
        """The command line of the stand-in (`python -m validator.sandbox.simulated_platform ...`): the one
        way it is launched, as a child of this process (SimulatedPlatformProcess) or as a sandbox
        process that outlives it (`validator sandbox deploy`)."""
        argv = [
            sys.executable,
            "-m",
            "validator.sandbox.simulated_platform",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--namespace",
            self.namespace,
            "--controller-namespace",
            self.controller_namespace,
            "--time-factor",
            f"{self.time_factor:g}",
            "--queue-capacity",
            str(self.queue_capacity),
            "--dispatch-rate-per-replica",
            f"{self.dispatch_rate_per_replica:g}",
            "--usage-interval",
            f"{self.usage_interval_s:g}",
            "--controller-interval",
            f"{self.controller_interval_s:g}",
            "--max-running-workflows",
            str(self.max_running_workflows),
        ]
        if self.kubeconfig is not None:
            argv += ["--kubeconfig", str(self.kubeconfig)]
        if self.context is not None:
            argv += ["--context", self.context]
        if self.scrape_targets_dir is not None:
            argv += ["--scrape-targets-dir", str(self.scrape_targets_dir)]
        if self.no_kubernetes:
            argv.append("--no-kubernetes")
        return [*argv, *self.extra_args]


class SimulatedPlatformProcess:
    def __init__(self, settings: PlatformSettings, *, start_timeout_s: float = 30.0) -> None:
        self.settings = settings
        self.start_timeout_s = start_timeout_s
        self._process: subprocess.Popen[str] | None = None
        self.ready: dict[str, Any] = {}
        self.stopped: dict[str, Any] = {}
        self._log: IO[str] | None = None

    @property
    def url(self) -> str:
        return str(self.ready["url"])

    @property
    def port(self) -> int:
        return int(self.ready["port"])

    def start(self) -> None:
        # stderr to a file, never a pipe nobody drains (a full pipe would block the platform)
        if self.settings.log_file is not None:
            self.settings.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log = self.settings.log_file.open("a+", encoding="utf-8")
        else:
            self._log = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed at stop
        self._process = subprocess.Popen(
            self.settings.argv(), stdout=subprocess.PIPE, stderr=self._log, text=True, start_new_session=True
        )
        line: list[str] = []
        reader = threading.Thread(target=lambda: line.append(self._stdout().readline()), daemon=True)
        reader.start()
        reader.join(self.start_timeout_s)
        if not line or not line[0].strip():
            detail = self._stop_and_collect()
            raise SandboxError(
                "the simulated platform did not start",
                where=" ".join(self.settings.argv()[:3]),
                fix=f"read its error: {detail.strip()[-800:] or 'no output'}",
            )
        self.ready = json.loads(line[0])

    def stop(self, *, interrupt_timeout_s: float = 20.0) -> dict[str, Any]:
        """Graceful stop; returns its final counters ({"submitted", "completed", "failed", "queued"})."""
        self._stop_and_collect(interrupt_timeout_s)
        return self.stopped

    def _stdout(self) -> IO[str]:
        assert self._process is not None and self._process.stdout is not None
        return self._process.stdout

    def _stop_and_collect(self, interrupt_timeout_s: float = 20.0) -> str:
        process = self._process
        if process is None:
            return ""
        steps = ((signal.SIGINT, interrupt_timeout_s), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0))
        for sig, wait_s in steps:
            if process.poll() is not None:
                break
            process.send_signal(sig)
            try:
                process.wait(timeout=wait_s)
            except subprocess.TimeoutExpired:
                continue
        rest = self._stdout().read()
        for text in rest.splitlines():
            if text.startswith("{"):
                event = json.loads(text)
                if event.get("event") == "stopped":
                    self.stopped = event
        errors = ""
        if self._log is not None:
            self._log.seek(0)
            errors = self._log.read()
            self._log.close()
            self._log = None
        self._process = None
        return str(errors)

    def __enter__(self) -> SimulatedPlatformProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
