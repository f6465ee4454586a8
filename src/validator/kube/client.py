"""The one way an API client is built: a kubeconfig file and a context named explicitly (never the
file's current context), token refreshes never written back into the file, and errors that name
the file and context without quoting their secrets."""

from __future__ import annotations

from pathlib import Path

from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from validator.errors import ConfigError
from validator.kube import in_cluster
from validator.redaction import redact_text


def api_client(
    kubeconfig: Path | str, context: str, *, connections: int | None = None
) -> client.ApiClient:
    """An ApiClient for exactly this kubeconfig file and context; nothing process-wide is touched.

    `connections` sizes its connection pool: each open watch holds one connection, so a recorder
    asks for one per stream (plus a spare), else urllib3 discards and re-opens connections.

    Raises ConfigError naming the file and context when either cannot be used. The file's contents
    never appear in the message. The context `in-cluster` is the pod's own ServiceAccount
    (validator.kube.in_cluster); the kubeconfig is then not read.
    """
    if context == in_cluster.IN_CLUSTER:
        return in_cluster.api_client(connections)
    path = Path(kubeconfig).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"kubeconfig {path} does not exist or is not a file",
            where=str(path),
            fix="pass the kubeconfig of the target cluster (for the sandbox: `validator sandbox env`)",
        )
    if not context:
        raise ConfigError(
            "no kubeconfig context given",
            where=str(path),
            fix="name the context explicitly (e.g. kwok-validator-sandbox); "
            "the current context is never assumed",
        )
    try:
        configuration = client.Configuration()
        config.load_kube_config(
            config_file=str(path), context=context, client_configuration=configuration, persist_config=False
        )
    except ConfigException as exc:
        raise ConfigError(
            f"kubeconfig {path} cannot be used with context {context!r}: {redact_text(str(exc))[:300]}",
            where=f"{path} (context {context})",
            fix="check the context name with `kubectl config get-contexts --kubeconfig <file>`",
        ) from None
    except Exception as exc:  # YAML errors and the like: their text may quote the file, so omit it
        raise ConfigError(
            f"kubeconfig {path} could not be read ({type(exc).__name__})",
            where=str(path),
            fix="check that the file is a valid kubeconfig (YAML)",
        ) from None
    if connections is not None:
        configuration.connection_pool_maxsize = max(connections, configuration.connection_pool_maxsize or 0)
    return client.ApiClient(configuration=configuration)
