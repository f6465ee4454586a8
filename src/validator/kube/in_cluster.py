"""Running inside the cluster, as a ServiceAccount (e.g. `validator-runner` in a CronJob): the token
and CA from the standard paths, the apiserver from KUBERNETES_SERVICE_HOST/PORT. The context name
`in-cluster` selects this path everywhere a kubeconfig context would be used; it must be in the
allow-list like any context (its identity: this server, this CA, the kube-system UID).

The ServiceAccount directory can be pointed elsewhere with $VALIDATOR_SERVICE_ACCOUNT_DIR (the
tests use a token minted with the TokenRequest API)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from kubernetes import client
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.incluster_config import InClusterConfigLoader

from validator.errors import ConfigError

IN_CLUSTER = "in-cluster"
SERVICE_ACCOUNT_DIR_ENV = "VALIDATOR_SERVICE_ACCOUNT_DIR"
DEFAULT_SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def service_account_dir() -> Path:
    """Where the token, ca.crt and namespace files are."""
    return Path(os.environ.get(SERVICE_ACCOUNT_DIR_ENV) or DEFAULT_SERVICE_ACCOUNT_DIR)


def _missing(what: str) -> ConfigError:
    return ConfigError(
        f"not running in a cluster: {what}",
        where=f"context {IN_CLUSTER} ({service_account_dir()}, $KUBERNETES_SERVICE_HOST/PORT)",
        fix="run inside a pod with a ServiceAccount token mounted, or name a kubeconfig context instead",
    )


def server() -> str:
    """The apiserver's URL as a pod sees it."""
    host = os.environ.get("KUBERNETES_SERVICE_HOST", "")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "")
    if not host or not port:
        raise _missing("KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT are not set")
    return f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"


def ca_sha256() -> str:
    """The fingerprint of the CA the ServiceAccount trusts (sha256 of ca.crt, as for a kubeconfig)."""
    path = service_account_dir() / "ca.crt"
    if not path.is_file():
        raise _missing(f"{path} not found")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def api_client(connections: int | None = None) -> client.ApiClient:
    """A client with the ServiceAccount's token (re-read when the kubelet rotates it)."""
    directory = service_account_dir()
    configuration = client.Configuration()
    try:
        InClusterConfigLoader(
            token_filename=str(directory / "token"), cert_filename=str(directory / "ca.crt")
        ).load_and_set(configuration)
    except ConfigException as exc:
        raise _missing(str(exc)) from None
    if connections is not None:
        configuration.connection_pool_maxsize = max(connections, configuration.connection_pool_maxsize or 0)
    return client.ApiClient(configuration=configuration)
