"""kubectl: which binary (an explicit one, the sandbox's own build, or PATH), and `kubectl kustomize`
of a directory. Callers say what a failure means for them (bad input, or a sandbox problem)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


class KubectlNotFound(Exception):
    """No kubectl given, built or on PATH."""


class KustomizeFailed(Exception):
    """`kubectl kustomize DIR` could not run or failed; the message is kubectl's (or the OS's)."""


def find_kubectl(explicit: str | Path | None = None, built: Path | None = None) -> Path:
    """`explicit` when given, else `built` (the sandbox's kubectl, same minor as its apiserver), else
    kubectl on PATH. Raises KubectlNotFound."""
    if explicit:
        return Path(explicit)
    if built is not None:
        return built
    found = shutil.which("kubectl")
    if found is None:
        raise KubectlNotFound("kubectl not found")
    return Path(found)


def kustomize(kubectl: str | Path, directory: Path, *, timeout_s: float = 120.0) -> str:
    """The YAML `kubectl kustomize DIRECTORY` builds. Raises KustomizeFailed with kubectl's error."""
    try:
        proc = subprocess.run(
            [str(kubectl), "kustomize", str(directory)],
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout_s,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise KustomizeFailed(f"cannot run {kubectl} kustomize: {exc}") from exc
    if proc.returncode != 0:
        raise KustomizeFailed(proc.stderr.strip())
    return proc.stdout
