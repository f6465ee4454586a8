"""junit.xml: one testcase per criterion and scope, for CI dashboards.

`classname` is the criterion id, `name` the scope (`agent=tess`, or `all`). A failed result is a
<failure>, an inconclusive one a <skipped>, each with the measured value and the threshold in its
message; a scope the run did not exercise is a <skipped> saying so. Results of info criteria never
fail the suite: a failing info result is reported as a passing
testcase whose <system-out> says so. Deterministic: no timestamps beyond the run's own window.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

from validator.model import CriterionOutcome, RegressionPolicy, Result, Summary, Verdict, format_rfc3339

FILENAME = "junit.xml"


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "none"
    return f"{value:.6g} {unit}".strip()


def _threshold(threshold: Mapping[str, float], unit: str) -> str:
    if not threshold:
        return "none"
    return ", ".join(f"{k} {v:g}" for k, v in threshold.items()) + (f" ({unit})" if unit else "")


def message(result: Result) -> str:
    clock = ""
    if result.compressed is not None:
        c = result.compressed
        clock = f" (real time; {c.value:.6g} s at {c.time_factor:g}x compression)"
    return (
        f"{result.verdict.value}: measured {_value(result.value, result.unit)}{clock}; "
        f"threshold {_threshold(result.threshold, result.unit)}; {result.detail}"
    )


def _body(result: Result) -> str:
    lines = [result.detail]
    lines.extend(f"advice: {a}" for a in result.advice)
    return "\n".join(lines)


def _case(suite: ET.Element, outcome: CriterionOutcome, result: Result) -> tuple[int, int]:
    case = ET.SubElement(suite, "testcase", {"classname": outcome.id, "name": result.scope_text, "time": "0"})
    if result.verdict is Verdict.FAIL and not outcome.info:
        node = ET.SubElement(case, "failure", {"message": message(result), "type": "CriterionFailed"})
        node.text = _body(result)
        return 1, 0
    if result.verdict in (Verdict.INCONCLUSIVE, Verdict.NOT_EXERCISED):
        node = ET.SubElement(case, "skipped", {"message": message(result)})
        node.text = _body(result)
        return 0, 1
    out = ET.SubElement(case, "system-out")
    prefix = "info (does not change the verdict): " if outcome.info else ""
    out.text = prefix + message(result)
    return 0, 0


def _regression_cases(suite: ET.Element, summary: Summary) -> tuple[int, int]:
    """One testcase per regression (classname `regression.<criterion>`): a <failure> under the
    `fail` policy (info criteria aside), else a passing case whose <system-err> warns."""
    assert summary.regressions is not None
    info = {o.id for o in summary.criteria if o.info}
    failures = 0
    for r in summary.regressions.found:
        case = ET.SubElement(
            suite, "testcase", {"classname": f"regression.{r.criterion}", "name": r.scope, "time": "0"}
        )
        text = f"regressed ({r.method}): {r.detail}"
        if summary.regressions.policy is RegressionPolicy.FAIL and r.criterion not in info:
            ET.SubElement(case, "failure", {"message": text, "type": "Regression"})
            failures += 1
        else:
            ET.SubElement(case, "system-err").text = f"warning: {text}"
    return failures, 0


def junit_text(summary: Summary) -> str:
    root = ET.Element("testsuites", {"name": "validator"})
    suite = ET.SubElement(
        root,
        "testsuite",
        {"name": f"validator {summary.run_id}", "timestamp": format_rfc3339(summary.window.end).rstrip("Z")},
    )
    props = ET.SubElement(suite, "properties")
    regression_properties = (
        ()
        if summary.regressions is None
        else (
            ("regression_policy", summary.regressions.policy.value),
            ("regressions", str(len(summary.regressions.found))),
            ("history_earlier_runs", str(summary.regressions.earlier_runs)),
        )
    )
    for name, value in (
        ("run_id", summary.run_id),
        ("verdict", summary.verdict.value),
        ("window_start", format_rfc3339(summary.window.start)),
        ("window_end", format_rfc3339(summary.window.end)),
        *regression_properties,
    ):
        ET.SubElement(props, "property", {"name": name, "value": value})
    tests = failures = skipped = 0
    for outcome in summary.criteria:
        for result in outcome.results:
            f, s = _case(suite, outcome, result)
            tests, failures, skipped = tests + 1, failures + f, skipped + s
    for item in summary.not_evaluated:
        name = f"measure={item.measure}" if item.measure else "not evaluated"
        case = ET.SubElement(suite, "testcase", {"classname": item.id, "name": name, "time": "0"})
        ET.SubElement(case, "skipped", {"message": f"not evaluated: {item.reason}"})
        tests, skipped = tests + 1, skipped + 1
    if summary.regressions is not None:
        f, s = _regression_cases(suite, summary)
        tests, failures, skipped = tests + len(summary.regressions.found), failures + f, skipped + s
    if summary.aborted:  # the run stopped itself: one failing case says why
        case = ET.SubElement(suite, "testcase", {"classname": "run", "name": "aborted", "time": "0"})
        ET.SubElement(case, "failure", {"message": f"the run aborted itself: {summary.aborted}"})
        tests, failures = tests + 1, failures + 1
    for node in (root, suite):
        node.set("tests", str(tests))
        node.set("failures", str(failures))
        node.set("errors", "0")
        node.set("skipped", str(skipped))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit_xml(out_dir: Path, summary: Summary) -> Path:
    path = out_dir / FILENAME
    tmp = path.with_suffix(".xml.tmp")
    tmp.write_text(junit_text(summary), encoding="utf-8")
    os.replace(tmp, path)
    return path
