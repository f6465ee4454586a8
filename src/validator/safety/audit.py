"""`audit.jsonl`: one line per cluster write, appended before the call, then one with its result.

Format (docs/run-directory.md): `{"ts_ms", "run_id", "verb", "object", "change", "result"}`, where
`result` is `pending` before the call, then `ok`, `dry-run`, or the error. Lines are flushed and
fsynced one by one so a SIGKILL loses at most the line being written. Never holds credentials:
callers pass object names and change names only.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

AUDIT_FILE = "audit.jsonl"


class AuditLog:
    """Append-only audit log of one run directory."""

    def __init__(self, run_dir: Path, run_id: str) -> None:
        self.run_dir = Path(run_dir)
        self.run_id = run_id
        self.path = self.run_dir / AUDIT_FILE
        self._lock = threading.Lock()

    def _append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, sort_keys=False, separators=(",", ":")) + "\n"
        with self._lock:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)

    def record(self, *, verb: str, obj: str, change: str, result: str, **extra: Any) -> None:
        entry: dict[str, Any] = {
            "ts_ms": int(time.time() * 1000),
            "run_id": self.run_id,
            "verb": verb,
            "object": obj,
            "change": change,
            "result": result,
        }
        entry.update(extra)
        self._append(entry)


def read_audit(run_dir: Path) -> list[dict[str, Any]]:
    """Every line of a run's audit log (an absent log is an empty list)."""
    path = Path(run_dir) / AUDIT_FILE
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
