"""The run directory's layout: one name per file, and how a file is written so that a crash leaves
the old file or none, never half of one (docs/run-directory.md).

    manifest.json                  the run: suite, window, context, faults planned and run
    evidence/k8s.jsonl             the Kubernetes recorder's watch lines
    evidence/metrics.json          the Prometheus range queries over the window
    load/locust_stats_history.csv  Locust's history (Locust writes it); locust_failures.csv beside it
    chaos/faults.jsonl             fault windows, written by the experiments' control
    chaos/journal-<name>.json      Chaos Toolkit's journal of each experiment
    summary.json, junit.xml, report.html   the verdicts
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
K8S = "evidence/k8s.jsonl"
METRICS = "evidence/metrics.json"
LOAD_DIR = "load"
LOCUST_HISTORY = "load/locust_stats_history.csv"
LOCUST_FAILURES = "load/locust_failures.csv"
CHAOS_DIR = "chaos"
FAULTS = "chaos/faults.jsonl"
JOURNAL_GLOB = "journal*.json"
SUMMARY = "summary.json"
JUNIT = "junit.xml"
REPORT = "report.html"
REHEARSAL = "rehearsal-dry-run.json"


def journal_path(run_dir: Path, experiment: str) -> Path:
    """Where the journal of the experiment named `experiment` is written."""
    return run_dir / CHAOS_DIR / f"journal-{experiment}.json"


def journals(run_dir: Path) -> list[Path]:
    """The journals in a run directory, in name order."""
    chaos = run_dir / CHAOS_DIR
    return sorted(chaos.glob(JOURNAL_GLOB)) if chaos.is_dir() else []


def write_text_atomically(path: Path, text: str) -> Path:
    """Write `text` to `path` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path


def write_json_atomically(path: Path, document: Mapping[str, Any], *, indent: int = 2) -> Path:
    """A JSON document, written atomically (write_text_atomically)."""
    return write_text_atomically(path, json.dumps(document, indent=indent) + "\n")
