"""The validator as a ServiceAccount (the in-cluster code path): an identity without the runner's
namespaced Role is refused by the apiserver (SelfSubjectAccessReview), and the preflight names
what it lacks before anything is changed. (tests/e2e/test_nightly.py runs the whole nightly as the
platform's own validator-runner ServiceAccount.)"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

from kubernetes import client

from tests.support.cluster import (
    BIN,
    ROOT,
    allow_in_cluster,
    deploy_platform,
    no_validator_marks,
    run_env,
    service_account_env,
)


def test_a_runner_without_its_role_is_refused_by_the_preflight(sandbox: Any, tmp_path: Path) -> None:
    info = deploy_platform(sandbox)
    core, rbac = client.CoreV1Api(sandbox.api), client.RbacAuthorizationV1Api(sandbox.api)
    account = f"runner-readonly-{uuid.uuid4().hex[:6]}"
    core.create_namespaced_service_account("validator", {"metadata": {"name": account}})
    binding = {
        "metadata": {"name": account},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "validator-runner",
        },
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": "validator"}],
    }
    rbac.create_cluster_role_binding(binding)  # the cluster-wide reads only: no Role in agents
    try:
        allowlist = tmp_path / "allowlist.yaml"
        env = {**run_env(info, allowlist), **service_account_env(sandbox, tmp_path / "sa", account=account)}
        env.pop("KUBECONFIG", None)
        allow_in_cluster(env, allowlist)
        proc = subprocess.run(
            [str(BIN / "validator"), "run", "suites/nightly.yaml", "--context", "in-cluster", "--dry-run"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,
        )
    finally:
        rbac.delete_cluster_role_binding(account)
        core.delete_namespaced_service_account(account, "validator")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 4, out[-3000:]
    assert "the identity of context 'in-cluster' lacks" in out
    assert "create pods/eviction in namespace agents" in out
    assert not no_validator_marks(sandbox)
