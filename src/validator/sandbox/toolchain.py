"""Obtain the sandbox's binaries: build them from Go modules once, cache them outside the checkout.

Every component is built in its own small wrapper module (so Go's version selection does not
drag shared dependencies across components) under ``<cache>/sandbox/src/<component>-<version>``,
and its binaries land in ``<cache>/sandbox/bin/<component>-<version>/``. A ``.complete`` stamp
marks a finished component; an interrupted build resumes from Go's own build cache.

A user who already has binaries points ``VALIDATOR_SANDBOX_BIN_DIR`` at a directory holding
them: every binary found there is used as is, and only the missing ones are built.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from validator.errors import SandboxError

KUBERNETES_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.8.0"
METRICS_SERVER_VERSION = "v0.8.0"
KUBE_STATE_METRICS_VERSION = "v2.18.0"
PROMETHEUS_ADAPTER_VERSION = "v0.12.0"

BIN_DIR_ENV = "VALIDATOR_SANDBOX_BIN_DIR"
CACHE_DIR_ENV = "VALIDATOR_CACHE_DIR"


@dataclass(frozen=True, slots=True, kw_only=True)
class Component:
    """One wrapper module and the binaries built from it."""

    name: str
    module: str
    version: str
    # (package import path, binary name)
    binaries: tuple[tuple[str, str], ...]
    ldflags: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    # map the module's own local `replace ... => ./staging/...` lines to published versions
    replace_staging_with: str | None = None
    extra_requires: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def key(self) -> str:
        return f"{self.name}-{self.version}"


def _kubernetes_ldflags(version: str) -> tuple[str, ...]:
    major, minor = version.lstrip("v").split(".")[:2]
    flags = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={version}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
            f"-X {pkg}.buildDate=1970-01-01T00:00:00Z",
        ]
    return tuple(flags)


def components() -> tuple[Component, ...]:
    """Everything the sandbox needs, in build order (the long Kubernetes build first)."""
    k8s_minor = KUBERNETES_VERSION.lstrip("v").split(".", 1)[1]  # "36.3"
    return (
        Component(
            name="kubernetes",
            module="k8s.io/kubernetes",
            version=KUBERNETES_VERSION,
            binaries=(
                ("k8s.io/kubernetes/cmd/kube-apiserver", "kube-apiserver"),
                ("k8s.io/kubernetes/cmd/kube-controller-manager", "kube-controller-manager"),
                ("k8s.io/kubernetes/cmd/kube-scheduler", "kube-scheduler"),
                ("k8s.io/kubernetes/cmd/kubectl", "kubectl"),
            ),
            ldflags=_kubernetes_ldflags(KUBERNETES_VERSION),
            tags=("selinux", "notest", "grpcnotrace"),
            replace_staging_with=f"v0.{k8s_minor}",
        ),
        Component(
            name="etcd",
            module="go.etcd.io/etcd/server/v3",
            version=ETCD_VERSION,
            binaries=(("go.etcd.io/etcd/server/v3", "etcd"),),
        ),
        Component(
            name="kwok",
            module="sigs.k8s.io/kwok",
            version=KWOK_VERSION,
            binaries=(
                ("sigs.k8s.io/kwok/cmd/kwok", "kwok"),
                ("sigs.k8s.io/kwok/cmd/kwokctl", "kwokctl"),
            ),
            ldflags=(f"-X sigs.k8s.io/kwok/pkg/consts.Version={KWOK_VERSION.lstrip('v')}",),
        ),
        Component(
            name="metrics-server",
            module="sigs.k8s.io/metrics-server",
            version=METRICS_SERVER_VERSION,
            binaries=(("sigs.k8s.io/metrics-server/cmd/metrics-server", "metrics-server"),),
        ),
        Component(
            name="kube-state-metrics",
            module="k8s.io/kube-state-metrics/v2",
            version=KUBE_STATE_METRICS_VERSION,
            binaries=(("k8s.io/kube-state-metrics/v2", "kube-state-metrics"),),
        ),
        Component(
            name="prometheus-adapter",
            module="sigs.k8s.io/prometheus-adapter",
            version=PROMETHEUS_ADAPTER_VERSION,
            binaries=(("sigs.k8s.io/prometheus-adapter/cmd/adapter", "prometheus-adapter"),),
        ),
    )


def component_versions() -> dict[str, str]:
    """Each component the sandbox builds, with the version it pins (`validator --version`)."""
    return {c.name: c.version for c in components()}


def cache_root() -> Path:
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "validator"


def _bin_dir(component: Component) -> Path:
    return cache_root() / "sandbox" / "bin" / component.key


def _src_dir(component: Component) -> Path:
    return cache_root() / "sandbox" / "src" / component.key


def _stamp(component: Component) -> Path:
    return _bin_dir(component) / ".complete"


def _user_binary(name: str) -> Path | None:
    user_dir = os.environ.get(BIN_DIR_ENV)
    if not user_dir:
        return None
    candidate = Path(user_dir).expanduser() / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    return None


def binary_paths() -> dict[str, Path]:
    """Where each binary is (user-provided or built); missing ones are absent from the mapping."""
    found: dict[str, Path] = {}
    for component in components():
        built = _stamp(component).exists()
        for _, name in component.binaries:
            user = _user_binary(name)
            if user is not None:
                found[name] = user
            elif built:
                found[name] = _bin_dir(component) / name
    for name in ("prometheus", "promtool"):
        user = _user_binary(name)
        system = shutil.which(name)
        if user is not None:
            found[name] = user
        elif system is not None:
            found[name] = Path(system)
    return found


def missing_components() -> list[Component]:
    todo = []
    for component in components():
        if _stamp(component).exists():
            continue
        if all(_user_binary(name) is not None for _, name in component.binaries):
            continue
        todo.append(component)
    return todo


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GOTOOLCHAIN", "local")
    env["CGO_ENABLED"] = "0"
    env["GOFLAGS"] = "-buildvcs=false -mod=mod"
    env.setdefault("GOPROXY", "https://proxy.golang.org,direct")
    return env


def _run_go(args: Sequence[str], cwd: Path, what: str) -> str:
    go = shutil.which("go")
    if go is None:
        raise SandboxError(
            "the Go toolchain is not on PATH",
            where="sandbox toolchain",
            fix=f"install Go 1.26+, or set {BIN_DIR_ENV} to a directory holding prebuilt binaries",
        )
    proc = subprocess.run([go, *args], cwd=cwd, env=_go_env(), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise SandboxError(
            f"{what} failed (go {' '.join(args[:3])} ...):\n{tail}",
            where=str(cwd),
            fix="check the Go module proxy is reachable; rerun `validator sandbox build` to resume",
        )
    return proc.stdout


def _staging_replaces(component: Component, workdir: Path) -> list[str]:
    """`replace` lines mapping the module's local staging replaces to published versions."""
    assert component.replace_staging_with is not None
    info = json.loads(
        _run_go(
            ["mod", "download", "-json", f"{component.module}@{component.version}"],
            workdir,
            f"downloading {component.module}",
        )
    )
    gomod = Path(info["GoMod"]).read_text()
    lines = []
    for match in re.finditer(r"^\s*(?:replace\s+)?(\S+)\s*=>\s*\./staging/\S+\s*$", gomod, re.M):
        lines.append(f"replace {match.group(1)} => {match.group(1)} {component.replace_staging_with}")
    if not lines:
        raise SandboxError(
            f"found no staging replace directives in {component.module}@{component.version}'s go.mod",
            where=info["GoMod"],
            fix="the module layout changed; pin a Kubernetes version this builder knows",
        )
    return lines


def _write_wrapper(component: Component) -> Path:
    workdir = _src_dir(component)
    workdir.mkdir(parents=True, exist_ok=True)
    gomod = workdir / "go.mod"
    if gomod.exists() and (workdir / "go.sum").exists():
        return workdir  # resume: the wrapper was written and tidied before
    header = f"module validator.local/sandbox/{component.name}\n\ngo 1.26\n\n"
    requires = [f"require {component.module} {component.version}"]
    requires += [f"require {m} {v}" for m, v in component.extra_requires]
    tools = [f"tool {pkg}" for pkg, _ in component.binaries]
    gomod.write_text(header + "\n".join(requires + tools) + "\n")
    if component.replace_staging_with:
        replaces = _staging_replaces(component, workdir)
        gomod.write_text(gomod.read_text() + "\n" + "\n".join(replaces) + "\n")
    _run_go(["mod", "tidy"], workdir, f"resolving {component.name}'s modules")
    return workdir


ProgressCallback = Callable[[str, int, int], None]


def _count_packages(component: Component, workdir: Path) -> int:
    pkgs = [pkg for pkg, _ in component.binaries]
    tags = ["-tags", ",".join(component.tags)] if component.tags else []
    out = _run_go(["list", *tags, "-deps", *pkgs], workdir, f"listing {component.name}'s packages")
    return max(1, len(out.splitlines()))


def default_binary_name(pkg: str) -> str:
    """The name `go build -o DIR/` gives a main package: its last element, skipping a /vN suffix."""
    parts = pkg.rstrip("/").split("/")
    if len(parts) > 1 and re.fullmatch(r"v[0-9]+", parts[-1]):
        return parts[-2]
    return parts[-1]


def build_component(component: Component, progress: ProgressCallback) -> None:
    workdir = _write_wrapper(component)
    total = _count_packages(component, workdir)
    out_dir = _bin_dir(component)
    out_dir.mkdir(parents=True, exist_ok=True)
    args = ["build", "-v", "-trimpath", "-o", str(out_dir) + "/"]
    if component.tags:
        args += ["-tags", ",".join(component.tags)]
    ldflags = ["-s", "-w", *component.ldflags]
    args += ["-ldflags", " ".join(ldflags)]
    pkgs = [pkg for pkg, _ in component.binaries]
    go = shutil.which("go") or "go"
    proc = subprocess.Popen([go, *args, *pkgs], cwd=workdir, env=_go_env(), stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    done = 0
    tail: list[str] = []
    progress(component.name, 0, total)
    for line in proc.stderr:
        line = line.rstrip()
        if line and not line.startswith("#") and " " not in line:
            done += 1
            progress(component.name, min(done, total), total)
        else:
            tail.append(line)
    if proc.wait() != 0:
        raise SandboxError(
            f"building {component.name} {component.version} failed:\n" + "\n".join(tail[-20:]),
            where=str(workdir),
            fix="rerun `validator sandbox build` (it resumes); if it persists, report the Go error above",
        )
    # rename binaries whose package name differs from the wanted binary name
    for pkg, name in component.binaries:
        produced = out_dir / default_binary_name(pkg)
        if produced.name != name and produced.exists():
            produced.rename(out_dir / name)
        if not (out_dir / name).exists():
            raise SandboxError(
                f"go build produced no {name}", where=str(out_dir), fix="rerun `validator sandbox build`"
            )
    progress(component.name, total, total)
    _stamp(component).write_text(json.dumps({"version": component.version, "built": time.time()}))


def build_all(progress: ProgressCallback | None = None) -> dict[str, float]:
    """Build every missing component; returns seconds spent per component."""
    report = progress or _plain_progress
    spent: dict[str, float] = {}
    for component in missing_components():
        started = time.monotonic()
        build_component(component, report)
        spent[component.name] = time.monotonic() - started
    return spent


_last_reported: dict[str, int] = {}


def _plain_progress(name: str, done: int, total: int) -> None:
    """Line-per-decile progress for logs and CI (no terminal)."""
    decile = (done * 10) // max(total, 1)
    if _last_reported.get(name) != decile or done in (0, total):
        _last_reported[name] = decile
        print(f"[sandbox build] {name}: {done}/{total} packages", file=sys.stderr, flush=True)


def main() -> int:
    """`python -m validator.sandbox.toolchain`: build what is missing (used by the Makefile)."""
    try:
        spent = build_all()
    except SandboxError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name, seconds in spent.items():
        print(f"[sandbox build] {name} built in {seconds:.0f}s", file=sys.stderr)
    if not spent:
        print(
            "[sandbox build] every binary is cached under " + str(cache_root() / "sandbox"), file=sys.stderr
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
