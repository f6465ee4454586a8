"""Reading a run directory back into `Evidence` (no network): the loaders where raw JSON stops.

A missing source is recorded in `Evidence.missing` with the reason; a damaged one (a truncated last
line after a crash, an unreadable line) is kept with its `partial` reason, so criteria can say
inconclusive rather than pass. Only a run directory that cannot be used at all (no directory, no or
invalid manifest.json) raises.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from validator.errors import ConfigError
from validator.model import ChaosEvidence, Evidence, RunManifest, SourceName
from validator.run_directory.chaos_records import load_chaos
from validator.run_directory.k8s_watch import load_k8s
from validator.run_directory.layout import FAULTS, K8S, LOCUST_HISTORY, MANIFEST, METRICS, journals
from validator.run_directory.locust_results import load_load
from validator.run_directory.manifest import load_manifest
from validator.run_directory.metrics import load_metrics

T = TypeVar("T")


def load_run_directory(run_dir: Path) -> Evidence:
    """Everything a run directory holds. Raises ConfigError when it is not a usable run directory."""
    if not run_dir.is_dir():
        raise ConfigError(
            f"run directory {run_dir} does not exist",
            where=str(run_dir),
            fix="pass a directory written by `validator run` (reports/<run-id>/)",
        )
    manifest = load_manifest(run_dir / MANIFEST)
    # Reading allocates millions of objects and frees most at once by reference counting; none
    # form cycles. The cyclic collector would walk the growing evidence again and again (a fifth
    # of the read of a 100 MB watch file), so it pauses while the sources are read.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load_sources(run_dir, manifest)
    finally:
        if collecting:
            gc.enable()


def _load_sources(run_dir: Path, manifest: RunManifest) -> Evidence:
    missing: dict[SourceName, str] = {}
    k8s = _optional(run_dir / K8S, SourceName.K8S, missing, load_k8s, "the Kubernetes recorder did not run")
    metrics = _optional(
        run_dir / METRICS, SourceName.METRICS, missing, load_metrics, "Prometheus was not queried"
    )
    load = _optional(run_dir / LOCUST_HISTORY, SourceName.LOAD, missing, load_load, "no load was generated")
    chaos: ChaosEvidence | None = None
    found = journals(run_dir)
    if (run_dir / FAULTS).is_file() or found:
        chaos = load_chaos(run_dir / FAULTS, found)
    else:
        missing[SourceName.CHAOS] = f"{FAULTS} and chaos/journal*.json not found (no fault was injected)"
    return Evidence(manifest=manifest, k8s=k8s, metrics=metrics, load=load, chaos=chaos, missing=missing)


def _optional(
    path: Path, source: SourceName, missing: dict[SourceName, str], loader: Callable[[Path], T], why: str
) -> T | None:
    if not path.is_file():
        missing[source] = f"{path.parent.name}/{path.name} not found ({why})"
        return None
    try:
        return loader(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        missing[source] = f"{path.parent.name}/{path.name} unreadable: {exc}"
        return None
