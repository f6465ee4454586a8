"""What `validator run` was asked to do, and where the run's evidence comes from (resolved before
any cluster call)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from validator.config.suite_file import ExperimentSpec, Mode, Suite
from validator.errors import ConfigError
from validator.export import ExportTargets
from validator.kube.in_cluster import IN_CLUSTER
from validator.model import RegressionPolicy, RehearsalScope
from validator.sandbox.lifecycle import running_sandbox_for


@dataclass(frozen=True, slots=True, kw_only=True)
class RehearsalTarget:
    """The node, or the pool of nodes, a maintenance rehearsal would drain."""

    node: str = ""
    pool: str = ""

    @property
    def selector(self) -> str:
        return f"kubernetes.io/hostname={self.node}" if self.node else f"node-pool={self.pool}"

    def describe(self) -> str:
        return f"node {self.node}" if self.node else f"pool {self.pool}"

    def scope(self) -> RehearsalScope:
        return RehearsalScope(node=self.node, pool=self.pool)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRequest:
    """What `validator run` was asked to do (the command line, resolved)."""

    suite: Suite
    context: str
    kubeconfig: str | None = None
    allowlist: Path | None = None
    output: Path | None = None
    mode: Mode | None = None  # None: sandbox when the context is a running sandbox's
    prometheus_url: str = ""
    workflow_api_url: str = ""
    dry_run: bool = False
    rehearsal_target: RehearsalTarget | None = None
    extra_env: Mapping[str, str] = field(default_factory=dict)
    history: Path | None = None  # the history file (None: beside the run directory)
    regressions: RegressionPolicy | None = None  # None: the suite's `regressions.policy`
    export: ExportTargets = field(default_factory=ExportTargets)  # Pushgateway / OpenSearch, off by default


@dataclass
class RunEnvironment:
    """Where the run's evidence comes from, resolved in preflight."""

    mode: Mode
    kubeconfig: str | None
    prometheus_url: str
    workflow_api_url: str
    sandbox: bool = False  # the context is a running sandbox's (its simulated nodes react to `sandbox`)


def resolve_environment(request: RunRequest) -> RunEnvironment:
    """The run's mode, kubeconfig and URLs: the command line, then the environment, then the running
    sandbox the context belongs to. Raises ConfigError when a URL the run needs is nowhere."""
    info = running_sandbox_for(request.context)
    mode: Mode = request.mode or ("sandbox" if info is not None else "real")
    # a ServiceAccount (`in-cluster`) never borrows the sandbox's own kubeconfig
    own = info is not None and request.context != IN_CLUSTER
    kubeconfig = request.kubeconfig or (info.kubeconfig if own and info is not None else None)
    prometheus = (
        request.prometheus_url
        or os.environ.get("VALIDATOR_PROMETHEUS_URL", "")
        or (info.prometheus_url if info is not None else "")
    )
    api = (
        request.workflow_api_url
        or os.environ.get("VALIDATOR_WORKFLOW_API_URL", "")
        or (info.workflow_api_url if info is not None else "")
    )
    if not prometheus:
        raise ConfigError(
            "no Prometheus URL for this run",
            where="--prometheus-url / $VALIDATOR_PROMETHEUS_URL",
            fix="pass --prometheus-url (e.g. a port-forward to the cluster's Prometheus)",
        )
    if not api and request.suite.load.target == "http" and not request.dry_run:
        fix = (
            "run `validator sandbox deploy testing` (it starts the simulated platform's submission API)"
            if info is not None
            else "pass --workflow-api-url URL of the platform's submission API"
        )
        raise ConfigError(
            "no workflow submission API URL for the load",
            where=("--workflow-api-url / $VALIDATOR_WORKFLOW_API_URL / sandbox.json workflow_api_url"),
            fix=fix,
        )
    return RunEnvironment(
        mode=mode,
        kubeconfig=kubeconfig,
        prometheus_url=prometheus,
        workflow_api_url=api,
        sandbox=info is not None,
    )


def experiment_env(request: RunRequest, exp: ExperimentSpec, mode: Mode) -> dict[str, str]:
    """The environment an experiment runs with: the process's, the timings', the experiment's."""
    return {**os.environ, **request.suite.timing(mode).env, **exp.env, **request.extra_env}
