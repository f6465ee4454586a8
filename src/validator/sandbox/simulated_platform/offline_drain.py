"""Without Kubernetes (`--no-kubernetes`): the queue drains at a fixed number of pretend-ready
replicas and a dispatched workflow completes at once. For exercising the load generator and the
API alone (unit tests, the throughput benchmark); nothing here touches a cluster."""

from __future__ import annotations

import threading
import time

from validator.sandbox.simulated_platform.workflow_book import WorkflowBook


class OfflineDrain:
    def __init__(
        self, book: WorkflowBook, *, replicas: int, rate_per_replica: float, time_factor: float
    ) -> None:
        self.book = book
        self.rate = replicas * rate_per_replica * time_factor
        self.burst = max(1.0, float(replicas))
        book.ready_replicas = replicas
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="offline-drain", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)

    def _run(self) -> None:
        tokens, last = 0.0, time.monotonic()
        while not self._stop.wait(0.05):
            now = time.monotonic()
            tokens = min(tokens + self.rate * (now - last), max(self.burst, self.rate * 0.05))
            last = now
            while tokens >= 1.0:
                workflow = self.book.take_next()
                if workflow is None:
                    break
                tokens -= 1.0
                self.book.complete_without_pods(workflow.id)
