"""A run's results as OpenSearch documents (pure): what `--opensearch` indexes, like kube-burner.

One document per run (`doc_type: run`, its fault windows inside) and one per criterion and scope
(`doc_type: result`). Each has a stable `_id` (the run id, plus criterion and scope), so evaluating
a run again replaces its documents instead of adding a second copy. Their shape is recorded in
bundled/schemas/opensearch-document.schema.json and the index mapping created for them in
bundled/schemas/opensearch-index.json (tests hold the three together; docs/export.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from validator.export.series import RunIdentity, fault_windows
from validator.model import Evidence, Summary
from validator.model.window import format_rfc3339
from validator.redaction import redact_text

DOCUMENT_SCHEMA = "opensearch-document.schema.json"
INDEX_MAPPING = "opensearch-index.json"
DEFAULT_INDEX = "validator-results"


@dataclass(frozen=True, slots=True, kw_only=True)
class Document:
    id: str
    body: dict[str, Any]


def documents(summary: Summary, evidence: Evidence, run: RunIdentity) -> list[Document]:
    """The run's document first, then one per criterion and scope, in the summary's order."""
    common: dict[str, Any] = {
        "uuid": summary.run_id,
        "run_id": summary.run_id,
        "timestamp": format_rfc3339(summary.window.end),
        "suite": run.suite,
        "context": run.context,
        "kind": run.kind,
    }
    faults = [
        {
            "experiment": f.experiment,
            "fault": f.fault,
            "kind": f.kind,
            "start": format_rfc3339(f.start),
            "end": None if f.end is None else format_rfc3339(f.end),
        }
        for f in fault_windows(evidence)
    ]
    out = [
        Document(
            id=summary.run_id,
            body={
                **common,
                "doc_type": "run",
                "verdict": summary.verdict.value,
                "window_start": format_rfc3339(summary.window.start),
                "window_end": format_rfc3339(summary.window.end),
                "duration_seconds": summary.window.duration,
                "aborted": summary.aborted,
                "criteria": len(summary.criteria),
                "not_evaluated": sorted({n.id for n in summary.not_evaluated}),
                "faults": faults,
            },
        )
    ]
    for criterion in summary.criteria:
        seen: dict[str, int] = {}
        for result in criterion.results:
            scope = result.scope_text
            seen[scope] = seen.get(scope, 0) + 1
            if seen[scope] > 1:
                scope = f"{scope}#{seen[scope]}"
            out.append(
                Document(
                    id=f"{summary.run_id}/{criterion.id}/{scope}",
                    body={
                        **common,
                        "doc_type": "result",
                        "criterion": criterion.id,
                        "criterion_verdict": criterion.verdict.value,
                        "info": criterion.info,
                        "scope": scope,
                        "scope_labels": [f"{k}={v}" for k, v in result.scope.items()],
                        "verdict": result.verdict.value,
                        "value": result.value if result.value is not None and math.isfinite(result.value)
                        else None,
                        "unit": result.unit,
                        "thresholds": [
                            {"bound": b, "value": limit} for b, limit in sorted(result.threshold.items())
                        ],
                        "detail": redact_text(result.detail),
                    },
                )
            )
    return out
