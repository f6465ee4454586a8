"""The history as evidence: what earlier runs of a run's suite and context measured of the platform,
read from the store at the IO edge (before a run is judged) for the criteria that judge a run
against its past (capacity_forecast, cost_efficiency)."""

from __future__ import annotations

from pathlib import Path

from validator.history.store import HistoryStore
from validator.model import BaselineSource, HistoryEvidence, Night, RunManifest


def history_evidence(path: Path, manifest: RunManifest) -> HistoryEvidence | None:
    """The runs of `manifest`'s suite and context recorded in `path` that ended strictly before its
    window did, with their measures, and the baseline: the suite's pinned run when it is one of them,
    else the first of them. None when there is none: no file at `path` (it is not created) or no
    earlier run in it, alike, so that judging a run again after it was recorded says the same."""
    if not path.is_file():
        return None
    store = HistoryStore(path)
    earlier = [
        r
        for r in store.runs(manifest.suite)
        if r.context == manifest.context
        and r.window_end < manifest.window.end
        and r.run_id != manifest.run_id
    ]
    if not earlier:
        return None
    measures = store.measures_of([r.run_id for r in earlier])
    nights = tuple(
        Night(run_id=r.run_id, window_end=r.window_end, measures=measures[r.run_id]) for r in earlier
    )
    pinned = store.pinned(manifest.suite)
    baseline = next((n for n in nights if n.run_id == pinned), None)
    if baseline is not None:
        return HistoryEvidence(
            source=str(path), nights=nights, baseline=baseline, baseline_source=BaselineSource.PINNED
        )
    return HistoryEvidence(
        source=str(path),
        nights=nights,
        baseline=nights[0],
        baseline_source=BaselineSource.FIRST,
    )
