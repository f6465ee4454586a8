"""What a run costs to export: series and bytes pushed, and the time of one push to a real Pushgateway.

    python benchmarks/export_push.py        (writes benchmarks/results/export_push.json)

A large run: 12 criteria x 60 scopes (720 results, each with a value and a max threshold) and 10 fault
windows, pushed 10 times to Debian's prometheus-pushgateway on a free loopback port (each push
replaces the last, as nights do); also its OpenSearch documents (count and JSON bytes, not sent).
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support import evidence as builders
from tests.unit.export import servers

from validator.export.documents import documents
from validator.export.pushgateway import _Families, push_run
from validator.export.series import identity, metric_families
from validator.model import CriterionOutcome, Evidence, Result, Summary, TimeWindow, Verdict

RESULTS = Path(__file__).resolve().parent / "results" / "export_push.json"
PUSHES = 10


def large_run() -> tuple[Summary, Evidence]:
    window = TimeWindow(start=builders.T0, end=builders.T0 + 3600)
    criteria = tuple(
        CriterionOutcome(
            id=f"criterion_{c}",
            verdict=Verdict.PASS,
            results=tuple(
                Result(criterion=f"criterion_{c}", scope={"agent": f"agent-{s}"}, verdict=Verdict.PASS,
                       value=float(s), unit="seconds", threshold={"max": 300.0})
                for s in range(60)
            ),
        )
        for c in range(12)
    )
    summary = Summary(run_id="bench", window=window, verdict=Verdict.PASS, criteria=criteria)
    chaos = builders.chaos(*(builders.fault(f"fault-{i}", i * 300, i * 300 + 60) for i in range(10)))
    manifest = builders.manifest(3600, suite="bench", context="bench")
    evidence = builders.evidence(manifest_=manifest, chaos=chaos)
    return summary, evidence


def main() -> None:
    summary, evidence = large_run()
    run = identity(evidence)
    started = time.perf_counter()
    families = metric_families(summary, evidence, run)
    build_ms = (time.perf_counter() - started) * 1000
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Families(families))
    payload = generate_latest(registry)
    docs = documents(summary, evidence, run)
    push_ms = []
    with tempfile.TemporaryDirectory() as root:
        for url in servers.pushgateway(Path(root)):
            for _ in range(PUSHES):
                t0 = time.perf_counter()
                push_run(url, summary, evidence, run)
                push_ms.append((time.perf_counter() - t0) * 1000)
    figures = {
        "results": sum(len(c.results) for c in summary.criteria),
        "series_pushed": sum(len(f.samples) for f in families),
        "exposition_bytes": len(payload),
        "build_ms": round(build_ms, 1),
        "push_ms_median": round(statistics.median(push_ms), 1),
        "push_ms_max": round(max(push_ms), 1),
        "opensearch_documents": len(docs),
        "opensearch_json_bytes": len(json.dumps([d.body for d in docs])),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
