"""The one mutator: every cluster write of the suite goes through here.

For each write it (1) asks the guard, (2) in plan mode records what it would do and stops (only
evictions are sent, as server-side dry-runs, so the apiserver says whether a budget refuses),
(3) appends the audit line with `result: pending`, (4) acts, marking the object with the run id
and the revert it is owed, (5) appends the result. Reverts (uncordon, clear NotReady, restore
annotations) are idempotent: an object without the mark is left alone.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client

from validator.errors import UnsafeOperation
from validator.safety import marks
from validator.safety.audit import AuditLog
from validator.safety.guard import Guard, Obj, is_schedulable, pod_refusal
from validator.sandbox import usage

MERGE_PATCH = "application/merge-patch+json"
STRESSCHAOS = ("chaos-mesh.org", "v1alpha1", "stresschaos")


@dataclass(frozen=True, slots=True, kw_only=True)
class Planned:
    """One write that plan mode would make."""

    verb: str
    object: str
    change: str
    note: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class EvictionOutcome:
    pod: str
    evicted: bool
    refused_by: str = ""  # the budget's name (or its message) when HTTP 429
    message: str = ""


def _meta(obj: Obj) -> dict[str, Any]:
    return dict(obj.get("metadata") or {})


def _ref(obj: Obj, kind: str) -> str:
    meta = _meta(obj)
    if meta.get("namespace"):
        return f"{kind}/{meta['namespace']}/{meta.get('name')}"
    return f"{kind}/{meta.get('name')}"


def error_text(exc: BaseException) -> str:
    """An API error as a short line: status and reason, never headers or request bodies."""
    status = getattr(exc, "status", None)
    if status is not None:
        reason = getattr(exc, "reason", "") or ""
        message = ""
        body = getattr(exc, "body", None)
        if body:
            try:
                message = str(json.loads(body).get("message", ""))
            except (ValueError, AttributeError):
                message = ""
        return f"HTTP {status} {reason}: {message}".strip().rstrip(":")
    return f"{type(exc).__name__}: {exc}"


def budget_from_refusal(exc: BaseException) -> str:
    """The PodDisruptionBudget named in a 429 eviction refusal (its message when no name is given)."""
    body = getattr(exc, "body", None) or ""
    try:
        doc = json.loads(body)
    except ValueError:
        return "unknown budget"
    for cause in (doc.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "DisruptionBudget":
            text = str(cause.get("message") or "")
            # "The disruption budget NAME needs N healthy pods and has M currently"
            words = text.split()
            if len(words) > 3 and words[:3] == ["The", "disruption", "budget"]:
                return words[3]
            return text
    return str(doc.get("message") or "unknown budget")


@dataclass
class Mutator:
    guard: Guard
    audit: AuditLog
    plan_mode: bool = False
    planned: list[Planned] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        return self.audit.run_id

    # ------------------------------------------------------------------ clients

    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.guard.api)

    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.guard.api)

    def to_dict(self, obj: Any) -> dict[str, Any]:
        if isinstance(obj, dict):
            return obj
        result: dict[str, Any] = self.guard.api.sanitize_for_serialization(obj)
        return result

    def read_node(self, name: str) -> dict[str, Any]:
        return self.to_dict(self.core().read_node(name))

    def list_nodes(self, label_selector: str = "") -> list[dict[str, Any]]:
        items = self.core().list_node(label_selector=label_selector or None).items
        return [self.to_dict(n) for n in items]

    def _patch_node(self, name: str, patch: dict[str, Any]) -> Any:
        return self.core().patch_node(name, patch, _content_type=MERGE_PATCH)

    def _patch_pod(self, name: str, namespace: str, patch: dict[str, Any]) -> Any:
        return self.core().patch_namespaced_pod(name, namespace, patch, _content_type=MERGE_PATCH)

    # ------------------------------------------------------------------ the write protocol

    def write(self, verb: str, obj: str, change: str, call: Callable[[], Any], *, note: str = "") -> Any:
        """The one write protocol: in plan mode only recorded; otherwise the audit line (`pending`)
        before the call, its result (`ok` or `error: ...`) after. Returns the call's result (the
        apiserver's answer), None in plan mode."""
        if self.plan_mode:
            self.planned.append(Planned(verb=verb, object=obj, change=change, note=note))
            return None
        self.audit.record(verb=verb, obj=obj, change=change, result="pending")
        try:
            result = call()
        except BaseException as exc:
            self.audit.record(verb=verb, obj=obj, change=change, result=f"error: {error_text(exc)}")
            raise
        self.audit.record(verb=verb, obj=obj, change=change, result="ok")
        return result

    def _mark_patch(self, obj: Obj, add: str | None = None, remove: str | None = None,
                    revert_data: dict[str, Any] | None = None) -> dict[str, Any]:
        annotations = _meta(obj).get("annotations") or {}
        reverts = marks.parse_reverts(annotations.get(marks.REVERT))
        owner = annotations.get(marks.RUN_ID)
        if add and reverts and owner and owner != self.run_id:
            raise UnsafeOperation(
                f"{_meta(obj).get('name')} still carries changes of run {owner} ({', '.join(reverts)})",
                where=f"context {self.guard.context}",
                fix=f"revert them first: validator recover --context {self.guard.context} --run-id {owner}",
            )
        if add and add not in reverts:
            reverts.append(add)
        if remove and remove in reverts:
            reverts.remove(remove)
        value = marks.join_reverts(reverts)
        patch: dict[str, Any] = {marks.REVERT: value}
        patch[marks.RUN_ID] = (annotations.get(marks.RUN_ID) or self.run_id) if value else None
        if revert_data is not None:
            patch[marks.REVERT_DATA] = json.dumps(revert_data, sort_keys=True) if revert_data else None
        elif not value:
            patch[marks.REVERT_DATA] = None
        return patch

    # ------------------------------------------------------------------ nodes

    def cordon(self, name: str, *, also: list[str] | None = None) -> None:
        nodes = self.list_nodes()
        node = next((n for n in nodes if _meta(n).get("name") == name), None)
        if node is None:
            raise UnsafeOperation(f"node {name} does not exist", where=f"context {self.guard.context}")
        annotations = _meta(node).get("annotations") or {}
        owed = marks.parse_reverts(annotations.get(marks.REVERT))
        if (node.get("spec") or {}).get("unschedulable") and marks.UNCORDON not in owed:
            self.guard.refuse(f"node {name} is already cordoned by someone else; the suite leaves it alone")
        self.guard.check_node(node, nodes, also or [])
        patch = {"spec": {"unschedulable": True},
                 "metadata": {"annotations": self._mark_patch(node, add=marks.UNCORDON)}}
        self.write("patch", f"node/{name}", "cordon", lambda: self._patch_node(name, patch))

    def uncordon(self, name: str, *, force_owned: bool = False) -> bool:
        """Uncordon a node this suite cordoned; False (and no write) when it owes no uncordon."""
        if self.plan_mode:
            self.planned.append(Planned(verb="patch", object=f"node/{name}", change="uncordon",
                                        note="rollback"))
            return False
        node = self.read_node(name)
        owed = marks.parse_reverts((_meta(node).get("annotations") or {}).get(marks.REVERT))
        if marks.UNCORDON not in owed and not force_owned:
            return False
        patch = {"spec": {"unschedulable": False},
                 "metadata": {"annotations": self._mark_patch(node, remove=marks.UNCORDON)}}
        self.write("patch", f"node/{name}", "uncordon", lambda: self._patch_node(name, patch))
        return True

    def set_node_not_ready(self, name: str, condition: str = "") -> None:
        nodes = self.list_nodes()
        node = next((n for n in nodes if _meta(n).get("name") == name), None)
        if node is None:
            raise UnsafeOperation(f"node {name} does not exist", where=f"context {self.guard.context}")
        self.guard.check_node(node, nodes)
        meta = _meta(node)
        labels = meta.get("labels") or {}
        annotations = meta.get("annotations") or {}
        previous = {"label": labels.get(usage.NOT_READY),
                    "annotation": annotations.get(usage.NOT_READY_CONDITION)}
        mark = self._mark_patch(node, add=marks.CLEAR_NOT_READY, revert_data=previous)
        if condition:
            mark[usage.NOT_READY_CONDITION] = condition
        patch = {"metadata": {"labels": {usage.NOT_READY: "true"}, "annotations": mark}}
        self.write("patch", f"node/{name}", "not-ready" + (f":{condition}" if condition else ""),
                    lambda: self._patch_node(name, patch))

    def clear_node_not_ready(self, name: str) -> bool:
        if self.plan_mode:
            self.planned.append(Planned(verb="patch", object=f"node/{name}", change="clear-not-ready",
                                        note="rollback"))
            return False
        node = self.read_node(name)
        annotations = _meta(node).get("annotations") or {}
        if marks.CLEAR_NOT_READY not in marks.parse_reverts(annotations.get(marks.REVERT)):
            return False
        try:
            previous = json.loads(annotations.get(marks.REVERT_DATA) or "{}")
        except ValueError:
            previous = {}
        mark = self._mark_patch(node, remove=marks.CLEAR_NOT_READY, revert_data={})
        mark[usage.NOT_READY_CONDITION] = previous.get("annotation")
        patch = {"metadata": {"labels": {usage.NOT_READY: previous.get("label")}, "annotations": mark}}
        self.write("patch", f"node/{name}", "clear-not-ready", lambda: self._patch_node(name, patch))
        return True

    def run_hook(self, node: str, change: str, call: Callable[[], Any]) -> None:
        """Run an external command acting on a node (real-cluster node failure), audited like a write."""
        self.write("exec", f"node/{node}", change, call, note="external hook")

    # ------------------------------------------------------------------ pods

    def evict(self, pod: Obj) -> EvictionOutcome:
        """Evict through the eviction API (budgets honoured). In plan mode: a server-side dry run."""
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        self.guard.refuse(pod_refusal(pod, self.guard.entry))
        meta = _meta(pod)
        name, namespace = str(meta["name"]), str(meta["namespace"])
        ref = _ref(pod, "pod")
        body = client.V1Eviction(metadata=client.V1ObjectMeta(name=name, namespace=namespace))
        if self.plan_mode:
            try:
                self.core().create_namespaced_pod_eviction(name, namespace, body, dry_run="All")
            except ApiException as exc:
                if exc.status == 429:
                    budget = budget_from_refusal(exc)
                    self.planned.append(Planned(verb="create", object=f"{ref}/eviction", change="evict",
                                                note=f"would be refused by budget {budget}"))
                    return EvictionOutcome(pod=ref, evicted=False, refused_by=budget,
                                           message=error_text(exc))
                self.planned.append(Planned(verb="create", object=f"{ref}/eviction", change="evict",
                                            note=f"dry run failed: {error_text(exc)}"))
                return EvictionOutcome(pod=ref, evicted=False, message=error_text(exc))
            self.planned.append(Planned(verb="create", object=f"{ref}/eviction", change="evict",
                                        note="allowed by every budget (dry run)"))
            return EvictionOutcome(pod=ref, evicted=False, message="dry run: allowed")
        self.audit.record(verb="create", obj=f"{ref}/eviction", change="evict", result="pending")
        try:
            self.core().create_namespaced_pod_eviction(name, namespace, body)
        except ApiException as exc:
            if exc.status == 429:
                budget = budget_from_refusal(exc)
                self.audit.record(verb="create", obj=f"{ref}/eviction", change="evict",
                                  result="refused", budget=budget)
                return EvictionOutcome(pod=ref, evicted=False, refused_by=budget, message=error_text(exc))
            if exc.status == 404:
                self.audit.record(verb="create", obj=f"{ref}/eviction", change="evict", result="gone")
                return EvictionOutcome(pod=ref, evicted=True, message="already gone")
            self.audit.record(verb="create", obj=f"{ref}/eviction", change="evict",
                              result=f"error: {error_text(exc)}")
            raise
        except BaseException as exc:
            self.audit.record(verb="create", obj=f"{ref}/eviction", change="evict",
                              result=f"error: {error_text(exc)}")
            raise
        self.audit.record(verb="create", obj=f"{ref}/eviction", change="evict", result="ok")
        return EvictionOutcome(pod=ref, evicted=True)

    def delete_pod(self, pod: Obj) -> None:
        """Delete a pod with its normal grace period (never forced). Bypasses budgets: used only by
        the explicitly named pod-deletion actions."""
        self.guard.refuse(pod_refusal(pod, self.guard.entry))
        meta = _meta(pod)
        name, namespace = str(meta["name"]), str(meta["namespace"])
        self.write("delete", _ref(pod, "pod"), "delete",
                    lambda: self.core().delete_namespaced_pod(name, namespace))

    def patch_pod_annotations(self, pod: Obj, annotations: dict[str, str | None], change: str) -> None:
        """Set annotations on a pod, remembering the originals for `restore_pod_annotations`."""
        self.guard.refuse(pod_refusal(pod, self.guard.entry))
        meta = _meta(pod)
        name, namespace = str(meta["name"]), str(meta["namespace"])
        current = meta.get("annotations") or {}
        try:
            saved = json.loads(current.get(marks.REVERT_DATA) or "{}")
        except ValueError:
            saved = {}
        originals = dict(saved.get("annotations") or {})
        for key in annotations:
            if key not in originals:
                originals[key] = current.get(key)
        mark = self._mark_patch(pod, add=marks.RESTORE_ANNOTATIONS, revert_data={"annotations": originals})
        patch = {"metadata": {"annotations": {**annotations, **mark}}}
        self.write("patch", _ref(pod, "pod"), change,
                    lambda: self._patch_pod(name, namespace, patch))

    def restore_pod_annotations(self, pod: Obj, *, keep: tuple[str, ...] = ()) -> bool:
        """Put back the annotations a run changed; False (no write) when the pod owes nothing."""
        meta = _meta(pod)
        current = meta.get("annotations") or {}
        if marks.RESTORE_ANNOTATIONS not in marks.parse_reverts(current.get(marks.REVERT)):
            return False
        name, namespace = str(meta["name"]), str(meta["namespace"])
        try:
            originals = dict(json.loads(current.get(marks.REVERT_DATA) or "{}").get("annotations") or {})
        except ValueError:
            originals = {}
        for key in keep:
            originals.pop(key, None)
        mark = self._mark_patch(pod, remove=marks.RESTORE_ANNOTATIONS, revert_data={})
        patch = {"metadata": {"annotations": {**originals, **mark}}}
        self.write("patch", _ref(pod, "pod"), "restore-annotations",
                    lambda: self._patch_pod(name, namespace, patch))
        return True

    # ------------------------------------------------------------------ Chaos Mesh

    def create_stresschaos(self, namespace: str, body: dict[str, Any]) -> None:
        self.guard.check_namespace(namespace)
        group, version, plural = STRESSCHAOS
        meta = body.setdefault("metadata", {})
        meta.setdefault("labels", {})[marks.RUN_ID] = self.run_id
        meta.setdefault("annotations", {})[marks.REVERT] = "delete"
        name = meta["name"]
        self.write("create", f"stresschaos/{namespace}/{name}", "stress-memory",
                    lambda: self.custom().create_namespaced_custom_object(
                        group, version, namespace, plural, body))

    def delete_stresschaos(self, namespace: str, name: str) -> bool:
        from kubernetes.client.exceptions import ApiException

        group, version, plural = STRESSCHAOS
        if self.plan_mode:
            self.planned.append(Planned(verb="delete", object=f"stresschaos/{namespace}/{name}",
                                        change="delete-stressor", note="rollback"))
            return False
        try:
            self.custom().get_namespaced_custom_object(group, version, namespace, plural, name)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        self.write("delete", f"stresschaos/{namespace}/{name}", "delete-stressor",
                    lambda: self.custom().delete_namespaced_custom_object(group, version, namespace,
                                                                          plural, name))
        return True


def node_schedulable(node: Obj) -> bool:
    return is_schedulable(node)
