"""The run's load: Locust in its own process (validator.load), with its latest progress kept for the
console's progress line."""

from __future__ import annotations

import time
from pathlib import Path

from validator.load.locust_process import LoadProgress, LocustOutcome, LocustProcess, LocustSpec


class ProgressLocust:
    """A LocustProcess with its latest progress kept for the console."""

    def __init__(self, spec: LocustSpec, run_dir: Path) -> None:
        self._latest: LoadProgress | None = None
        self._outcome: LocustOutcome | None = None
        self._process = LocustProcess(spec, run_dir, on_progress=self._keep)
        self.started_ms = 0

    def _keep(self, progress: LoadProgress) -> None:
        self._latest = progress

    def last_progress(self) -> LoadProgress | None:
        return self._latest

    def start(self) -> None:
        self._process.start()
        self.started_ms = int(time.time() * 1000)

    def running(self) -> bool:
        return bool(self._process.running())

    def finish(self, wait_s: float = 0.0) -> LocustOutcome:
        """The outcome: waits up to `wait_s` for Locust to end its shape, then stops it."""
        if self._outcome is None:
            outcome = self._process.wait(timeout=wait_s) if wait_s > 0 else None
            self._outcome = outcome if outcome is not None else self._process.stop()
        return self._outcome

    def describe(self) -> str:
        outcome = self._outcome
        if outcome is None:
            return "running"
        last = outcome.last_progress
        counts = f", {last.total_requests} requests, {last.total_failures} failures" if last else ""
        detail = f": {outcome.detail.splitlines()[-1]}" if outcome.detail else ""
        return f"{outcome.stopped} (exit {outcome.returncode}{counts}){detail}"
