"""The run directory: its layout and one module per file format, each file's reader and writer side
by side (docs/run-directory.md). `load_run_directory` reads a whole run back into `Evidence`."""

from validator.run_directory.layout import (
    FAULTS,
    K8S,
    LOCUST_FAILURES,
    LOCUST_HISTORY,
    MANIFEST,
    METRICS,
    journal_path,
    write_json_atomically,
)
from validator.run_directory.manifest import load_manifest
from validator.run_directory.reader import load_run_directory

__all__ = [
    "FAULTS",
    "K8S",
    "LOCUST_FAILURES",
    "LOCUST_HISTORY",
    "MANIFEST",
    "METRICS",
    "journal_path",
    "load_manifest",
    "load_run_directory",
    "write_json_atomically",
]
