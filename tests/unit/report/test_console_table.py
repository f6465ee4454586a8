"""The console's verdicts: one line per criterion, verdict word first, worst scope, readable in a CI log."""

from __future__ import annotations

import io

from rich.console import Console

from tests.support.synthetic_run import START, summary_and_evidence
from validator.model import CriterionOutcome, NotEvaluated, Result, Summary, TimeWindow, Verdict
from validator.report.console_table import LINE_LIMIT, plain_verdict_lines, print_verdicts

WINDOW = TimeWindow(start=START, end=START + 3600)


def _recovery(seconds: dict[str, float]) -> CriterionOutcome:
    results = tuple(
        Result(criterion="recovery_time", scope={"agent": agent}, unit="seconds", value=value,
               threshold={"max": 300.0}, verdict=Verdict.FAIL if value > 300 else Verdict.PASS,
               detail=f"steady again after {value:.0f} s", advice=(f"look at {agent}'s readiness probe",))
        for agent, value in seconds.items()
    )
    verdict = Verdict.FAIL if any(r.verdict is Verdict.FAIL for r in results) else Verdict.PASS
    return CriterionOutcome(id="recovery_time", verdict=verdict, results=results)


def _summary(*outcomes: CriterionOutcome, not_evaluated: tuple[NotEvaluated, ...] = ()) -> Summary:
    verdict = Verdict.FAIL if any(o.verdict is Verdict.FAIL for o in outcomes) else Verdict.PASS
    return Summary(run_id="r", window=WINDOW, verdict=verdict, criteria=outcomes, not_evaluated=not_evaluated)


def test_one_line_per_criterion_in_the_summarys_order_verdict_word_first() -> None:
    summary, _ = summary_and_evidence()
    lines = plain_verdict_lines(summary, with_advice=False)
    assert len(lines) == len(summary.criteria) + len(summary.not_evaluated)
    for line, outcome in zip(lines, summary.criteria, strict=False):
        word, criterion = line.split()[:2]
        assert word == outcome.verdict.value.upper()
        assert criterion == outcome.id
    assert lines[-1].startswith("NOT EVALUATED pdb_respected")
    assert "needs the Kubernetes watch" in lines[-1]
    # the columns line up: every criterion id starts at the same column
    starts = {line.index(o.id) for line, o in zip(lines, summary.criteria, strict=False)}
    assert len(starts) == 1


def test_a_failed_criterion_names_its_worst_scope_and_how_many_passed() -> None:
    line = plain_verdict_lines(_summary(_recovery({"blaze": 350, "rex": 412, "cleo": 120, "tess": 90})),
                               with_advice=False)[0]
    assert line.startswith("FAIL recovery_time worst agent=rex 412 s (v ≤ 300 s); 2/4 scopes pass")
    assert "steady again after 412 s" in line  # the worst scope's detail follows


def test_a_passing_criterion_names_the_scope_closest_to_its_threshold() -> None:
    line = plain_verdict_lines(_summary(_recovery({"blaze": 120, "rex": 280, "cleo": 30})))[0]
    assert line == "PASS recovery_time closest agent=rex 280 s (v ≤ 300 s); 3/3 scopes pass"


def test_inconclusive_scopes_say_why_and_outrank_passing_ones() -> None:
    outcome = CriterionOutcome(
        id="cpu_utilization",
        verdict=Verdict.INCONCLUSIVE,
        results=(
            Result(criterion="cpu_utilization", scope={"agent": "rex"}, verdict=Verdict.PASS, value=0.7,
                   unit="ratio", threshold={"min": 0.6, "max": 0.8}),
            Result(criterion="cpu_utilization", scope={"agent": "tess"}, verdict=Verdict.INCONCLUSIVE,
                   detail="no usage series for tess"),
        ),
    )
    line = plain_verdict_lines(_summary(outcome))[0]
    assert line == ("INCONCLUSIVE cpu_utilization worst agent=tess; 1 inconclusive, 1 pass; "
                    "no usage series for tess")


def test_long_details_are_cut_not_wrapped_and_the_facts_stay_whole() -> None:
    summary, _ = summary_and_evidence()
    long_detail = "the recovery was slow because " + "of many reasons " * 20
    outcome = CriterionOutcome(id="recovery_time", verdict=Verdict.FAIL, results=(
        Result(criterion="recovery_time", scope={"fault": "node-drain"}, unit="seconds", value=412.0,
               threshold={"max": 300.0}, verdict=Verdict.FAIL, detail=long_detail),))
    lines = plain_verdict_lines(_summary(outcome, *summary.criteria), with_advice=False)
    assert all(len(line) <= LINE_LIMIT for line in lines if "…" in line)
    assert lines[0].endswith("…")
    assert "fault=node-drain 412 s (v ≤ 300 s)" in lines[0]


def test_advice_follows_for_each_failed_criterion() -> None:
    lines = plain_verdict_lines(_summary(_recovery({"blaze": 350, "rex": 412, "cleo": 120})))
    assert lines[1] == "  advice recovery_time agent=rex: look at rex's readiness probe"
    assert lines[2] == "  advice recovery_time: 1 more failed scope in report.html"
    assert len(lines) == 3


def test_a_narrow_console_does_not_wrap_the_lines() -> None:
    """CI logs are not terminals: rich assumes 80 columns there, and a table wrapped into it."""
    summary, _ = summary_and_evidence()
    out = io.StringIO()
    print_verdicts(Console(file=out, width=80, color_system=None), summary, "validator run r")
    printed = out.getvalue().splitlines()
    assert printed[0] == "validator run r"
    assert printed[1:] == plain_verdict_lines(summary)
    assert max(len(line) for line in printed) > 80  # whole lines, not folded at the console's width
    assert not any(ch in out.getvalue() for ch in "│┃━─")  # no table


def test_details_are_printed_as_written_not_read_as_markup() -> None:
    outcome = CriterionOutcome(id="alert_accuracy", verdict=Verdict.INCONCLUSIVE, results=(
        Result(criterion="alert_accuracy", verdict=Verdict.INCONCLUSIVE,
               detail="query failed against http://[redacted]@prometheus:9090 [bold]"),))
    out = io.StringIO()
    print_verdicts(Console(file=out, width=80, color_system=None), _summary(outcome), "t")
    assert "http://[redacted]@prometheus:9090 [bold]" in out.getvalue()
