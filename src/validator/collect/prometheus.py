"""Prometheus collector: the criteria's range queries over a window, written to evidence/metrics.json.

The only code that talks to Prometheus. It

- fills the criteria's query templates (`{agent_label}`, `{namespace_matcher}`);
- runs each as a range query at a configurable step, in chunks that stay under Prometheus's
  11,000-points-per-series limit;
- retries connection errors, timeouts, 408, 429 and 5xx with exponential backoff, bounded in
  attempts and in total time; a 4xx (e.g. 400 bad PromQL) is not retried;
- records per query `status: "ok"` with its series (an empty list is "no data", never 0) or
  `status: "error"` with the reason (Prometheus's own error text where it gave one);
- never writes, logs or raises URL credentials, Authorization headers or the bearer token:
  credentials are split off the URL into an auth tuple, the token is read from an environment
  variable, and every outgoing string goes through `validator.redaction`.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from prometheus_api_client.exceptions import PrometheusApiClientException
from prometheus_api_client.prometheus_connect import PrometheusConnect
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from urllib3.util.retry import Retry

from validator.criteria import promql as promql_text
from validator.criteria.promql import REAL_CLUSTER_RANGES, QueryRanges
from validator.errors import EvidenceUnavailable
from validator.model.evidence import kube_state_label
from validator.redaction import redact_text, redact_url, strip_url_credentials
from validator.run_directory.metrics import METRICS_SCHEMA, write_metrics_json

DEFAULT_TOKEN_ENV = "VALIDATOR_PROMETHEUS_TOKEN"
DEFAULT_AGENT_LABEL = "app.kubernetes.io/name"
# Prometheus refuses range queries of more than 11,000 points per series; stay below it.
MAX_POINTS_PER_QUERY = 10_000
_RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
_STATUS_RE = re.compile(r"^HTTP Status Code (?P<code>\d{3}) \((?P<body>.*)\)$", re.DOTALL)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff: at most `attempts` tries, waiting base, 2*base, ... (capped).

    `total_seconds` bounds the whole query, waits included.
    """

    attempts: int = 4
    base_delay_seconds: float = 0.5
    max_delay_seconds: float = 8.0
    total_seconds: float = 60.0
    request_timeout_seconds: float = 30.0

    def delay(self, attempt: int) -> float:
        """Wait before try number `attempt + 1` (attempt counts from 1)."""
        return float(min(self.max_delay_seconds, self.base_delay_seconds * (2 ** (attempt - 1))))


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryOutcome:
    """One query key's entry of metrics.json."""

    key: str
    promql: str
    status: str  # "ok" | "error"
    series: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    attempts: int = 1
    non_finite_points: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"promql": self.promql, "status": self.status}
        if self.status == "ok":
            out["series"] = self.series
            if self.non_finite_points:
                out["non_finite_points_dropped"] = self.non_finite_points
        else:
            out["error"] = self.error
        return out


class _RequestFailed(Exception):
    """One attempt failed; `retryable` says whether trying again may help."""

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


def namespace_matcher(namespaces: Sequence[str]) -> str:
    """A PromQL label matcher for the selected namespaces; empty (no restriction) when none are given.

    The criteria put it last in a selector (`{container!="",{namespace_matcher}}`), where an empty
    matcher leaves a trailing comma PromQL accepts, and series without a namespace (ALERTS on
    cluster-wide objects) are kept.
    """
    names = sorted({n for n in namespaces if n})
    if not names:
        return ""
    if len(names) == 1:
        return f'namespace="{names[0]}"'
    # A regex escape (`\-`) is itself an escape inside a PromQL string, where `\-` is an error: double it.
    return 'namespace=~"' + "|".join(re.escape(n).replace("\\", "\\\\") for n in names) + '"'


def render_query(template: str, *, agent_label_key: str = DEFAULT_AGENT_LABEL,
                 namespaces: Sequence[str] = (), ranges: QueryRanges = REAL_CLUSTER_RANGES) -> str:
    """Fill a criterion's query template for these namespaces and agent label key
    (criteria/promql.py holds the placeholders)."""
    return promql_text.render_query(template, agent_label=kube_state_label(agent_label_key),
                                    namespace_matcher=namespace_matcher(namespaces), ranges=ranges)


def _rfc3339(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _prometheus_error_text(exc: PrometheusApiClientException) -> tuple[int | None, str]:
    """(HTTP status, Prometheus's own error text) from the client's exception message."""
    match = _STATUS_RE.match(str(exc))
    if not match:
        return None, str(exc)
    code = int(match.group("code"))
    body_repr = match.group("body")
    try:
        raw = ast.literal_eval(body_repr)
        body = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    except (ValueError, SyntaxError):
        body = body_repr
    try:
        parsed = json.loads(body)
        if isinstance(parsed, dict) and parsed.get("error"):
            kind = parsed.get("errorType")
            return code, f"{kind}: {parsed['error']}" if kind else str(parsed["error"])
    except ValueError:
        pass
    return code, body.strip()[:500]


class PrometheusCollector:
    """Range queries against one Prometheus. `url` may carry `user:pass@`; it is never shown."""

    def __init__(
        self,
        url: str,
        *,
        disable_ssl: bool = False,
        token_env: str | None = DEFAULT_TOKEN_ENV,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        console: Console | None = None,
    ) -> None:
        clean, auth = strip_url_credentials(url.rstrip("/"))
        self.url = clean
        self.display_url = redact_url(url.rstrip("/"))
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._console = console or Console(stderr=True)
        token = os.environ.get(token_env, "") if token_env else ""
        self._secrets = tuple(s for s in (token, *(auth or ())) if s)
        extra: dict[str, Any] = {}
        if token:
            extra["headers"] = {"Authorization": f"Bearer {token}"}
        elif auth:  # a token from the environment wins over user:pass in the URL
            extra["auth"] = auth
        # Our own retry loop (bounded in time, with per-query reasons); the client's adapter must not retry.
        self._client = PrometheusConnect(
            url=clean,
            disable_ssl=disable_ssl,
            retry=Retry(total=0, connect=0, read=0, status=0, raise_on_status=False),
            timeout=math.ceil(self.retry.request_timeout_seconds),
            **extra,
        )
        self.token_env = token_env if token else None

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PrometheusCollector:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _redact(self, text: str) -> str:
        return redact_text(text, self._secrets)

    # -- one request ------------------------------------------------------------------------

    def _attempt(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except PrometheusApiClientException as exc:
            code, text = _prometheus_error_text(exc)
            retryable = code is None or code in _RETRY_STATUSES
            raise _RequestFailed(f"HTTP {code} from Prometheus: {text}", retryable=retryable) from None
        except requests.exceptions.Timeout:
            raise _RequestFailed(f"timed out after {self.retry.request_timeout_seconds:g} s",
                                 retryable=True) from None
        except requests.exceptions.ConnectionError as exc:
            root: BaseException = exc
            for _ in range(8):  # walk to the OS-level cause, e.g. ConnectionRefusedError
                if root.__context__ is None:
                    break
                root = root.__context__
            raise _RequestFailed(f"unreachable ({type(root).__name__})", retryable=True) from None
        except requests.exceptions.RequestException as exc:
            raise _RequestFailed(f"request failed ({type(exc).__name__})", retryable=False) from None
        except (ValueError, KeyError, TypeError) as exc:
            raise _RequestFailed(f"unexpected answer ({type(exc).__name__})", retryable=True) from None

    def _with_retries(self, call: Callable[[], Any]) -> tuple[Any, int]:
        """(result, attempts used); raises _RequestFailed with the last reason and the attempt count."""
        deadline = self._clock() + self.retry.total_seconds
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._attempt(call), attempt
            except _RequestFailed as failed:
                wait = self.retry.delay(attempt)
                out_of_time = self._clock() + wait > deadline
                if not failed.retryable or attempt >= self.retry.attempts or out_of_time:
                    tries = "1 attempt" if attempt == 1 else f"{attempt} attempts"
                    raise _RequestFailed(f"{failed.reason} (after {tries})",
                                         retryable=failed.retryable) from None
                self._sleep(wait)

    # -- public API -------------------------------------------------------------------------

    def ping(self) -> None:
        """Raise EvidenceUnavailable unless Prometheus answers a trivial query (`vector(1)`)."""
        try:
            self._with_retries(lambda: self._client.custom_query("vector(1)"))
        except _RequestFailed as failed:
            reason = self._redact(failed.reason)
            if "HTTP 401" in reason or "HTTP 403" in reason:
                fix = (f"Prometheus wants credentials: put a bearer token in ${DEFAULT_TOKEN_ENV} "
                       "(never on the command line) or user:pass in the URL")
            else:
                fix = ("check --prometheus-url (scheme, host, port, path prefix); for an in-cluster "
                       "Prometheus run e.g. `kubectl -n monitoring port-forward "
                       "svc/prometheus-operated 9090` and use http://127.0.0.1:9090")
            raise EvidenceUnavailable(
                f"Prometheus is not answering: {reason}", where=self.display_url, fix=fix) from None

    def firing_alerts(self) -> list[dict[str, str]]:
        """The labels of every alert firing now (`ALERTS{alertstate="firing"}`, one attempt: a run
        asks again at its next check). Raises EvidenceUnavailable when Prometheus does not answer."""
        try:
            answer = self._attempt(lambda: self._client.custom_query('ALERTS{alertstate="firing"}'))
        except _RequestFailed as failed:
            raise EvidenceUnavailable(
                f"firing alerts unknown: {self._redact(failed.reason)}", where=self.display_url
            ) from None
        return [
            {str(k): str(v) for k, v in (item.get("metric") or {}).items()}
            for item in answer or []
            if isinstance(item, dict)
        ]

    def query_range(self, key: str, promql: str, start: datetime, end: datetime,
                    step_seconds: float) -> QueryOutcome:
        """One range query over [start, end], chunked to stay under Prometheus's points limit."""
        chunk = step_seconds * MAX_POINTS_PER_QUERY
        merged: dict[tuple[tuple[str, str], ...], list[list[float]]] = {}
        labels_of: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
        dropped = 0
        attempts = 0
        lo = start.timestamp()
        hi = end.timestamp()
        while True:
            chunk_end = min(hi, lo + chunk)
            s = datetime.fromtimestamp(lo, UTC)
            e = datetime.fromtimestamp(chunk_end, UTC)
            def call(s: datetime = s, e: datetime = e) -> Any:
                return self._client.custom_query_range(promql, start_time=s, end_time=e,
                                                       step=f"{step_seconds:g}")

            try:
                data, used = self._with_retries(call)
            except _RequestFailed as failed:
                return QueryOutcome(key=key, promql=promql, status="error",
                                    error=self._redact(failed.reason), attempts=attempts + 1)
            attempts += used
            for item in data or []:
                labels = {str(k): str(v) for k, v in (item.get("metric") or {}).items()}
                ident = tuple(sorted(labels.items()))
                points = merged.setdefault(ident, [])
                labels_of[ident] = labels
                last = points[-1][0] if points else -math.inf
                for ts, raw in item.get("values") or []:
                    t, v = float(ts), float(raw)
                    if not math.isfinite(v):
                        dropped += 1
                        continue
                    if t > last:  # chunk edges overlap by one sample
                        points.append([t, v])
                        last = t
            if chunk_end >= hi:
                break
            lo = chunk_end + step_seconds
            if lo > hi:
                break
        series = [{"labels": labels_of[k], "points": merged[k]} for k in sorted(merged)]
        return QueryOutcome(key=key, promql=promql, status="ok", series=series,
                            attempts=max(attempts, 1), non_finite_points=dropped)

    def collect(self, queries: Mapping[str, str], start: datetime, end: datetime, *,
                step_seconds: float = 15.0, agent_label_key: str = DEFAULT_AGENT_LABEL,
                namespaces: Sequence[str] = (), show_progress: bool = True,
                ranges: QueryRanges = REAL_CLUSTER_RANGES) -> dict[str, Any]:
        """Run every query template; return the metrics.json document (not yet written)."""
        if end <= start:
            raise ValueError(f"window end {_rfc3339(end)} is not after its start {_rfc3339(start)}")
        if step_seconds <= 0:
            raise ValueError(f"step must be positive, got {step_seconds}")
        outcomes: dict[str, dict[str, Any]] = {}
        with Progress(TextColumn("[bold]Prometheus[/] {task.description}"), BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), console=self._console,
                      disable=not show_progress, transient=False) as progress:
            task = progress.add_task("range queries", total=len(queries))
            for key in sorted(queries):
                progress.update(task, description=key)
                promql = render_query(queries[key], agent_label_key=agent_label_key, namespaces=namespaces,
                                      ranges=ranges)
                outcome = self.query_range(key, promql, start, end, step_seconds)
                outcomes[key] = outcome.to_json()
                progress.advance(task)
            progress.update(task, description="range queries done")
        return {
            "schema": METRICS_SCHEMA,
            "prometheus_url": self.display_url,
            "window": {"start": _rfc3339(start), "end": _rfc3339(end)},
            "step_seconds": step_seconds,
            "queries": outcomes,
        }


def collect_metrics(run_dir: Path, url: str, queries: Mapping[str, str], start: datetime, end: datetime,
                    *, step_seconds: float = 15.0, agent_label_key: str = DEFAULT_AGENT_LABEL,
                    namespaces: Sequence[str] = (), disable_ssl: bool = False,
                    token_env: str | None = DEFAULT_TOKEN_ENV, retry: RetryPolicy | None = None,
                    show_progress: bool = True, record_unreachable: bool = False,
                    ranges: QueryRanges = REAL_CLUSTER_RANGES) -> Path:
    """Check Prometheus answers, run the queries, write metrics.json.

    An unreachable Prometheus raises EvidenceUnavailable (what `validator check` wants), or with
    `record_unreachable=True` (what the end of a run wants: the run's other evidence is still worth
    judging) writes metrics.json with every query `status: "error"` and the reason.
    """
    with PrometheusCollector(url, disable_ssl=disable_ssl, token_env=token_env, retry=retry) as collector:
        try:
            collector.ping()
        except EvidenceUnavailable as exc:
            if not record_unreachable:
                raise
            document = {
                "schema": METRICS_SCHEMA,
                "prometheus_url": collector.display_url,
                "window": {"start": _rfc3339(start), "end": _rfc3339(end)},
                "step_seconds": step_seconds,
                "queries": {
                    key: QueryOutcome(
                        key=key,
                        promql=render_query(queries[key], agent_label_key=agent_label_key,
                                            namespaces=namespaces, ranges=ranges),
                        status="error",
                        error=exc.what,
                    ).to_json()
                    for key in sorted(queries)
                },
            }
            return write_metrics_json(run_dir, document)
        document = collector.collect(queries, start, end, step_seconds=step_seconds,
                                     agent_label_key=agent_label_key, namespaces=namespaces,
                                     show_progress=show_progress, ranges=ranges)
    return write_metrics_json(run_dir, document)
