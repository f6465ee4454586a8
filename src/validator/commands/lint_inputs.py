"""Reading what `validator lint` checks: files, directories, kustomize builds and stdin.

Each input becomes one *manifest set*, linted on its own: a kustomization directory is one set
(its `kubectl kustomize` output), a directory without one contributes every kustomize root
found below it (overlays, not the bases and components they include) plus one set of its plain
YAML files, and `-` reads kustomize (or any multi-document YAML) output from stdin.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from validator.errors import ConfigError
from validator.kube import KubectlNotFound, KustomizeFailed, find_kubectl, kustomize
from validator.lint import Manifest
from validator.sandbox.toolchain import binary_paths

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
ORIGIN_ANNOTATION = "config.kubernetes.io/origin"
PEAKS_FILE = "expected-peaks.yaml"


@dataclass(frozen=True, slots=True, kw_only=True)
class ManifestSet:
    label: str
    manifests: list[Manifest]


def kubectl_path(explicit: str | None) -> str:
    """--kubectl, else the sandbox's own kubectl when built, else kubectl on PATH."""
    try:
        return str(find_kubectl(explicit, built=binary_paths().get("kubectl")))
    except KubectlNotFound:
        raise ConfigError(
            "kubectl is needed to build kustomizations and is not on PATH",
            where="validator lint",
            fix="install kubectl, pass --kubectl PATH, or pipe `kustomize build DIR | validator lint -`",
        ) from None


def _kustomization_file(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None


def _load_yaml_file(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", where=str(path), fix="fix the YAML") from exc
    return doc if isinstance(doc, dict) else {}


def _manifests_from_text(text: str, source: str, *, strict: bool) -> list[Manifest]:
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"{source} is not valid YAML: {exc}",
            where=source,
            fix="fix the YAML syntax at the position shown",
        ) from exc
    out: list[Manifest] = []
    for index, doc in enumerate(docs):
        for obj in _expand_lists(doc):
            if not isinstance(obj, dict) or "apiVersion" not in obj or "kind" not in obj:
                continue
            origin = ((obj.get("metadata") or {}).get("annotations") or {}).get(ORIGIN_ANNOTATION)
            out.append(Manifest(source=_origin_path(origin) or source, document=index, obj=obj))
    if strict and not out and text.strip():
        raise ConfigError(
            f"{source} holds no Kubernetes object (no document has apiVersion and kind)",
            where=source,
            fix="pass manifests, a kustomization directory, or kustomize output on stdin (`-`)",
        )
    return out


def _expand_lists(doc: Any) -> Iterator[Any]:
    kind = doc.get("kind") if isinstance(doc, dict) else None
    if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        yield from doc["items"]
    else:
        yield doc


def _origin_path(origin: Any) -> str | None:
    if isinstance(origin, str):
        try:
            parsed = yaml.safe_load(origin)
        except yaml.YAMLError:
            return None
        if isinstance(parsed, dict) and isinstance(parsed.get("path"), str):
            return str(parsed["path"])
    return None


def _kustomize(directory: Path, kubectl: str) -> str:
    try:
        return kustomize(kubectl, directory)
    except KustomizeFailed as exc:
        if str(exc).startswith("cannot run "):
            raise ConfigError(str(exc), where=str(directory), fix="check --kubectl") from None
        raise ConfigError(
            f"kustomize build of {directory} failed: {exc}",
            where=str(_kustomization_file(directory) or directory),
            fix="fix the kustomization (run `kubectl kustomize DIR` to see the full error)",
        ) from None


def _referenced_dirs(directory: Path, kustomization: Path) -> set[Path]:
    doc = _load_yaml_file(kustomization)
    out: set[Path] = set()
    for key in ("resources", "bases", "components"):
        for entry in doc.get(key) or []:
            if isinstance(entry, str):
                target = (directory / entry).resolve()
                if target.is_dir():
                    out.add(target)
    return out


def _kustomize_roots(root: Path) -> tuple[list[Path], set[Path]]:
    """Directories below `root` to build (kustomizations no other one includes, not Components),
    and every kustomization directory (whose plain files are not linted on their own)."""
    found: dict[Path, Path] = {}
    for current, dirs, _files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        directory = Path(current).resolve()
        kustomization = _kustomization_file(directory)
        if kustomization is not None:
            found[directory] = kustomization
    referenced: set[Path] = set()
    for directory, kustomization in found.items():
        referenced |= _referenced_dirs(directory, kustomization)
    roots = [
        d for d, k in sorted(found.items())
        if d not in referenced and _load_yaml_file(k).get("kind") != "Component"
    ]
    return roots, set(found)


def _display(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def load_sets(paths: list[str], kubectl: str | None) -> list[ManifestSet]:
    sets: list[ManifestSet] = []
    for raw in paths:
        if raw == "-":
            sets.append(ManifestSet(label="<stdin>", manifests=_manifests_from_text(
                sys.stdin.read(), "<stdin>", strict=True)))
            continue
        path = Path(raw)
        if not path.exists():
            raise ConfigError(f"{raw} does not exist", where=raw, fix="pass a file, a directory or `-`")
        if path.is_file():
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"cannot read {raw}: {exc}", where=raw, fix="check the file") from exc
            sets.append(ManifestSet(label=raw, manifests=_manifests_from_text(text, raw, strict=True)))
            continue
        kustomization = _kustomization_file(path)
        if kustomization is not None:
            if _load_yaml_file(kustomization).get("kind") == "Component":
                raise ConfigError(
                    f"{raw} is a kustomize Component, which cannot be built on its own",
                    where=str(kustomization),
                    fix="lint an overlay that includes it under `components:`",
                )
            label = f"{_display(path)} (kustomize)"
            text = _kustomize(path, kubectl_path(kubectl))
            sets.append(ManifestSet(label=label, manifests=_manifests_from_text(text, label, strict=False)))
            continue
        roots, kustomize_dirs = _kustomize_roots(path)
        for root in roots:
            # named below the path as given (a symlinked platform/ stays platform/...)
            label = f"{_display(path / root.relative_to(path.resolve()))} (kustomize)"
            text = _kustomize(root, kubectl_path(kubectl))
            sets.append(ManifestSet(label=label, manifests=_manifests_from_text(text, label, strict=False)))
        plain: list[Manifest] = []
        for current, dirs, files in os.walk(path):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            if any(Path(current).resolve().is_relative_to(k) for k in kustomize_dirs):
                continue
            for name in sorted(files):
                if name.endswith((".yaml", ".yml")):
                    file = Path(current) / name
                    try:
                        text = file.read_text(encoding="utf-8")
                    except (OSError, UnicodeDecodeError) as exc:
                        raise ConfigError(
                            f"cannot read {file}: {exc}", where=str(file), fix="check the file"
                        ) from exc
                    plain.extend(_manifests_from_text(text, _display(file), strict=False))
        if plain:
            sets.append(ManifestSet(label=f"{_display(path)} (files)", manifests=plain))
        if not roots and not plain:
            raise ConfigError(
                f"{raw} holds no Kubernetes manifests and no kustomization",
                where=raw,
                fix="pass a directory with manifests or a kustomization, or files",
            )
    return sets


def find_peaks_file(paths: list[str]) -> Path | None:
    """expected-peaks.yaml in a directory given, or in one of its parents up to the working directory."""
    cwd = Path.cwd().resolve()
    for raw in paths:
        if raw == "-":
            continue
        current = Path(raw).resolve()
        if current.is_file():
            current = current.parent
        while True:
            candidate = current / PEAKS_FILE
            if candidate.is_file():
                return candidate
            if current == cwd or cwd not in current.parents or current.parent == current:
                break
            current = current.parent
    return None


def read_peaks_file(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read the expected-peaks file: {exc}", where=str(path),
                          fix="fix the file, or pass another with --peaks") from exc
