"""Which binaries the sandbox uses: the cache, a user's own directory, and what is left to build."""

from __future__ import annotations

from pathlib import Path

import pytest

from validator.sandbox import toolchain


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(toolchain.CACHE_DIR_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(toolchain.BIN_DIR_ENV, raising=False)
    return tmp_path


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_an_empty_cache_needs_every_component(empty_cache: Path) -> None:
    assert [c.name for c in toolchain.missing_components()] == [c.name for c in toolchain.components()]
    assert "kube-apiserver" not in toolchain.binary_paths()


def test_a_finished_component_is_found_by_its_stamp_and_cache_is_keyed_by_version(empty_cache: Path) -> None:
    etcd = next(c for c in toolchain.components() if c.name == "etcd")
    bin_dir = empty_cache / "cache" / "sandbox" / "bin" / f"etcd-{toolchain.ETCD_VERSION}"
    _executable(bin_dir / "etcd")
    assert "etcd" in [c.name for c in toolchain.missing_components()], "no stamp: an interrupted build"
    (bin_dir / ".complete").write_text("{}")
    assert etcd not in toolchain.missing_components()
    assert toolchain.binary_paths()["etcd"] == bin_dir / "etcd"


def test_user_binaries_are_used_as_they_are_and_only_the_missing_ones_are_built(
        empty_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = empty_cache / "own-bin"
    for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok"):
        _executable(own / name)
    monkeypatch.setenv(toolchain.BIN_DIR_ENV, str(own))
    missing = [c.name for c in toolchain.missing_components()]
    assert "kubernetes" not in missing  # all four of its binaries are the user's
    assert "kwok" in missing  # kwokctl is still missing
    assert toolchain.binary_paths()["kube-apiserver"] == own / "kube-apiserver"


@pytest.mark.parametrize(("pkg", "binary"), [
    ("go.etcd.io/etcd/server/v3", "server"),
    ("k8s.io/kube-state-metrics/v2", "kube-state-metrics"),
    ("sigs.k8s.io/prometheus-adapter/cmd/adapter", "adapter"),
    ("k8s.io/kubernetes/cmd/kube-apiserver", "kube-apiserver"),
])
def test_go_build_output_names(pkg: str, binary: str) -> None:
    assert toolchain.default_binary_name(pkg) == binary


def test_kubernetes_is_stamped_with_its_version() -> None:
    kubernetes = next(c for c in toolchain.components() if c.name == "kubernetes")
    assert f"-X k8s.io/component-base/version.gitVersion={toolchain.KUBERNETES_VERSION}" in kubernetes.ldflags
    minor_patch = toolchain.KUBERNETES_VERSION.lstrip("v").split(".", 1)[1]
    assert kubernetes.replace_staging_with == f"v0.{minor_patch}"
