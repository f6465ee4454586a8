"""A run's results as Prometheus metric families (pure): what `--pushgateway` pushes.

One group per suite and context (`job="validator"`, grouping key `suite`, `context`): each push
replaces the group's previous night, and Prometheus's own history keeps the nights. Every series
carries `suite` and `context`; times are epoch seconds (the annotations on the shipped dashboard
turn them into Grafana annotations, docs/export.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from validator.model import Evidence, Result, Summary, Verdict
from validator.model.faults import OTHER, FaultWindow

JOB = "validator"
RUN_VERDICTS = (Verdict.PASS, Verdict.FAIL, Verdict.INCONCLUSIVE)
RESULT_VERDICTS = (*RUN_VERDICTS, Verdict.NOT_EXERCISED)
# the grouping key of a `validator check` (no suite) or of a run whose manifest names no context
CHECK_SUITE = "check"
NO_CONTEXT = "unspecified"


@dataclass(frozen=True, slots=True, kw_only=True)
class RunIdentity:
    """Which group a run's series replace: its suite and the context it ran against."""

    suite: str
    context: str
    kind: str = "run"  # run / check

    @property
    def grouping_key(self) -> dict[str, str]:
        return {"suite": self.suite, "context": self.context}


def identity(evidence: Evidence, *, kind: str = "") -> RunIdentity:
    """The suite and context of a run's manifest; a manifest without a suite (a check recorded before
    checks had one) is grouped as suite `check`."""
    manifest = evidence.manifest
    return RunIdentity(
        suite=manifest.suite or CHECK_SUITE,
        context=manifest.context or NO_CONTEXT,
        kind=kind or (manifest.kind if manifest.suite else "check"),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class InjectedFault:
    """One fault window as pushed: who injected it and when (`end` None: it never reported an end)."""

    experiment: str
    fault: str
    kind: str
    occurrence: int  # 1, 2, ... for the same experiment and fault injected again in one run
    start: float
    end: float | None


def fault_windows(evidence: Evidence) -> tuple[InjectedFault, ...]:
    """The run's fault windows: the chaos evidence's (injection to the end of its rollback or hold),
    else the experiments the manifest records (started to ended) when the chaos record is absent."""
    raw: list[tuple[str, str, str, float, float | None]] = []
    if evidence.chaos is not None:
        for f in evidence.chaos.faults:
            raw.append((f.experiment or f.fault, f.fault, f.kind, f.start, _window_end(f)))
    else:
        for e in evidence.manifest.experiments:
            raw.append((e.experiment or e.name, e.name, OTHER, e.started, e.ended))
    seen: dict[tuple[str, str], int] = {}
    out = []
    for experiment, fault, kind, start, end in sorted(raw, key=lambda r: r[3]):
        n = seen[(experiment, fault)] = seen.get((experiment, fault), 0) + 1
        out.append(
            InjectedFault(experiment=experiment, fault=fault, kind=kind, occurrence=n, start=start, end=end)
        )
    return tuple(out)


def _window_end(fault: FaultWindow) -> float | None:
    window = fault.window
    return None if window is None else window.end


def metric_families(summary: Summary, evidence: Evidence, run: RunIdentity) -> list[Metric]:
    """Every series one run pushes (names and labels in docs/export.md)."""
    base = ["suite", "context"]
    ident = [run.suite, run.context]

    def gauge(name: str, doc: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
        return GaugeMetricFamily(name, doc, labels=[*base, *labels])

    info = gauge("validator_run_info", "The run these series are from (always 1).", ["run_id", "kind"])
    info.add_metric([*ident, summary.run_id, run.kind], 1)
    verdict = gauge("validator_run_verdict", "The run's verdict: 1 for the one it had, else 0.", ["verdict"])
    for v in RUN_VERDICTS:
        verdict.add_metric([*ident, v.value], 1 if summary.verdict is v else 0)
    aborted = gauge("validator_run_aborted", "1 when the run stopped itself (its suite's abort_on).")
    aborted.add_metric(ident, 1 if summary.aborted else 0)
    # run_id (and verdict) label the window and the fault windows: each run's events are a series of
    # their own in Prometheus, so the dashboard's annotations never mix two nights
    start = gauge(
        "validator_run_window_start_seconds", "The start of the run's window (epoch seconds).",
        ["run_id", "verdict"],
    )
    start.add_metric([*ident, summary.run_id, summary.verdict.value], summary.window.start)
    end = gauge(
        "validator_run_window_end_seconds", "The end of the run's window (epoch seconds).",
        ["run_id", "verdict"],
    )
    end.add_metric([*ident, summary.run_id, summary.verdict.value], summary.window.end)

    value = gauge(
        "validator_criterion_value",
        "What a criterion measured on one scope, in its base unit (absent when inconclusive).",
        ["criterion", "scope", "unit"],
    )
    threshold = gauge(
        "validator_criterion_threshold",
        "The thresholds a criterion judged one scope against (bound: min, max, ...).",
        ["criterion", "scope", "bound"],
    )
    result_verdict = gauge(
        "validator_criterion_verdict",
        "One scope's verdict: 1 for the verdict it had, else 0.",
        ["criterion", "scope", "verdict"],
    )
    outcome = gauge(
        "validator_criterion_outcome",
        "A criterion's verdict over its scopes: 1 for the verdict it had, else 0 (info: informational).",
        ["criterion", "info", "verdict"],
    )
    for criterion in summary.criteria:
        for v in RUN_VERDICTS:
            had = 1 if criterion.verdict is v else 0
            outcome.add_metric([*ident, criterion.id, str(criterion.info).lower(), v.value], had)
        for scope, result in _unique_scopes(criterion.results):
            if result.value is not None:
                value.add_metric([*ident, criterion.id, scope, result.unit], result.value)
            for bound, limit in sorted(result.threshold.items()):
                threshold.add_metric([*ident, criterion.id, scope, bound], limit)
            for v in RESULT_VERDICTS:
                had = 1 if result.verdict is v else 0
                result_verdict.add_metric([*ident, criterion.id, scope, v.value], had)

    fault_start = gauge(
        "validator_fault_window_start_seconds",
        "When a fault was injected (epoch seconds).",
        ["run_id", "experiment", "fault", "kind", "occurrence"],
    )
    fault_end = gauge(
        "validator_fault_window_end_seconds",
        "When the platform stopped being under the fault: its rollback or hold ended (epoch seconds; "
        "absent when the injection never reported its end).",
        ["run_id", "experiment", "fault", "kind", "occurrence"],
    )
    for f in fault_windows(evidence):
        labels = [*ident, summary.run_id, f.experiment, f.fault, f.kind, str(f.occurrence)]
        fault_start.add_metric(labels, f.start)
        if f.end is not None:
            fault_end.add_metric(labels, f.end)
    return [
        info, verdict, aborted, start, end, value, threshold, result_verdict, outcome, fault_start, fault_end
    ]


def _unique_scopes(results: Iterable[Result]) -> Iterator[tuple[str, Result]]:
    """Each result with its scope text (`agent=tess`, `all`); a scope repeated within one criterion
    gets `#2`, `#3` (a group may not hold one series twice: the Pushgateway refuses the push)."""
    seen: dict[str, int] = {}
    for result in results:
        text = result.scope_text
        seen[text] = seen.get(text, 0) + 1
        yield (text if seen[text] == 1 else f"{text}#{seen[text]}"), result
