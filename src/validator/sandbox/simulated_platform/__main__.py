"""python -m validator.sandbox.simulated_platform: run the STAND-IN platform until SIGINT/SIGTERM.

Prints one JSON line on stdout when it is serving: {"event": "ready", "url": ..., "port": ...}.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from validator.errors import UnsafeOperation, ValidatorError
from validator.kube import api_client as kube_api_client
from validator.sandbox.simulated_platform.cluster_driver import (
    CONTROLLER_SELECTOR,
    ClusterDriver,
    DriverOptions,
)
from validator.sandbox.simulated_platform.offline_drain import OfflineDrain
from validator.sandbox.simulated_platform.submission_api import SubmissionApi
from validator.sandbox.simulated_platform.workflow_book import WorkflowBook

DEFAULT_ALLOWED_CONTEXT_PREFIX = "kwok-"  # sandbox contexts (docs/sandbox-contract.md)
SCRAPE_JOB = "workflow-platform"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m validator.sandbox.simulated_platform",
        description="A stand-in for the agent platform, for the sandbox: workflow API, queue, agent pods.",
    )
    parser.add_argument("--kubeconfig", help="kubeconfig file (the sandbox's: `validator sandbox env`)")
    parser.add_argument("--context", help="kubeconfig context; must start with kwok- unless --allow-context")
    parser.add_argument(
        "--allow-context",
        action="append",
        default=[],
        help="also allow this non-sandbox context (on purpose)",
    )
    parser.add_argument("--namespace", default="agents", help="where agent pods are created")
    parser.add_argument(
        "--controller-namespace",
        default="workflow-system",
        help="where the controller Deployment lives (platform/base: workflow-system)",
    )
    parser.add_argument("--controller-selector", default=CONTROLLER_SELECTOR)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (loopback only)")
    parser.add_argument("--port", type=int, default=0, help="0: a free port, printed on the ready line")
    parser.add_argument(
        "--time-factor",
        type=float,
        default=1.0,
        help="stage durations and the drain rate are compressed by this factor",
    )
    parser.add_argument("--queue-capacity", type=int, default=500, help="429 beyond this many queued")
    parser.add_argument(
        "--dispatch-rate-per-replica",
        type=float,
        default=0.05,
        help="workflows/s one ready controller replica dispatches, real-cluster time",
    )
    parser.add_argument(
        "--max-running-workflows",
        type=int,
        default=0,
        help="the controller's concurrency limit: at most this many workflows in flight (0: none)",
    )
    parser.add_argument(
        "--usage-interval", type=float, default=15.0, help="seconds between agent usage rounds"
    )
    parser.add_argument(
        "--controller-interval", type=float, default=5.0, help="seconds between controller usage updates"
    )
    parser.add_argument(
        "--max-writes-per-s", type=float, default=20.0, help="cap on usage patches per second"
    )
    parser.add_argument(
        "--keep-finished",
        type=float,
        default=120.0,
        help="seconds a Succeeded agent pod is kept before the platform deletes it",
    )
    parser.add_argument(
        "--no-agent-usage-updates", action="store_true", help="set agent usage only when creating the pod"
    )
    parser.add_argument(
        "--scrape-targets-dir",
        type=Path,
        help="the sandbox Prometheus's file_sd directory: register /metrics there",
    )
    parser.add_argument(
        "--no-kubernetes",
        action="store_true",
        help="API and queue only; workflows complete when dispatched (benchmarks, tests)",
    )
    parser.add_argument(
        "--replicas-without-kubernetes",
        type=int,
        default=2,
        help="pretend-ready controller replicas with --no-kubernetes",
    )
    parser.add_argument("--seed", type=int)
    return parser.parse_args(argv)


def check_context(context: str | None, allowed: list[str]) -> None:
    if context and (context.startswith(DEFAULT_ALLOWED_CONTEXT_PREFIX) or context in allowed):
        return
    raise UnsafeOperation(
        f"the simulated platform writes pods, and context {context!r} is not a sandbox context",
        where="--context of python -m validator.sandbox.simulated_platform",
        fix="use the sandbox's context (kwok-validator-sandbox), or pass --allow-context NAME on purpose",
    )


def _register_scrape_target(directory: Path, port: int, namespace: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{SCRAPE_JOB}-{port}.json"  # one file per platform: several may run at once
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(
        json.dumps(
            [{"targets": [f"127.0.0.1:{port}"], "labels": {"job": SCRAPE_JOB, "namespace": namespace}}]
        )
    )
    tmp.replace(path)
    return path


def run(args: argparse.Namespace) -> int:
    if args.time_factor <= 0 or args.queue_capacity <= 0:
        raise UnsafeOperation(
            "--time-factor and --queue-capacity must be > 0",
            where="command line",
            fix="pass positive numbers",
        )
    book = WorkflowBook(capacity=args.queue_capacity)
    stopper: OfflineDrain | ClusterDriver
    if args.no_kubernetes:
        stopper = OfflineDrain(
            book,
            replicas=args.replicas_without_kubernetes,
            rate_per_replica=args.dispatch_rate_per_replica,
            time_factor=args.time_factor,
        )
    else:
        check_context(args.context, args.allow_context)
        # --kubeconfig, else the first file of $KUBECONFIG, else ~/.kube/config (kubectl's order)
        kubeconfig = args.kubeconfig or (os.environ.get("KUBECONFIG") or "").split(os.pathsep)[0]
        api_client = kube_api_client(kubeconfig or "~/.kube/config", args.context)
        stopper = ClusterDriver(
            book,
            api_client,
            DriverOptions(
                namespace=args.namespace,
                controller_namespace=args.controller_namespace,
                controller_selector=args.controller_selector,
                time_factor=args.time_factor,
                dispatch_rate_per_replica=args.dispatch_rate_per_replica,
                max_running_workflows=args.max_running_workflows,
                usage_interval_s=args.usage_interval,
                controller_interval_s=args.controller_interval,
                max_writes_per_s=args.max_writes_per_s,
                keep_finished_s=args.keep_finished,
                agent_usage_updates=not args.no_agent_usage_updates,
                seed=args.seed,
            ),
            on_error=lambda message: print(f"simulated-platform: {message}", file=sys.stderr, flush=True),
        )
    api = SubmissionApi(book, host=args.host, port=args.port)
    done = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    target: Path | None = None
    stopper.start()
    api.start()
    try:
        if args.scrape_targets_dir:
            target = _register_scrape_target(args.scrape_targets_dir, api.port, args.controller_namespace)
        print(
            json.dumps(
                {
                    "event": "ready",
                    "url": api.url,
                    "port": api.port,
                    "namespace": args.namespace,
                    "controller_namespace": args.controller_namespace,
                }
            ),
            flush=True,
        )
        while not done.wait(1.0):
            pass
    finally:
        book.accepting = False  # new submissions get 503 while we stop
        stopper.stop()
        api.stop()
        if target is not None:
            target.unlink(missing_ok=True)
        print(
            json.dumps(
                {
                    "event": "stopped",
                    "submitted": book.submitted,
                    "completed": book.completed,
                    "failed": book.failed,
                    "queued": book.queue_depth(),
                }
            ),
            flush=True,
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        return run(parse_args(argv))
    except ValidatorError as error:
        print(f"simulated-platform: {error}", file=sys.stderr)
        return int(error.exit_code)


if __name__ == "__main__":
    sys.exit(main())
