"""`recover`: find every object a run marked and revert it. Running it twice is harmless: a
reverted object carries no mark, so the second pass finds nothing to do."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field

from validator.errors import RollbackFailed
from validator.safety import marks
from validator.safety.guard import ALWAYS_REFUSED_NAMESPACES, pod_refusal
from validator.safety.mutator import STRESSCHAOS, Mutator, error_text


@dataclass
class RecoverReport:
    reverted: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _owned(annotations: dict[str, str], run_id: str | None) -> bool:
    if not annotations.get(marks.REVERT):
        return False
    return run_id is None or annotations.get(marks.RUN_ID) == run_id


def recover(mutator: Mutator, run_id: str | None = None, *, raise_on_failure: bool = True) -> RecoverReport:
    """Revert what runs (or the run `run_id`) left marked: nodes, pods, Chaos Mesh stressors."""
    from kubernetes.client.exceptions import ApiException

    report = RecoverReport()
    core = mutator.core()
    for node in mutator.list_nodes():
        meta = node.get("metadata") or {}
        annotations = meta.get("annotations") or {}
        if not _owned(annotations, run_id):
            continue
        name = str(meta.get("name"))
        for revert in marks.parse_reverts(annotations.get(marks.REVERT)):
            try:
                if revert == marks.UNCORDON:
                    mutator.uncordon(name)
                elif revert == marks.CLEAR_NOT_READY:
                    mutator.clear_node_not_ready(name)
                else:
                    report.skipped.append(f"node/{name}: unknown revert {revert!r}")
                    continue
                report.reverted.append(f"node/{name}: {revert}")
            except Exception as exc:
                report.failed.append(f"node/{name}: {revert}: {error_text(exc)}")
    for pod in core.list_pod_for_all_namespaces().items:
        data = mutator.to_dict(pod)
        meta = data.get("metadata") or {}
        annotations = meta.get("annotations") or {}
        if not _owned(annotations, run_id):
            continue
        ref = f"pod/{meta.get('namespace')}/{meta.get('name')}"
        refusal = pod_refusal(data, mutator.guard.entry)
        if refusal:
            report.skipped.append(f"{ref}: owes a revert, but {refusal}; use an allow-list that covers it")
            continue
        try:
            if mutator.restore_pod_annotations(data):
                report.reverted.append(f"{ref}: restore-annotations")
        except Exception as exc:
            report.failed.append(f"{ref}: restore-annotations: {error_text(exc)}")
    group, version, plural = STRESSCHAOS
    selector = f"{marks.RUN_ID}={run_id}" if run_id else marks.RUN_ID
    for namespace in mutator.guard.entry.namespaces:
        if any(c in namespace for c in "*?[") or namespace in ALWAYS_REFUSED_NAMESPACES:
            continue
        try:
            found = mutator.custom().list_namespaced_custom_object(group, version, namespace, plural,
                                                                   label_selector=selector)
        except ApiException as exc:
            if exc.status in (404, 403):
                continue  # Chaos Mesh not installed (or not ours to see)
            report.failed.append(f"stresschaos in {namespace}: {error_text(exc)}")
            continue
        for item in found.get("items", []):
            name = str(item["metadata"]["name"])
            try:
                if mutator.delete_stresschaos(namespace, name):
                    report.reverted.append(f"stresschaos/{namespace}/{name}: delete")
            except Exception as exc:
                report.failed.append(f"stresschaos/{namespace}/{name}: delete: {error_text(exc)}")
    if report.failed and raise_on_failure:
        raise RollbackFailed(
            f"{len(report.failed)} change(s) could not be reverted:\n    " + "\n    ".join(report.failed),
            where=f"context {mutator.guard.context}",
            fix="fix the cause shown, then run `validator recover` again (it is safe to repeat)",
        )
    return report


def namespace_allowed(namespace: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(namespace, p) for p in patterns)
