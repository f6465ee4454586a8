"""Push a run's series to a Prometheus Pushgateway (the network edge of `--pushgateway`).

A PUT of the whole group `job="validator", suite, context`: the previous night's series of that
suite and context are replaced, so a fault window or a scope that is gone tonight does not linger.
Credentials come from `user:pass@` in the URL or from the caller (the environment), travel as an
HTTP basic-auth header only, and never reach a message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, push_to_gateway
from prometheus_client.exposition import basic_auth_handler, default_handler
from prometheus_client.metrics_core import Metric

from validator.export.series import JOB, RunIdentity, metric_families
from validator.model import Evidence, Summary
from validator.redaction import strip_url_credentials

Handler = Callable[[str, str, float | None, list[tuple[str, str]], bytes], Callable[[], None]]


class _Families:
    """The run's families as a collector the registry can hold."""

    def __init__(self, families: Sequence[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


def push_run(
    url: str,
    summary: Summary,
    evidence: Evidence,
    run: RunIdentity,
    *,
    username: str = "",
    password: str = "",
    timeout: float = 10.0,
) -> int:
    """Push the run's series; the number of series pushed. Raises OSError (URLError, HTTPError, a
    refused connection) when the Pushgateway cannot be reached or refuses the push."""
    clean, credentials = strip_url_credentials(url)
    if credentials is not None and not username:
        username, password = credentials
    families = metric_families(summary, evidence, run)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families))
    handler: Handler = default_handler
    if username:

        def handler(
            url: str, method: str, timeout: float | None, headers: list[tuple[str, str]], data: bytes
        ) -> Callable[[], None]:
            return basic_auth_handler(url, method, timeout, headers, data, username, password)

    push_to_gateway(clean, job=JOB, registry=registry, grouping_key=run.grouping_key, timeout=timeout,
                    handler=handler)
    return sum(len(f.samples) for f in families)
