"""The suite's allow-list: which kubeconfig contexts may be written to, and what inside them.

A YAML file (`$VALIDATOR_ALLOWLIST`, else `~/.config/validator/allowlist.yaml`)::

    contexts:
      kwok-validator-sandbox:
        server: https://127.0.0.1:40123      # the apiserver URL the context must point at
        ca_sha256: 3f1c...                   # sha256 of the cluster's CA bytes in the kubeconfig
        kube_system_uid: 9a0e...             # the cluster's kube-system namespace UID
        namespaces: [agents, "vt-*"]         # fnmatch patterns; kube-system is refused anyway
        node_pools: [implementation, quality, testing, system]   # values of the `node-pool` label
        pod_labels: []                       # optional: targeted pods must carry one (key or key=value)
        limits: {max_cordoned_nodes: 1, max_workload_share: 0.5}

`validator allow --context CTX --namespace NS ...` records an entry from the live cluster. The
file's shape is declared in `validator.config.allowlist_file` (schemas/allowlist.schema.json is
generated from it); every problem of a bad file is reported at once, as `FILE: key.path: what`.
The identity fields are compared with the kubeconfig (no API call) and, once those match, with
the cluster's kube-system UID (one read).
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from validator.config.allowlist_file import ContextEntry, Limits, parse_allowlist
from validator.config.document import read_yaml_file
from validator.errors import ConfigError, UnsafeOperation
from validator.kube import in_cluster

__all__ = [
    "ALLOWLIST_ENV",
    "ClusterIdentity",
    "ContextEntry",
    "Limits",
    "default_path",
    "kubeconfig_paths",
    "load_allowlist",
    "read_identity",
    "save_entry",
]

ALLOWLIST_ENV = "VALIDATOR_ALLOWLIST"


def default_path() -> Path:
    explicit = os.environ.get(ALLOWLIST_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".config"
    return base / "validator" / "allowlist.yaml"


@dataclass(frozen=True, slots=True, kw_only=True)
class ClusterIdentity:
    """What a kubeconfig context says about the cluster, read without any API call."""

    context: str
    server: str
    ca_sha256: str


def load_allowlist(path: Path | None = None) -> dict[str, ContextEntry]:
    """Every allowed context in the file; a missing file allows nothing."""
    path = path or default_path()
    if not path.exists():
        return {}
    raw = read_yaml_file(path, kind="allow-list", missing_fix="record entries with `validator allow`")
    return parse_allowlist(raw, source=str(path))


def save_entry(entry: ContextEntry, path: Path | None = None) -> Path:
    """Add or replace one context's entry in the allow-list file."""
    path = path or default_path()
    raw: dict[str, Any] = {}
    if path.exists():
        raw = yaml.safe_load(path.read_text()) or {}
    contexts = raw.setdefault("contexts", {})
    contexts[entry.name] = {
        "server": entry.server,
        "ca_sha256": entry.ca_sha256,
        "kube_system_uid": entry.kube_system_uid,
        "namespaces": list(entry.namespaces),
        "node_pools": list(entry.node_pools),
        "pod_labels": list(entry.pod_labels),
        "limits": {"max_cordoned_nodes": entry.limits.max_cordoned_nodes,
                   "max_workload_share": entry.limits.max_workload_share},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(raw, sort_keys=True))
    return path


def kubeconfig_paths(kubeconfig: str | None) -> list[Path]:
    if kubeconfig:
        return [Path(kubeconfig).expanduser()]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def read_identity(context: str, kubeconfig: str | None) -> tuple[ClusterIdentity, Path]:
    """The server URL and CA fingerprint a context points at, from the kubeconfig file alone (for
    `in-cluster`: from the pod's environment and ServiceAccount directory, which is returned)."""
    if context == in_cluster.IN_CLUSTER:
        server, fingerprint = in_cluster.server(), in_cluster.ca_sha256()
        identity = ClusterIdentity(context=context, server=server, ca_sha256=fingerprint)
        return identity, in_cluster.service_account_dir()
    for path in kubeconfig_paths(kubeconfig):
        if not path.exists():
            continue
        try:
            doc = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise ConfigError("kubeconfig is not valid YAML", where=str(path), fix="check the file") from exc
        ctx = next((c for c in doc.get("contexts") or [] if c.get("name") == context), None)
        if ctx is None:
            continue
        cluster_name = (ctx.get("context") or {}).get("cluster")
        cluster = next((c.get("cluster") or {} for c in doc.get("clusters") or []
                        if c.get("name") == cluster_name), None)
        if cluster is None:
            raise ConfigError(f"context {context!r} names cluster {cluster_name!r}, which is not in the file",
                              where=str(path), fix="repair the kubeconfig")
        server = str(cluster.get("server") or "").rstrip("/")
        ca_bytes = b""
        if cluster.get("certificate-authority-data"):
            ca_bytes = base64.b64decode(cluster["certificate-authority-data"])
        elif cluster.get("certificate-authority"):
            ca_path = Path(cluster["certificate-authority"])
            if not ca_path.is_absolute():
                ca_path = path.parent / ca_path
            ca_bytes = ca_path.read_bytes() if ca_path.exists() else b""
        fingerprint = hashlib.sha256(ca_bytes).hexdigest() if ca_bytes else "none"
        return ClusterIdentity(context=context, server=server, ca_sha256=fingerprint), path
    raise UnsafeOperation(
        f"kubeconfig context {context!r} was not found",
        where=", ".join(str(p) for p in kubeconfig_paths(kubeconfig)),
        fix="pass --kubeconfig FILE with the context, or name a context that exists",
    )
