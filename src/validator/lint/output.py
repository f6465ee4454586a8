"""Findings as a human table or as JSON (schema validator.lint/v1)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from validator.lint.findings import Finding, Severity

JSON_SCHEMA = "validator.lint/v1"


def summary_line(findings: Sequence[Finding]) -> str:
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    warnings = len(findings) - errors
    return f"{errors} error(s), {warnings} warning(s)"


def render_table(findings: Sequence[Finding], inputs: Sequence[str]) -> str:
    if not findings:
        return f"no findings in {', '.join(inputs)}\n"
    headers = ("SEVERITY", "CHECK", "FILE", "OBJECT", "FIELD")
    rows = [(f.severity.value, f.check, f.source, f.object, f.field) for f in findings]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row, item in zip(rows, findings, strict=True):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        lines.append(f"    {item.message}")
        lines.append(f"    fix: {item.fix}")
    lines.append(summary_line(findings))
    return "\n".join(lines) + "\n"


def render_json(findings: Sequence[Finding], inputs: Sequence[str]) -> str:
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    doc = {
        "schema": JSON_SCHEMA,
        "inputs": list(inputs),
        "errors": errors,
        "warnings": len(findings) - errors,
        "findings": [f.as_dict() for f in findings],
    }
    return json.dumps(doc, indent=2) + "\n"
