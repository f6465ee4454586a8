"""What ships inside the package (src/validator/bundled/, found with importlib.resources): the
suites, the Chaos Toolkit experiments, the load profiles, the reference platform and the config
files' JSON Schemas. A checkout links them at its top level (suites/, experiments/, ...), so the
paths in the docs work from the repository root; an installed wheel finds them here.

A suite is named by a path (a user's own file) or by the name of a bundled one (`nightly`).
"""

from __future__ import annotations

import hashlib
from importlib.resources import as_file, files
from pathlib import Path

from validator.errors import ConfigError

KINDS = ("suites", "experiments", "loadprofiles", "platform", "schemas")


def bundled_dir() -> Path:
    """The bundled tree as a directory of the file system (the package is installed unzipped)."""
    with as_file(files("validator") / "bundled") as path:
        return Path(path)


def bundled(kind: str) -> Path:
    """One of KINDS: bundled_dir()/kind."""
    if kind not in KINDS:
        raise ValueError(f"unknown bundled kind {kind!r}; one of {', '.join(KINDS)}")
    return bundled_dir() / kind


def bundled_suites() -> list[str]:
    """The names of the bundled suites (`validator run NAME`)."""
    return sorted(p.stem for p in bundled("suites").glob("*.yaml"))


def suite_path(target: str | Path) -> Path:
    """A suite argument as a file: an existing path as given, else a bundled suite of that name
    (`nightly`, `nightly.yaml`). Raises ConfigError naming the bundled suites."""
    path = Path(target)
    if path.exists():
        return path
    name = path.name[: -len(".yaml")] if path.name.endswith(".yaml") else path.name
    candidate = bundled("suites") / f"{name}.yaml"
    if path.parent == Path(".") and candidate.is_file():
        return candidate
    raise ConfigError(
        f"suite file {target} does not exist",
        where=str(target),
        fix=f"give a suite file, or the name of a bundled suite: {', '.join(bundled_suites())}",
    )


def load_profile_path(profile: str, suite_file: str | Path) -> Path:
    """The locustfile of a suite's load profile: loadprofiles/<profile>.py beside the suite's own
    folder (a `validator init` copy, a checkout), else the bundled one."""
    own = Path(suite_file).resolve().parent.parent / "loadprofiles" / f"{profile}.py"
    return own if own.is_file() else bundled("loadprofiles") / f"{profile}.py"


def platform_revision() -> str:
    """A short content hash of the bundled reference platform (every source file's path and bytes,
    not the bytecode an install compiles): the revision a run's platform manifests came from."""
    root = bundled("platform")
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
