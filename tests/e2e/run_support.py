"""Helpers of the e2e tests: deploy the reference platform, allow the context, run `validator run`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from kubernetes import client

from validator.safety.allowlist import ContextEntry, Limits, read_identity, save_entry
from validator.sandbox import lifecycle

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
POOLS = ("implementation", "quality", "testing", "system")


def sandbox_name(sandbox: Any) -> str:
    return str(sandbox.info.name)


def deploy_platform(sandbox: Any, overlay: str = "testing") -> lifecycle.SandboxInfo:
    """`validator sandbox deploy OVERLAY` (idempotent); returns the refreshed sandbox info."""
    proc = subprocess.run(
        [str(BIN / "validator"), "sandbox", "deploy", overlay, "--name", sandbox_name(sandbox)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    info = lifecycle.load_info(sandbox_name(sandbox))
    assert info is not None
    return info


def write_allowlist(sandbox: Any, path: Path, namespaces: list[str], *, workload_share: float = 0.5) -> Path:
    identity, _ = read_identity(sandbox.context, str(sandbox.kubeconfig))
    uid = client.CoreV1Api(sandbox.api).read_namespace("kube-system").metadata.uid
    save_entry(
        ContextEntry(
            name=sandbox.context,
            server=identity.server,
            ca_sha256=identity.ca_sha256,
            kube_system_uid=str(uid),
            namespaces=tuple(namespaces),
            node_pools=POOLS,
            limits=Limits(max_cordoned_nodes=1, max_workload_share=workload_share),
        ),
        path,
    )
    return path


def run_env(info: lifecycle.SandboxInfo, allowlist: Path) -> dict[str, str]:
    # the run sees only what the test sets, except where the sandboxes live (a developer or CI may
    # keep them outside ~/.local/state: without it the run would not recognise the sandbox)
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("VALIDATOR_") or k == "VALIDATOR_SANDBOX_DIR"
    }
    env.update(
        VALIDATOR_ALLOWLIST=str(allowlist),
        KUBECONFIG=info.kubeconfig,
        VALIDATOR_PROMETHEUS_URL=info.prometheus_url,
        COLUMNS="250",  # rich wraps table cells to the terminal's width; keep each row on one line
    )
    if getattr(info, "workflow_api_url", ""):
        env["VALIDATOR_WORKFLOW_API_URL"] = info.workflow_api_url
    return env


def validator_run(
    args: list[str], env: dict[str, str], timeout: float = 900
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = subprocess.run(
        [str(BIN / "validator"), "run", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
    )
    return proc, time.monotonic() - started


def summary(run_dir: Path) -> dict[str, Any]:
    return dict(json.loads((run_dir / "summary.json").read_text()))


def results(doc: dict[str, Any], criterion: str) -> list[dict[str, Any]]:
    for c in doc["criteria"]:
        if c["id"] == criterion:
            return list(c["results"])
    return []


def verdicts(doc: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["verdict"] for c in doc["criteria"]}


def faults(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "chaos" / "faults.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def no_validator_marks(sandbox: Any) -> list[str]:
    """Objects still carrying a validator revert mark, or cordoned nodes (should be none)."""
    left = []
    for node in sandbox.core.list_node().items:
        if node.spec.unschedulable:
            left.append(f"node/{node.metadata.name} cordoned")
        if any(k.startswith("validator.io/") for k in (node.metadata.annotations or {})):
            left.append(f"node/{node.metadata.name} marked")
    for ns in ("agents", "workflow-system"):
        for pod in sandbox.core.list_namespaced_pod(ns).items:
            if any(k.startswith("validator.io/revert") for k in (pod.metadata.annotations or {})):
                left.append(f"pod/{ns}/{pod.metadata.name} marked")
    return left


def run_nightly(
    sandbox: Any, tmp_path: Path, overlay: str = "testing", name: str = "nightly"
) -> tuple[subprocess.CompletedProcess[str], float, Path, dict[str, Any], lifecycle.SandboxInfo]:
    """Deploy OVERLAY, allow the sandbox's context, run suites/nightly.yaml into tmp_path/NAME.
    Returns the process, its wall time, the run directory, its summary.json and the sandbox info."""
    info = deploy_platform(sandbox, overlay)
    allowlist = write_allowlist(sandbox, tmp_path / "allowlist.yaml", ["agents", "workflow-system"])
    run_dir = tmp_path / name
    proc, wall_s = validator_run(
        ["suites/nightly.yaml", "--context", sandbox.context, "--output", str(run_dir)],
        run_env(info, allowlist),
    )
    return proc, wall_s, run_dir, summary(run_dir), info
