"""Deploy the reference platform (`platform/overlays/<overlay>`) to a cluster, CRDs first.

Steps, each reported through `progress`:
 1. the CRDs Kubernetes lacks -- the VPA's and prometheus-operator's PrometheusRule and
    ServiceMonitor -- taken from their own Go modules (`go mod download -json`), never copied
    into the repo; server-side applied, then waited for until Established;
 2. `kubectl kustomize` of the overlay, server-side applied (field manager `validator-platform`);
 3. a wait until the platform is healthy: Deployments available at their HPA minimum,
    StatefulSets ready, PodDisruptionBudgets observed; a timeout names what is not ready and why;
 4. the plain Prometheus rule file copied into `rules_dir` (the caller reloads Prometheus).

`wait_autoscalers_caught_up` is for after the simulated platform's restart (`validator sandbox
deploy`): an HPA's status still shows the load of the platform just replaced for up to
AUTOSCALER_TRAIL_S, and a run started at once would record that trail as its own load.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from validator.errors import SandboxError
from validator.kube import KubectlNotFound, KustomizeFailed, find_kubectl, kustomize
from validator.model import HpaState
from validator.resources import bundled
from validator.run_directory.k8s_watch import parse_object
from validator.sandbox.toolchain import binary_paths

VPA_MODULE = "k8s.io/autoscaler/vertical-pod-autoscaler"
VPA_VERSION = "v1.8.1"
PROMETHEUS_OPERATOR_MODULE = "github.com/prometheus-operator/prometheus-operator"
PROMETHEUS_OPERATOR_VERSION = "v0.85.0"
FIELD_MANAGER = "validator-platform"
RULE_FILE = Path("alerts") / "generated" / "agent-platform.rules.yaml"
BUNDLED_PLATFORM_DIR = bundled("platform")

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class CrdSource:
    """CRD files inside one Go module."""

    module: str
    version: str
    files: tuple[str, ...]


CRD_SOURCES = (
    CrdSource(module=VPA_MODULE, version=VPA_VERSION, files=("deploy/vpa-v1-crd-gen.yaml",)),
    CrdSource(
        module=PROMETHEUS_OPERATOR_MODULE,
        version=PROMETHEUS_OPERATOR_VERSION,
        files=(
            "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml",
            "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
        ),
    ),
)


def _quiet(_message: str) -> None:
    pass


# --- locating things ------------------------------------------------------------------------


def resolve_overlay(overlay: str) -> Path:
    """An overlay name (under ./platform/overlays or the bundled platform/overlays) or a directory."""
    candidate = Path(overlay)
    if candidate.is_dir() and (candidate / "kustomization.yaml").is_file():
        return candidate.resolve()
    for platform_dir in (Path.cwd() / "platform", BUNDLED_PLATFORM_DIR):
        path = platform_dir / "overlays" / overlay
        if (path / "kustomization.yaml").is_file():
            return path.resolve()
    overlays = BUNDLED_PLATFORM_DIR / "overlays"
    names = "none"
    if overlays.is_dir():
        names = ", ".join(sorted(p.name for p in overlays.iterdir() if p.is_dir()))
    raise SandboxError(
        f"no platform overlay {overlay!r}",
        where=str(overlays),
        fix=f"use one of: {names}, or the path of a kustomization directory",
    )


def rule_groups(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rule groups of every PrometheusRule among the overlay's objects, in order."""
    return [
        group
        for obj in objects
        if obj.get("kind") == "PrometheusRule"
        for group in ((obj.get("spec") or {}).get("groups") or [])
    ]


def rule_file_for(overlay_dir: Path) -> Path:
    """The plain rule file of the platform the overlay belongs to (platform/alerts/generated/...)."""
    for parent in overlay_dir.parents:
        if (parent / RULE_FILE).is_file():
            return parent / RULE_FILE
    return BUNDLED_PLATFORM_DIR / RULE_FILE


def default_kubectl() -> Path:
    """The sandbox's own kubectl (same minor as its apiserver) when built, else kubectl on PATH."""
    try:
        return find_kubectl(built=binary_paths().get("kubectl"))
    except KubectlNotFound:
        raise SandboxError(
            "kubectl not found",
            where="sandbox deploy",
            fix="run `validator sandbox build` (it builds kubectl) or put kubectl on PATH",
        ) from None


# --- CRDs from Go modules -------------------------------------------------------------------


def module_dir(module: str, version: str) -> Path:
    """Download a Go module (or find it in the module cache) and return its directory."""
    go = shutil.which("go")
    if go is None:
        raise SandboxError(
            "the Go toolchain is not on PATH; it fetches the VPA and prometheus-operator CRDs",
            where="sandbox deploy",
            fix="install Go 1.26+ (the sandbox build needs it too)",
        )
    env = dict(os.environ)
    env.setdefault("GOPROXY", "https://proxy.golang.org,direct")
    env["GOFLAGS"] = "-mod=mod"
    env["GO111MODULE"] = "on"
    try:
        proc = subprocess.run(
            [go, "mod", "download", "-json", f"{module}@{version}"],
            capture_output=True,
            text=True,
            check=False,
            env=env,
            cwd=Path.home(),
            timeout=600,
        )
    except subprocess.TimeoutExpired as exc:
        raise SandboxError(
            f"downloading {module}@{version} took over 10 minutes",
            where="go mod download",
            fix="check the Go module proxy is reachable (GOPROXY)",
        ) from exc
    try:
        info = json.loads(proc.stdout) if proc.stdout.strip() else {}
    except json.JSONDecodeError:
        info = {}
    directory = info.get("Dir")
    if proc.returncode != 0 or not directory or info.get("Error"):
        detail = info.get("Error") or proc.stderr.strip()
        raise SandboxError(
            f"cannot download {module}@{version}: {detail}",
            where="go mod download",
            fix="check the Go module proxy is reachable (GOPROXY) and the version exists",
        )
    return Path(directory)


def crd_files(progress: Progress = _quiet) -> list[Path]:
    files: list[Path] = []
    for source in CRD_SOURCES:
        progress(f"fetching CRDs from {source.module}@{source.version}")
        directory = module_dir(source.module, source.version)
        for relative in source.files:
            path = directory / relative
            if not path.is_file():
                raise SandboxError(
                    f"{source.module}@{source.version} has no {relative}",
                    where=str(directory),
                    fix="the module's layout changed: update CRD_SOURCES in "
                    "validator/sandbox/platform_deploy.py",
                )
            files.append(path)
    return files


def _crd_names(path: Path) -> list[str]:
    names = []
    for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
            names.append(str(doc["metadata"]["name"]))
    return names


# --- kubectl --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Kubectl:
    binary: Path
    kubeconfig: Path
    context: str

    def run(self, args: Sequence[str], *, stdin: str | None = None, what: str, timeout: float = 300) -> str:
        command = [str(self.binary), "--kubeconfig", str(self.kubeconfig), "--context", self.context, *args]
        try:
            proc = subprocess.run(
                command, input=stdin, capture_output=True, text=True, check=False, timeout=timeout
            )
        except subprocess.TimeoutExpired as exc:
            raise SandboxError(
                f"{what}: kubectl did not finish in {timeout:.0f}s",
                where=" ".join(args[:3]),
                fix="check the apiserver is up: `validator sandbox status`",
            ) from exc
        if proc.returncode != 0:
            raise SandboxError(
                f"{what} failed: {proc.stderr.strip() or proc.stdout.strip()}",
                where=f"kubectl {' '.join(args[:3])} (context {self.context})",
                fix="check the sandbox is up (`validator sandbox status`) and the manifests are valid "
                "(`validator lint platform/`)",
            )
        return proc.stdout


def build_overlay(kubectl: Path, overlay_dir: Path) -> str:
    try:
        return kustomize(kubectl, overlay_dir)
    except KustomizeFailed as exc:
        raise SandboxError(
            f"kustomize build failed: {exc}",
            where=str(overlay_dir / "kustomization.yaml"),
            fix="run `kubectl kustomize` on the overlay to see the error, then fix the kustomization",
        ) from None


def apply_crds(client: Kubectl, progress: Progress) -> None:
    names: list[str] = []
    for path in crd_files(progress):
        client.run(
            [
                "apply",
                "--server-side",
                "--force-conflicts",
                f"--field-manager={FIELD_MANAGER}",
                "-f",
                str(path),
            ],
            what=f"applying CRDs from {path.name}",
        )
        names.extend(_crd_names(path))
    progress(f"waiting for {len(names)} CRDs to be Established")
    client.run(
        ["wait", "--for=condition=Established", "--timeout=120s", *(f"crd/{n}" for n in names)],
        what="waiting for the CRDs",
        timeout=150,
    )


def release_static_volumes(client: Kubectl, objects: list[dict[str, Any]], progress: Progress) -> None:
    """Make the overlay's pre-created PersistentVolumes bindable again after their claims were deleted.

    A PV reserved for a claim (claimRef by namespace and name) keeps the old claim's uid once that
    claim is gone (status Released), and then never binds the re-created claim of the same name.
    Clearing the uid returns it to "reserved for that name". Only PVs of the overlay are touched.
    """
    names = {
        str((obj.get("metadata") or {}).get("name"))
        for obj in objects
        if obj.get("kind") == "PersistentVolume"
    }
    if not names:
        return
    # one listing, not a read per volume: a scaled overlay holds thousands of them, and a kubectl
    # call each took most of a 1,000-node deploy
    listing = json.loads(client.run(["get", "pv", "-o", "json"], what="reading the PersistentVolumes"))
    for current in listing.get("items") or []:
        name = (current.get("metadata") or {}).get("name")
        if name not in names or (current.get("status") or {}).get("phase") != "Released":
            continue
        claim = (current.get("spec") or {}).get("claimRef") or {}
        patch = [
            {"op": "remove", "path": f"/spec/claimRef/{key}"}
            for key in ("uid", "resourceVersion")
            if key in claim
        ]
        if patch:
            where = f"{claim.get('namespace')}/{claim.get('name')}"
            progress(f"re-arming released workspace volume {name} for {where}")
            client.run(
                ["patch", "pv", name, "--type=json", "-p", json.dumps(patch)], what=f"re-arming PV {name}"
            )


# --- health ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Workload:
    kind: str
    namespace: str
    name: str

    @property
    def ref(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"


def _watched(objects: list[dict[str, Any]]) -> tuple[list[Workload], dict[tuple[str, str], int]]:
    """Deployments, StatefulSets and PDBs to wait for; and minReplicas of HPA targets."""
    watched = []
    hpa_minimum: dict[tuple[str, str], int] = {}
    for obj in objects:
        kind = obj.get("kind")
        meta = obj.get("metadata") or {}
        if kind in {"Deployment", "StatefulSet", "PodDisruptionBudget"}:
            watched.append(
                Workload(
                    kind=str(kind), namespace=str(meta.get("namespace", "default")), name=str(meta["name"])
                )
            )
        if kind == "HorizontalPodAutoscaler":
            spec = obj.get("spec") or {}
            target = spec.get("scaleTargetRef") or {}
            key = (f"{target.get('kind')}/{meta.get('namespace', 'default')}", str(target.get("name")))
            hpa_minimum[key] = int(spec.get("minReplicas", 1))
    return watched, hpa_minimum


def not_ready_reason(
    item: Workload, obj: dict[str, Any], hpa_minimum: dict[tuple[str, str], int]
) -> str | None:
    """None when healthy, else why not (pure: works on the object as read from the API)."""
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, obj.get("status") or {}
    if status.get("observedGeneration", 0) < meta.get("generation", 1):
        return "not yet observed by its controller"
    if item.kind == "PodDisruptionBudget":
        return None
    # rolled out first: the pods that are ready must be the ones the template now asks for (a
    # changed template leaves the old pods ready for a while)
    replicas = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas", 0))
    if item.kind == "Deployment":
        if updated < replicas or int(status.get("replicas", 0)) > updated:
            return f"rolling out: {updated}/{replicas} replicas updated"
        floor = hpa_minimum.get((f"Deployment/{item.namespace}", item.name), 0)
        wanted = max(replicas, floor)
        available = int(status.get("availableReplicas", 0))
        if available < wanted:
            return f"{available}/{wanted} replicas available"
        return None
    if updated < replicas or status.get("currentRevision") != status.get("updateRevision"):
        return f"rolling out: {updated}/{replicas} replicas updated"
    ready = int(status.get("readyReplicas", 0))
    if ready < replicas:
        return f"{ready}/{replicas} replicas ready"
    return None


_RESOURCE = {
    "Deployment": "deployments.apps",
    "StatefulSet": "statefulsets.apps",
    "PodDisruptionBudget": "poddisruptionbudgets.policy",
}


def _read_state(client: Kubectl, watched: list[Workload]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for namespace in sorted({w.namespace for w in watched}):
        kinds = ",".join(sorted({_RESOURCE[w.kind] for w in watched if w.namespace == namespace}))
        listing = json.loads(
            client.run(
                ["get", kinds, "-n", namespace, "-o", "json"], what=f"reading workloads in {namespace}"
            )
        )
        for obj in listing.get("items", []):
            out[f"{obj['kind']}/{namespace}/{obj['metadata']['name']}"] = obj
    return out


def _pod_problems(client: Kubectl, namespaces: set[str]) -> list[str]:
    """Why pods in these namespaces are not Ready (scheduling failures, waiting reasons)."""
    problems = []
    for namespace in sorted(namespaces):
        try:
            pods = json.loads(client.run(["get", "pods", "-n", namespace, "-o", "json"], what="reading pods"))
        except SandboxError:
            continue
        for pod in pods.get("items", []):
            conditions = {c.get("type"): c for c in (pod.get("status") or {}).get("conditions") or []}
            if conditions.get("Ready", {}).get("status") == "True":
                continue
            reason = ""
            scheduled = conditions.get("PodScheduled")
            if scheduled and scheduled.get("status") == "False":
                reason = f"unschedulable: {scheduled.get('message', scheduled.get('reason', ''))}"
            else:
                ready = conditions.get("Ready", {})
                reason = f"phase {(pod.get('status') or {}).get('phase', '?')}"
                if ready.get("reason") or ready.get("message"):
                    reason += f", Ready: {ready.get('reason', '')} {ready.get('message', '')}".rstrip()
                node = (pod.get("spec") or {}).get("nodeName")
                if node:
                    reason += f", on node {node}"
            problems.append(f"pod {namespace}/{pod['metadata']['name']} not Ready ({reason})")
    return problems


def wait_healthy(
    client: Kubectl, objects: list[dict[str, Any]], timeout: float, progress: Progress, poll: float = 2.0
) -> None:
    watched, hpa_minimum = _watched(objects)
    deadline = time.monotonic() + timeout
    last_report = ""
    last_time = 0.0
    while True:
        state = _read_state(client, watched)
        pending = {}
        for item in watched:
            obj = state.get(item.ref)
            reason = "not found" if obj is None else not_ready_reason(item, obj, hpa_minimum)
            if reason is not None:
                pending[item.ref] = reason
        if not pending:
            progress(f"healthy: {len(watched)} Deployments, StatefulSets and PDBs")
            return
        report = ", ".join(f"{ref} ({why})" for ref, why in sorted(pending.items()))
        now = time.monotonic()
        if report != last_report or now - last_time > 15:
            progress(f"waiting for {len(pending)}/{len(watched)}: {report}")
            last_report, last_time = report, now
        if now > deadline:
            pods = _pod_problems(client, {ref.split("/")[1] for ref in pending})
            raise SandboxError(
                f"the platform is not healthy after {timeout:.0f}s; not ready:\n  "
                + "\n  ".join(f"{ref}: {why}" for ref, why in sorted(pending.items()))
                + ("\n  " + "\n  ".join(pods[:20]) if pods else "")
                + (f"\n  ... and {len(pods) - 20} more pods not Ready" if len(pods) > 20 else ""),
                where=f"context {client.context}",
                fix="look at the reasons above (`kubectl describe` the objects); unschedulable pods "
                "need nodes of their node-pool and bound workspaces; a platform of thousands of pods "
                "may need a longer `validator sandbox deploy --timeout`",
            )
        time.sleep(poll)


# --- the entry point ------------------------------------------------------------------------


def deploy(
    kubeconfig: Path,
    context: str,
    overlay: str,
    rules_dir: Path | None,
    progress: Progress | None = None,
    *,
    kubectl: Path | None = None,
    timeout: float = 300.0,
    install_crds: bool = True,
) -> None:
    """Apply the platform overlay (a name under platform/overlays, or a directory) and wait until healthy.

    Raises SandboxError naming the step, the object and the fix when something fails.
    """
    say = progress or _quiet
    overlay_dir = resolve_overlay(overlay)
    binary = kubectl or default_kubectl()
    client = Kubectl(binary=binary, kubeconfig=Path(kubeconfig), context=context)
    if install_crds:
        apply_crds(client, say)
    say(f"building {overlay_dir}")
    manifests = build_overlay(binary, overlay_dir)
    objects = [d for d in yaml.safe_load_all(manifests) if isinstance(d, dict)]
    release_static_volumes(client, objects, say)
    say(f"applying {len(objects)} objects (server-side, field manager {FIELD_MANAGER})")
    client.run(
        ["apply", "--server-side", "--force-conflicts", f"--field-manager={FIELD_MANAGER}", "-f", "-"],
        stdin=manifests,
        what=f"applying overlay {overlay}",
    )
    wait_healthy(client, objects, timeout, say)
    if rules_dir is not None:
        rules_dir.mkdir(parents=True, exist_ok=True)
        target = rules_dir / RULE_FILE.name
        groups = rule_groups(objects)
        if groups:
            # what prometheus-operator does with the overlay's PrometheusRule objects: an overlay that
            # changes a rule changes what the sandbox's Prometheus evaluates
            target.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")
            say(f"alert rules of the overlay's PrometheusRule objects written to {target}")
        else:
            shutil.copyfile(rule_file_for(overlay_dir), target)
            say(f"alert rules copied to {target}")


# --- autoscalers after a restart ------------------------------------------------------------

# How long an HPA's status may still show the load of a platform just replaced: metrics-server's
# CPU is the average between two scrapes 15 s apart, read by the HPA every sync (1 s in the
# sandbox), so twice the resolution and a sync, with a margin (scaling_latency's metrics_delay).
AUTOSCALER_TRAIL_S = 35.0
HPA_TOLERANCE = 0.1  # the HPA controller's own dead band


def hpas_above_target(client: Kubectl) -> list[str]:
    """Every HPA whose status shows a metric above its target beyond the HPA's tolerance, as
    `ns/name metric current > target`."""
    listing = json.loads(client.run(["get", "hpa", "-A", "-o", "json"], what="reading the HPAs"))
    above = []
    for obj in listing.get("items", []):
        state = parse_object("HorizontalPodAutoscaler", obj)
        if not isinstance(state, HpaState):
            continue
        meta = obj.get("metadata") or {}
        hpa = f"{meta.get('namespace')}/{meta.get('name')}"
        above += [f"{hpa} {m.name} {m.current:g} > {m.target:g}" for m in state.metrics_above(HPA_TOLERANCE)]
    return sorted(above)


def wait_autoscalers_caught_up(
    kubeconfig: Path,
    context: str,
    progress: Progress | None = None,
    *,
    kubectl: Path | None = None,
    timeout: float = AUTOSCALER_TRAIL_S,
    poll: float = 1.0,
) -> list[str]:
    """Wait until no HPA shows a metric above its target, at most `timeout` seconds: long enough for
    the status to stop showing a replaced platform's load. Returns the HPAs still above it then
    (the deployed platform's own load, which a run should see)."""
    say = progress or _quiet
    client = Kubectl(binary=kubectl or default_kubectl(), kubeconfig=Path(kubeconfig), context=context)
    deadline = time.monotonic() + timeout
    above = hpas_above_target(client)
    if above:
        say(
            f"waiting up to {timeout:.0f}s for the HPAs to stop showing the replaced platform's load: "
            + "; ".join(above)
        )
    while above and time.monotonic() < deadline:
        time.sleep(poll)
        above = hpas_above_target(client)
    if above:
        say(f"still above target after {timeout:.0f}s, so it is the platform's own load: " + "; ".join(above))
    return above
