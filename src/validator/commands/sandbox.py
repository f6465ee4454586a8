"""`validator sandbox up | down | status | env | build | deploy`: the local cluster."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from validator.commands import Subcommands
from validator.errors import ExitCode, SandboxError
from validator.sandbox import lifecycle, platform_deploy, toolchain

_err = Console(stderr=True, highlight=False)


def _progress(message: str) -> None:
    _err.print(f"[dim]{time.strftime('%H:%M:%S')}[/dim] {message}")


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "sandbox",
        help="a real local Kubernetes control plane with simulated (kwok) nodes, on 127.0.0.1",
        description="The embedded sandbox: kube-apiserver, controller-manager, scheduler and etcd "
        "built from their Go modules, kwok nodes in the brief's pools, metrics-server, "
        "kube-state-metrics and Prometheus. State lives under ~/.local/state/validator/sandbox/<name> "
        f"(or ${lifecycle.STATE_DIR_ENV}); binaries are cached under ~/.cache/validator.",
    )
    actions = parser.add_subparsers(dest="sandbox_command", metavar="ACTION")

    up = actions.add_parser("up", help="start the sandbox (does nothing if it is already up)")
    up.add_argument("--name", default=lifecycle.DEFAULT_NAME, help="cluster name (default: %(default)s)")
    up.add_argument(
        "--nodes",
        type=int,
        default=10,
        help="fake nodes over the four pools, at least 2 per pool (default: %(default)s)",
    )
    up.add_argument(
        "--timing",
        choices=["compressed", "production"],
        default="compressed",
        help="compressed: HPA sync 1 s, short stabilisation, node heartbeat factor 1 (tests, "
        "demos); production: Kubernetes' defaults (default: %(default)s)",
    )
    up.set_defaults(handler=_up)

    down = actions.add_parser("down", help="stop every sandbox process and remove its files")
    down.add_argument("--name", default=lifecycle.DEFAULT_NAME)
    down.set_defaults(handler=_down)

    status = actions.add_parser("status", help="what runs where, and whether every node is Ready")
    status.add_argument("--name", default=lifecycle.DEFAULT_NAME)
    status.set_defaults(handler=_status)

    env = actions.add_parser("env", help='print the exports a shell needs: eval "$(validator sandbox env)"')
    env.add_argument("--name", default=lifecycle.DEFAULT_NAME)
    env.set_defaults(handler=_env)

    build = actions.add_parser("build", help="build and cache the sandbox's binaries (resumable)")
    build.set_defaults(handler=_build)

    deploy = actions.add_parser("deploy", help="apply the reference platform (platform/) to the sandbox")
    deploy.add_argument(
        "overlay", nargs="?", default="testing", help="overlay under platform/overlays (default: %(default)s)"
    )
    deploy.add_argument("--name", default=lifecycle.DEFAULT_NAME)
    deploy.add_argument(
        "--timeout",
        type=_positive_seconds,
        default=300.0,
        metavar="SECONDS",
        help="how long to wait for the platform to be healthy (default: %(default)g; a platform of "
        "thousands of pods needs more)",
    )
    deploy.set_defaults(handler=_deploy)

    def usage(_args: argparse.Namespace) -> int:
        parser.print_help(sys.stderr)
        return int(ExitCode.INVALID_INPUT)

    parser.set_defaults(handler=usage)


def _require(name: str) -> lifecycle.SandboxInfo:
    info = lifecycle.load_info(name)
    if info is None:
        raise SandboxError(
            f"no sandbox named {name!r} is up",
            where=str(lifecycle.state_dir(name)),
            fix="run `validator sandbox up` first",
        )
    return info


def _up(args: argparse.Namespace) -> int:
    started = time.monotonic()
    info = lifecycle.up(
        lifecycle.SandboxOptions(name=args.name, nodes=args.nodes, timing=args.timing), progress=_progress
    )
    _progress(f"ready in {time.monotonic() - started:.1f}s")
    _print_info(info)
    return 0


def _down(args: argparse.Namespace) -> int:
    if not lifecycle.down(args.name, progress=_progress):
        _progress(f"no sandbox named {args.name!r}: nothing to do")
    return 0


def _status(args: argparse.Namespace) -> int:
    current = lifecycle.status(args.name)
    if current is None:
        _err.print(f"no sandbox named {args.name!r} (state directory {lifecycle.state_dir(args.name)})")
        return int(ExitCode.INCONCLUSIVE)
    _print_info(current.info)
    table = Table(title="health", show_header=True)
    table.add_column("part")
    table.add_column("state")
    table.add_row("kube-apiserver", _yes(current.apiserver_ready))
    table.add_row("Prometheus", _yes(current.prometheus_ready))
    for proc, alive in current.processes_alive.items():
        table.add_row(proc, _yes(alive))
    for pool, (ready, total) in current.nodes_ready.items():
        table.add_row(f"nodes: {pool}", f"{ready}/{total} Ready")
    Console().print(table)
    return 0 if current.healthy else int(ExitCode.INCONCLUSIVE)


def _yes(flag: bool) -> str:
    return "[green]running[/green]" if flag else "[red]down[/red]"


def _print_info(info: lifecycle.SandboxInfo) -> None:
    table = Table(title=f"sandbox {info.name}", show_header=False)
    table.add_column("what")
    table.add_column("where")
    table.add_row("apiserver", info.apiserver_url)
    table.add_row("kubeconfig", info.kubeconfig)
    table.add_row("context", info.context)
    table.add_row("Prometheus", info.prometheus_url)
    table.add_row("kube-state-metrics", info.kube_state_metrics_url)
    if info.workflow_api_url:
        table.add_row("workflow API (simulated)", info.workflow_api_url)
    table.add_row("timing", info.timing)
    table.add_row("state", info.state_dir)
    Console().print(table)
    Console().print(f"kubectl: {info.kubectl} --kubeconfig {info.kubeconfig} get nodes")


def _env(args: argparse.Namespace) -> int:
    info = _require(args.name)
    print("\n".join(lifecycle.env_exports(info)))
    return 0


def _build(_args: argparse.Namespace) -> int:
    spent = toolchain.build_all()
    for name, seconds in spent.items():
        _progress(f"{name} built in {seconds:.0f}s")
    _progress(f"binaries cached under {toolchain.cache_root() / 'sandbox'}")
    return 0


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0 (e.g. 900)")
    return value


def _deploy(args: argparse.Namespace) -> int:
    info = _require(args.name)
    platform_deploy.resolve_overlay(args.overlay)  # ./platform's or the bundled one; an unknown name is named
    platform_deploy.deploy(
        Path(info.kubeconfig),
        info.context,
        args.overlay,
        info.rules_dir,
        progress=_progress,
        timeout=args.timeout,
    )
    lifecycle.reload_prometheus(info)
    _progress(f"platform ({args.overlay}) deployed; Prometheus reloaded its rules from {info.rules_dir}")
    info = lifecycle.start_simulated_platform(info, progress=_progress, restart=True)
    # the restart dropped the earlier platform's queue, but its HPAs show that load a while longer
    platform_deploy.wait_autoscalers_caught_up(Path(info.kubeconfig), info.context, progress=_progress)
    _progress(f"workflow submissions go to {info.workflow_api_url} (VALIDATOR_WORKFLOW_API_URL)")
    return 0
