"""Told when it matters: a Slack-compatible webhook (`{"text": ...}`) when a run fails or aborts.

The URL comes from an environment variable only (VALIDATOR_WEBHOOK_URL; a webhook URL is a secret),
never from the command line, and is never printed, logged or written: a delivery problem names the
variable, not the URL. A webhook that does not answer never changes the run's exit code."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import requests

from validator.model import Summary, Verdict
from validator.redaction import redact_text

WEBHOOK_ENV = "VALIDATOR_WEBHOOK_URL"


def message(summary: Summary, *, suite: str, context: str, report: Path) -> str:
    """The notification's text: verdict, why, and where the report is."""
    failed = [o.id for o in summary.criteria if o.verdict is Verdict.FAIL and not o.info]
    lines = [f"validator {suite} on {context}: {summary.verdict.value.upper()} (run {summary.run_id})"]
    if summary.aborted:
        lines.append(f"the run aborted itself: {summary.aborted}")
    if failed:
        lines.append("failed: " + ", ".join(failed))
    lines.append(f"report: {report}")
    return "\n".join(lines)


def should_notify(summary: Summary) -> bool:
    return summary.verdict is Verdict.FAIL or bool(summary.aborted)


def notify(
    summary: Summary, *, suite: str, context: str, report: Path, environ: Mapping[str, str] = os.environ
) -> str:
    """Post the message when the run failed or aborted and a webhook is configured. Returns what
    happened, for the console ("" when nothing was to be sent)."""
    url = environ.get(WEBHOOK_ENV, "")
    if not url or not should_notify(summary):
        return ""
    try:
        response = requests.post(
            url, json={"text": message(summary, suite=suite, context=context, report=report)}, timeout=10
        )
    except requests.RequestException as exc:
        return f"webhook (${WEBHOOK_ENV}) not reached: {type(exc).__name__}"
    if response.status_code >= 400:
        said = redact_text(response.text[:200], (url,))
        return f"webhook (${WEBHOOK_ENV}) answered HTTP {response.status_code}: {said}"
    return f"webhook (${WEBHOOK_ENV}) notified"
