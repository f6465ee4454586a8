"""Fixtures for tests against the real local control plane.

One sandbox per test session: reused when one is already up (a developer's, or another session's
that keeps it), else started here and stopped at the end. Tests isolate by namespace.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from validator.sandbox import lifecycle


@dataclass
class Sandbox:
    info: lifecycle.SandboxInfo
    api: Any

    @property
    def kubeconfig(self) -> Path:
        return Path(self.info.kubeconfig)

    @property
    def context(self) -> str:
        return self.info.context

    @property
    def prometheus_url(self) -> str:
        return self.info.prometheus_url

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def apps(self) -> client.AppsV1Api:
        return client.AppsV1Api(self.api)


# A developer can point the tests at another sandbox by name (default: the one `validator sandbox up` makes).
SANDBOX_NAME = os.environ.get("VALIDATOR_TEST_SANDBOX", lifecycle.DEFAULT_NAME)


def sandbox_name_for(worker: str) -> str:
    """The sandbox of a pytest-xdist worker: the first (gw0, or no xdist) uses SANDBOX_NAME, each
    other worker a sandbox of its own (`<name>-gw1`), so whole runs that redeploy the platform in
    its fixed namespaces never meet."""
    return SANDBOX_NAME if worker in ("", "master", "gw0") else f"{SANDBOX_NAME}-{worker}"


@pytest.fixture(scope="session")
def sandbox(worker_id: str) -> Iterator[Sandbox]:
    name = sandbox_name_for(worker_id)
    current = lifecycle.status(name)
    started_here = False
    # Reuse a sandbox whose apiserver and Prometheus answer, even with a node NotReady: another
    # session's node-failure test may be holding one down for a moment, and tearing the shared
    # sandbox down under it would break that session.
    # A sandbox one of whose components died (the stand-in aside: every deploy restarts it) is
    # started again.
    components_alive = current is not None and all(
        alive for process, alive in current.processes_alive.items() if process != lifecycle.SIMULATED_PLATFORM
    )
    if current is not None and current.apiserver_ready and current.prometheus_ready and components_alive:
        info = current.info
    else:
        if current is not None:
            lifecycle.down(name)
        info = lifecycle.up(
            lifecycle.SandboxOptions(name=name), progress=lambda m: print(f"[sandbox {name}] {m}", flush=True)
        )
        started_here = True
    api = lifecycle.api_client(info)
    try:
        yield Sandbox(info=info, api=api)
    finally:
        api.close()
        if started_here:
            lifecycle.down(name)


@pytest.fixture
def namespace(sandbox: Sandbox) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    sandbox.core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={"validator-test": "1"}))
    )
    try:
        yield name
    finally:
        sandbox.core.delete_namespace(name, grace_period_seconds=0)


def wait_until(what: str, check: Any, timeout_s: float = 60.0, interval_s: float = 0.5) -> Any:
    """Poll `check()` until it returns a truthy value; fail with `what` after the deadline."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval_s)
    pytest.fail(f"timed out after {timeout_s:.0f}s waiting for {what} (last: {last!r})")
