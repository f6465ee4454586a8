"""Where a run's results go beyond the local history (optional; nothing is sent unless configured),
and the one call `run`, `check` and `evaluate` make after recording a run: `export_results`.

A push or an indexing that fails never costs the run its verdict: it is said in one yellow line
naming the (credential-free) URL and the error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from rich.console import Console
from rich.markup import escape

from validator.export.documents import DEFAULT_INDEX, documents
from validator.export.opensearch import index_documents
from validator.export.pushgateway import push_run
from validator.export.series import identity
from validator.model import Evidence, Summary
from validator.redaction import redact_text, redact_url, strip_url_credentials

PUSHGATEWAY_ENV = "VALIDATOR_PUSHGATEWAY_URL"
PUSHGATEWAY_USER_ENV = "VALIDATOR_PUSHGATEWAY_USER"
PUSHGATEWAY_PASSWORD_ENV = "VALIDATOR_PUSHGATEWAY_PASSWORD"
OPENSEARCH_ENV = "VALIDATOR_OPENSEARCH_URL"
OPENSEARCH_INDEX_ENV = "VALIDATOR_OPENSEARCH_INDEX"
OPENSEARCH_USER_ENV = "VALIDATOR_OPENSEARCH_USER"
OPENSEARCH_PASSWORD_ENV = "VALIDATOR_OPENSEARCH_PASSWORD"


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportTargets:
    """The Pushgateway and the OpenSearch a run is exported to; "" for none (the default)."""

    pushgateway: str = ""
    pushgateway_user: str = ""
    pushgateway_password: str = ""
    opensearch: str = ""
    opensearch_index: str = DEFAULT_INDEX
    opensearch_user: str = ""
    opensearch_password: str = ""

    def __repr__(self) -> str:  # never the passwords, wherever a request is printed
        return (
            f"ExportTargets(pushgateway={redact_url(self.pushgateway)!r}, "
            f"opensearch={redact_url(self.opensearch)!r}, opensearch_index={self.opensearch_index!r})"
        )


def resolve_targets(
    pushgateway: str | None = None,
    opensearch: str | None = None,
    opensearch_index: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ExportTargets:
    """The command line's URLs, else the environment's (VALIDATOR_PUSHGATEWAY_URL, ...); the users
    and passwords come from the environment only (never from the command line)."""
    env = os.environ if environ is None else environ
    return ExportTargets(
        pushgateway=pushgateway or env.get(PUSHGATEWAY_ENV, ""),
        pushgateway_user=env.get(PUSHGATEWAY_USER_ENV, ""),
        pushgateway_password=env.get(PUSHGATEWAY_PASSWORD_ENV, ""),
        opensearch=opensearch or env.get(OPENSEARCH_ENV, ""),
        opensearch_index=opensearch_index or env.get(OPENSEARCH_INDEX_ENV, "") or DEFAULT_INDEX,
        opensearch_user=env.get(OPENSEARCH_USER_ENV, ""),
        opensearch_password=env.get(OPENSEARCH_PASSWORD_ENV, ""),
    )


def export_results(
    targets: ExportTargets,
    summary: Summary,
    evidence: Evidence,
    console: Console | None = None,
    *,
    kind: str = "",
) -> bool:
    """Push and index the run where configured, saying what happened; False when any of it failed
    (the verdict stands either way)."""
    if not targets.pushgateway and not targets.opensearch:
        return True
    out = console or Console()
    run = identity(evidence, kind=kind)
    ok = True
    if targets.pushgateway:
        where = redact_url(targets.pushgateway)
        secrets = (targets.pushgateway_password, _url_password(targets.pushgateway))
        try:
            count = push_run(
                targets.pushgateway, summary, evidence, run,
                username=targets.pushgateway_user, password=targets.pushgateway_password,
            )
        except Exception as exc:  # the verdict stands without its export
            _warn(out, _failure("not pushed to the Pushgateway", where, exc, secrets))
            ok = False
        else:
            said = f"pushgateway: {count} series pushed to {where} (suite={run.suite}, context={run.context})"
            out.print(escape(said), soft_wrap=True)
    if targets.opensearch:
        where = redact_url(targets.opensearch)
        secrets = (targets.opensearch_password, _url_password(targets.opensearch))
        try:
            indexed = index_documents(
                targets.opensearch, targets.opensearch_index, documents(summary, evidence, run),
                username=targets.opensearch_user, password=targets.opensearch_password,
            )
        except Exception as exc:  # the verdict stands without its export
            _warn(out, _failure("not indexed into OpenSearch", where, exc, secrets))
            ok = False
        else:
            said = f"opensearch: {indexed} documents indexed into {where} (index {targets.opensearch_index})"
            out.print(escape(said), soft_wrap=True)
    return ok


def _warn(out: Console, text: str) -> None:
    """One yellow line, never wrapped (a CI log is grepped for it), no markup read from the text."""
    out.print(f"[yellow]{escape(text)}[/]", soft_wrap=True)


def _failure(what: str, where: str, exc: BaseException, secrets: tuple[str, ...]) -> str:
    detail = redact_text(f"{type(exc).__name__}: {exc}", secrets=[s for s in secrets if s])
    return f"{what} {where} (the verdict stands): {detail}"


def _url_password(url: str) -> str:
    _, credentials = strip_url_credentials(url)
    return credentials[1] if credentials is not None else ""
