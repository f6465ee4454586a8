"""platform/components/nightly-validation: the in-cluster nightly as a CronJob, added to an overlay
with kustomize, clean under `validator lint`, running as the runner ServiceAccount with a command
our CLI accepts, one run at a time, bounded, its reports on a volume; and the image's build file."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.unit.platform.test_platform_manifests import KUBECTL, PLATFORM, REPO, build, pick
from validator.cli import build_parser, main


@pytest.fixture(scope="module")
def overlay_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("with-nightly")
    testing = os.path.relpath((PLATFORM / "overlays" / "testing").resolve(), directory)
    component = os.path.relpath((PLATFORM / "components" / "nightly-validation").resolve(), directory)
    (directory / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"resources: [{testing}]\ncomponents: [{component}]\n"
    )
    return directory


@pytest.fixture(scope="module")
def objects(overlay_dir: Path) -> list[dict[str, Any]]:
    return build(overlay_dir)


def test_the_overlay_with_the_component_lints_clean(
    overlay_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["lint", "--format", "json", "--kubectl", KUBECTL, str(overlay_dir)])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["errors"] == 0, report["findings"]
    assert not [f for f in report["findings"] if "validator" in f["object"]], report["findings"]


def test_the_cronjob_runs_the_nightly_once_at_a_time_as_the_runner(objects: list[dict[str, Any]]) -> None:
    (cron,) = pick(objects, "CronJob", "validator-nightly")
    spec = cron["spec"]
    assert spec["concurrencyPolicy"] == "Forbid" and spec["startingDeadlineSeconds"] > 0
    job = spec["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0 and 0 < job["activeDeadlineSeconds"] <= 2 * 3600
    pod = job["template"]["spec"]
    assert pod["serviceAccountName"] == "validator-runner" and pod["restartPolicy"] == "Never"
    assert pick(objects, "ServiceAccount", "validator-runner")  # its RBAC comes with the platform
    (container,) = pod["containers"]
    args = build_parser().parse_args(container["args"])
    assert args.command == "run" and str(args.suite) == "nightly" and args.context == "in-cluster"
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["history"] == container["workingDir"]  # reports/<run-id>/ stay night after night
    volumes = {v["name"]: v for v in pod["volumes"]}
    (claim,) = pick(
        objects, "PersistentVolumeClaim", volumes["history"]["persistentVolumeClaim"]["claimName"]
    )
    assert claim["metadata"]["namespace"] == cron["metadata"]["namespace"]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["VALIDATOR_ALLOWLIST"].startswith(mounts["allowlist"])


def test_the_image_installs_the_pinned_wheel() -> None:
    text = (REPO / "Containerfile").read_text()
    assert "-c /tmp/install/constraints.txt" in text and 'ENTRYPOINT ["validator"]' in text
    assert "USER 10001" in text
