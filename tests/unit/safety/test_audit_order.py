"""The audit line is on disk before the write is attempted, and the result follows it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from validator.safety import marks
from validator.safety.allowlist import ContextEntry
from validator.safety.audit import AuditLog, read_audit
from validator.safety.guard import Guard
from validator.safety.mutator import Mutator


def mutator(tmp_path: Path, plan: bool = False) -> Mutator:
    guard = Guard(ContextEntry(name="c", server="s", ca_sha256="x", namespaces=("agents",)), None, "kc")
    return Mutator(guard=guard, audit=AuditLog(tmp_path, "run-1"), plan_mode=plan)


def test_pending_line_is_written_before_the_call(tmp_path: Path) -> None:
    m = mutator(tmp_path)
    seen: list[list[dict[str, Any]]] = []

    def call() -> str:
        seen.append(read_audit(tmp_path))
        return "done"

    assert m.write("patch", "node/n1", "cordon", call) == "done"
    assert [r["result"] for r in seen[0]] == ["pending"]
    lines = read_audit(tmp_path)
    assert [(r["verb"], r["object"], r["change"], r["result"]) for r in lines] == [
        ("patch", "node/n1", "cordon", "pending"),
        ("patch", "node/n1", "cordon", "ok"),
    ]
    assert all(r["run_id"] == "run-1" and isinstance(r["ts_ms"], int) for r in lines)


def test_failure_is_recorded_and_raised(tmp_path: Path) -> None:
    m = mutator(tmp_path)

    def call() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        m.write("delete", "pod/agents/p", "delete", call)
    assert [r["result"] for r in read_audit(tmp_path)] == ["pending", "error: KeyboardInterrupt: "]


def test_plan_mode_writes_nothing(tmp_path: Path) -> None:
    m = mutator(tmp_path, plan=True)
    called = []
    m.write("patch", "node/n1", "cordon", lambda: called.append(1))
    assert called == [] and not (tmp_path / "audit.jsonl").exists()
    assert [(p.verb, p.object) for p in m.planned] == [("patch", "node/n1")]


def test_audit_is_append_only(tmp_path: Path) -> None:
    log = AuditLog(tmp_path, "r")
    log.record(verb="a", obj="o", change="c", result="pending")
    first = (tmp_path / "audit.jsonl").read_text()
    log.record(verb="a", obj="o", change="c", result="ok")
    assert (tmp_path / "audit.jsonl").read_text().startswith(first)


@pytest.mark.parametrize(
    ("existing", "add", "remove", "expected_revert", "run_id_kept"),
    [
        ({}, "uncordon", None, "uncordon", True),
        (
            {marks.REVERT: "clear-not-ready", marks.RUN_ID: "run-1"},
            "uncordon",
            None,
            "clear-not-ready,uncordon",
            True,
        ),
        ({marks.REVERT: "clear-not-ready", marks.RUN_ID: "old"}, None, "clear-not-ready", None, False),
        ({marks.REVERT: "uncordon", marks.RUN_ID: "run-1"}, None, "uncordon", None, False),
        (
            {marks.REVERT: "uncordon,clear-not-ready", marks.RUN_ID: "run-1"},
            None,
            "uncordon",
            "clear-not-ready",
            True,
        ),
    ],
)
def test_marks(
    tmp_path: Path,
    existing: dict[str, str],
    add: str | None,
    remove: str | None,
    expected_revert: str | None,
    run_id_kept: bool,
) -> None:
    patch = mutator(tmp_path)._mark_patch({"metadata": {"annotations": existing}}, add=add, remove=remove)
    assert patch[marks.REVERT] == expected_revert
    assert (patch[marks.RUN_ID] is not None) is run_id_kept


def test_objects_owing_another_runs_revert_are_refused(tmp_path: Path) -> None:
    from validator.errors import UnsafeOperation

    node = {"metadata": {"name": "n1", "annotations": {marks.REVERT: "uncordon", marks.RUN_ID: "other-run"}}}
    with pytest.raises(UnsafeOperation, match="still carries changes of run other-run"):
        mutator(tmp_path)._mark_patch(node, add="clear-not-ready")


def test_run_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from validator.safety.session import settings_from

    for key in ("VALIDATOR_RUN_ID", "VALIDATOR_RUN_DIR"):
        monkeypatch.delenv(key, raising=False)
    assert settings_from({"validator_run_dir": str(tmp_path / "2026-11-20T020000Z-nightly")}).run_id == (
        "2026-11-20T020000Z-nightly"
    )
    adhoc = settings_from({}).run_id
    assert adhoc.startswith("adhoc-") and settings_from({}).run_id == adhoc  # stable within a process
    monkeypatch.setenv("VALIDATOR_RUN_ID", "explicit")
    assert settings_from({"validator_run_id": "ignored"}).run_id == "explicit"
