"""summary.json, schema `validator.summary/v1` (docs/criteria.md, "Outputs of every evaluation").

Deterministic: the same Summary always gives the same bytes (no clock, sorted nothing that has an
order of its own, floats rounded to 9 significant digits).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from validator.model import (
    Compressed,
    CriterionOutcome,
    NotEvaluated,
    Regression,
    RegressionCheck,
    RegressionPolicy,
    Result,
    Summary,
    TimeWindow,
    Verdict,
    parse_rfc3339,
)

SCHEMA = "validator.summary/v1"
FILENAME = "summary.json"


def _number(value: float | None) -> float | int | None:
    if value is None or not math.isfinite(value):
        return None
    rounded = float(f"{value:.9g}")
    return int(rounded) if rounded.is_integer() and abs(rounded) < 2**53 else rounded


def _result(result: Result) -> dict[str, Any]:
    out: dict[str, Any] = {
        "scope": dict(result.scope),
        "verdict": result.verdict.value,
        "value": _number(result.value),
        "unit": result.unit,
        "threshold": {k: _number(v) for k, v in result.threshold.items()},
        "detail": result.detail,
    }
    if result.advice:
        out["advice"] = list(result.advice)
    if result.compressed is not None:
        out["compressed"] = {
            "time_factor": _number(result.compressed.time_factor),
            "value": _number(result.compressed.value),
        }
    return out


def summary_document(summary: Summary) -> dict[str, Any]:
    criteria = []
    for outcome in summary.criteria:
        entry: dict[str, Any] = {"id": outcome.id, "verdict": outcome.verdict.value}
        if outcome.info:
            entry["info"] = True
        entry["results"] = [_result(r) for r in outcome.results]
        criteria.append(entry)
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "run_id": summary.run_id,
        "verdict": summary.verdict.value,
        "window": summary.window.render(),
        "criteria": criteria,
    }
    if summary.aborted:
        document["aborted"] = summary.aborted
    if summary.regressions is not None:
        check = summary.regressions
        document["regressions"] = {
            "policy": check.policy.value,
            "earlier_runs": check.earlier_runs,
            **({"note": check.note} if check.note else {}),
            "found": [
                {
                    "criterion": r.criterion,
                    "scope": r.scope,
                    "started_run": r.started_run,
                    "before": _number(r.before),
                    "after": _number(r.after),
                    "unit": r.unit,
                    "method": r.method,
                    "detail": r.detail,
                }
                for r in check.found
            ],
        }
    if summary.not_evaluated:
        document["not_evaluated"] = [
            {"id": n.id, **({"measure": n.measure} if n.measure else {}), "reason": n.reason}
            for n in summary.not_evaluated
        ]
    return document


def summary_text(summary: Summary) -> str:
    return json.dumps(summary_document(summary), indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def write_summary_json(out_dir: Path, summary: Summary) -> Path:
    """Write `out_dir/summary.json` atomically and return its path."""
    path = out_dir / FILENAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(summary_text(summary), encoding="utf-8")
    os.replace(tmp, path)
    return path


def summary_from_document(document: object, *, source: str) -> Summary:
    """Rebuild a Summary from a parsed summary.json (for `validator report`). Raises ValueError."""
    if not isinstance(document, dict) or document.get("schema") != SCHEMA:
        raise ValueError(f"{source}: not a {SCHEMA} document")
    window = document.get("window") or {}
    outcomes = []
    for entry in document.get("criteria") or []:
        results = tuple(
            Result(
                criterion=str(entry["id"]),
                scope={str(k): str(v) for k, v in (r.get("scope") or {}).items()},
                verdict=Verdict(r["verdict"]),
                value=None if r.get("value") is None else float(r["value"]),
                unit=str(r.get("unit", "")),
                threshold={str(k): float(v) for k, v in (r.get("threshold") or {}).items() if v is not None},
                detail=str(r.get("detail", "")),
                advice=tuple(str(a) for a in r.get("advice") or ()),
                compressed=Compressed(
                    time_factor=float(r["compressed"]["time_factor"]), value=float(r["compressed"]["value"])
                )
                if isinstance(r.get("compressed"), dict)
                else None,
            )
            for r in entry.get("results") or []
        )
        outcomes.append(
            CriterionOutcome(
                id=str(entry["id"]),
                verdict=Verdict(entry["verdict"]),
                info=bool(entry.get("info")),
                results=results,
            )
        )
    return Summary(
        run_id=str(document.get("run_id", "")),
        window=TimeWindow(start=parse_rfc3339(window["start"]), end=parse_rfc3339(window["end"])),
        verdict=Verdict(document["verdict"]),
        criteria=tuple(outcomes),
        not_evaluated=tuple(
            NotEvaluated(id=str(n["id"]), reason=str(n.get("reason", "")), measure=str(n.get("measure", "")))
            for n in document.get("not_evaluated") or []
        ),
        aborted=str(document.get("aborted", "") or ""),
        regressions=_regressions(document.get("regressions")),
    )


def _regressions(block: object) -> RegressionCheck | None:
    if not isinstance(block, dict):
        return None
    return RegressionCheck(
        policy=RegressionPolicy(block.get("policy", "warn")),
        earlier_runs=int(block.get("earlier_runs", 0)),
        note=str(block.get("note", "")),
        found=tuple(
            Regression(
                criterion=str(r["criterion"]),
                scope=str(r["scope"]),
                started_run=str(r["started_run"]),
                before=float(r["before"]),
                after=float(r["after"]),
                unit=str(r.get("unit", "")),
                method=str(r.get("method", "")),
                detail=str(r.get("detail", "")),
            )
            for r in block.get("found") or []
        ),
    )
