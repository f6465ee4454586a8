"""The annotations and labels that mark what a run changed, and how to revert it."""

from __future__ import annotations

RUN_ID = "validator.io/run-id"
"""Annotation (and, on objects we create, label) holding the run id that changed the object."""

REVERT = "validator.io/revert"
"""Annotation: comma-separated revert actions still owed on this object (e.g. `uncordon`)."""

REVERT_DATA = "validator.io/revert-data"
"""Annotation: JSON with what a revert needs (previous annotation values, previous labels)."""

UNCORDON = "uncordon"
CLEAR_NOT_READY = "clear-not-ready"
RESTORE_ANNOTATIONS = "restore-annotations"

KNOWN_REVERTS = (UNCORDON, CLEAR_NOT_READY, RESTORE_ANNOTATIONS)


def parse_reverts(value: str | None) -> list[str]:
    """The revert actions listed in a `validator.io/revert` annotation, in order, without duplicates."""
    out: list[str] = []
    for part in (value or "").split(","):
        item = part.strip()
        if item and item not in out:
            out.append(item)
    return out


def join_reverts(items: list[str]) -> str | None:
    """The annotation value for `items`, or None (remove the annotation) when nothing is owed."""
    return ",".join(items) if items else None
