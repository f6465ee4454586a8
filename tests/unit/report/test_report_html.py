"""report.html from a synthetic run: self-contained, advice shown, reasons shown, secrets absent."""

from __future__ import annotations

import base64
import gzip
import json
import re
from dataclasses import replace
from pathlib import Path

from tests.support.synthetic_run import SECRET_URL, summary_and_evidence
from validator.model import ManifestLoad, Regression, RegressionCheck, RegressionPolicy, Verdict
from validator.report.html import (
    DETAIL_SHOWN,
    MAX_POINTS_PER_CHART,
    SANDBOX_NOTE,
    downsample,
    format_threshold,
    format_value,
    held_note,
    render_report_html,
    visible,
    write_report_html,
)
from validator.report.plotly_bundle import BUNDLE_FILE, vendor_dir


def _render(tmp_path: Path, *, sandbox: bool = True) -> str:
    summary, evidence = summary_and_evidence(sandbox=sandbox)
    path = write_report_html(tmp_path, summary, evidence)
    assert path == tmp_path / "report.html"
    return path.read_text(encoding="utf-8")


def test_report_fetches_nothing_from_the_network(tmp_path: Path) -> None:
    html = _render(tmp_path)
    remote = re.findall(
        r"""<(?:script|link|img|iframe|source)\b[^>]*\b(?:src|href)\s*=\s*["']?(?:https?:)?//""",
        html,
        re.IGNORECASE,
    )
    assert remote == []
    assert re.search(r"@import\s+url\(\s*['\"]?(?:https?:)?//", html) is None
    assert "cdn.plot.ly/plotly" not in html.split("<script>", 1)[0]  # nothing above the inlined bundle
    assert "Plotly.newPlot" in html


def test_plotly_js_is_inlined_compressed_and_the_page_stays_under_one_and_a_half_megabytes(
    tmp_path: Path,
) -> None:
    """The page carries the vendored plotly.js bundle, deflated: it inflates back byte for byte, and
    the whole page stays under issue 14's 1.5 MB."""
    html = _render(tmp_path)
    payload = re.search(r'var payload = "([A-Za-z0-9+/=]+)"', html)
    assert payload is not None
    inflated = gzip.decompress(base64.b64decode(payload.group(1)))
    assert inflated == (vendor_dir() / BUNDLE_FILE).read_bytes()
    assert 'new DecompressionStream("gzip")' in html
    assert len(html.encode("utf-8")) < 1_500_000


def test_verdict_table_and_advice_for_every_failure(tmp_path: Path) -> None:
    summary, _ = summary_and_evidence()
    html = _render(tmp_path)
    assert summary.verdict is Verdict.FAIL
    assert 'id="verdict" class="verdict fail" data-verdict="fail">FAIL<' in html
    for outcome in summary.criteria:
        assert f'data-criterion="{outcome.id}"' in html
        for result in outcome.results:
            for advice in result.advice:
                assert str(advice).replace("`", "&#96;") in html or advice in html
    assert "lower resources.requests.cpu to about 0.59x" in html
    assert (
        "PVC &#96;agents/workspace-cleo&#96; is 85.5% full" in html
        or "PVC `agents/workspace-cleo` is 85.5% full" in html
    )
    text = html.replace("\u00a0", " ")  # numbers and units are joined by no-break spaces
    assert "60.0 % ≤ v ≤ 80.0 %" in text
    assert "41.0 %" in text  # tess, the failing agent


def test_inconclusive_results_show_their_reason_and_not_evaluated_are_listed(tmp_path: Path) -> None:
    html = _render(tmp_path)
    assert (
        "query &#96;alerts_firing&#96; failed: HTTP 503 from Prometheus" in html
        or "query `alerts_firing` failed: HTTP 503 from Prometheus" in html
    )
    row = re.search(r'<tr class="not-evaluated" data-criterion="pdb_respected">.*?</tr>', html, re.DOTALL)
    assert row is not None
    assert "not evaluated: needs the Kubernetes watch" in row.group(0)


def test_sandbox_runs_are_labelled_and_real_runs_are_not(tmp_path: Path) -> None:
    assert SANDBOX_NOTE in _render(tmp_path / "sandbox")
    assert SANDBOX_NOTE not in _render(tmp_path / "real", sandbox=False)


def test_a_held_load_is_on_the_page_and_a_load_that_never_held_says_nothing(tmp_path: Path) -> None:
    summary, evidence = summary_and_evidence()
    steady = ManifestLoad(profile="burst", max_users=50, duration_s=330.0)
    plain = replace(evidence, manifest=replace(evidence.manifest, load=steady))
    html = render_report_html(summary, plain)
    assert "load burst, 50 users, 330 s</span>" in html and "held its profile" not in html
    held = replace(evidence, manifest=replace(evidence.manifest, load=replace(steady, held_s=46.4)))
    html = render_report_html(summary, held)
    assert "load burst, 50 users, 330 s + 46 s held</span>" in html
    assert held_note(46.4) in html and "the load ended 46 s later than planned" in held_note(46.4)


def test_no_secrets_in_the_report(tmp_path: Path) -> None:
    html = _render(tmp_path)
    assert "s3cr3t-pw" not in html
    assert "admin:" not in html
    assert SECRET_URL not in html


def test_user_text_is_escaped(tmp_path: Path) -> None:
    from dataclasses import replace

    summary, evidence = summary_and_evidence()
    hostile = replace(summary, run_id="<script>alert(1)</script>")
    html = render_report_html(hostile, evidence)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_charts_share_one_time_axis_and_are_downsampled(tmp_path: Path) -> None:
    html = _render(tmp_path)
    data = re.search(r'<script type="application/json" id="timeline-data">(.*?)</script>', html, re.DOTALL)
    assert data is not None
    fig = json.loads(data.group(1))
    axes = [k for k in fig["layout"] if k.startswith("xaxis")]
    assert len(axes) >= 4  # load, HPA, CPU, OOM, PVC rows
    matched = {fig["layout"][k].get("matches") for k in axes} - {None}
    assert len(matched) == 1  # every row follows the same x axis
    titles = [a["text"] for a in fig["layout"]["annotations"] if "text" in a]
    assert any("Replicas per HPA" in t for t in titles)
    assert any("CPU utilisation per agent type" in t for t in titles)
    assert any("OOM kills" in t for t in titles)
    assert any("PVC use" in t for t in titles)
    shapes = fig["layout"]["shapes"]
    assert len(shapes) >= 3  # two fault windows and recovery spans, on every row
    assert sum(len(t.get("x") or []) for t in fig["data"]) <= 3 * MAX_POINTS_PER_CHART


def test_downsample_keeps_peaks_and_bounds() -> None:
    points = [(float(i), 0.0) for i in range(100_000)]
    points[51_234] = (51_234.0, 99.0)
    out = downsample(points, 500)
    assert len(out) <= 500
    assert (51_234.0, 99.0) in out
    assert out == sorted(out)
    assert downsample(points[:10], 500) == points[:10]


def test_visible_keeps_what_a_line_shows() -> None:
    flat = [(float(i), 3.0) for i in range(10_000)]
    assert visible(flat) == [(0.0, 3.0), (9_999.0, 3.0)]  # a flat line is its two ends
    step = [(0.0, 1.0), (1.0, 1.0), (2.0, 1.0), (3.0, 2.0), (4.0, 2.0), (5.0, 2.0)]
    assert visible(step) == [(0.0, 1.0), (2.0, 1.0), (3.0, 2.0), (5.0, 2.0)]  # every change survives
    assert visible([(0.0, 0.6599999999999999), (1.0, 12345.678)]) == [(0.0, 0.66), (1.0, 12350.0)]


def plain(text: str) -> str:
    return text.replace("\u00a0", " ")


def test_formatting() -> None:
    assert format_value(0.7234, "ratio") == "72.3\u00a0%"  # a unit never wraps away from its number
    assert plain(format_value(0.7234, "ratio")) == "72.3 %"
    assert plain(format_value(None, "ratio")) == "—"
    assert plain(format_value(300, "seconds")) == "300 s (5.0 min)"
    assert plain(format_value(2, "count")) == "2"
    assert plain(format_threshold({"min": 0.6, "max": 0.8}, "ratio")) == "60.0 % ≤ v ≤ 80.0 %"
    assert plain(format_threshold({"max": 0}, "count")) == "v ≤ 0"
    assert plain(format_threshold({"below": 0.05}, "ratio")) == "v < 5.0 %"
    assert plain(format_threshold({"min_success_ratio": 0.99}, "ratio")) == "success ratio ≥ 99.0 %"
    assert plain(format_threshold({"max_rejections": 0}, "count")) == "rejections ≤ 0"


def test_one_compact_row_per_criterion_its_worst_scope_and_the_others_folded(tmp_path: Path) -> None:
    summary, _ = summary_and_evidence()
    html = _render(tmp_path)
    table = html[html.index('<section class="criteria">'):html.index("</section>")]
    for outcome in summary.criteria:
        rows = re.findall(rf'<tr class="(\w+)" data-criterion="{outcome.id}">(.*?)</tr>', table, re.DOTALL)
        assert len(rows) == 1, outcome.id  # one compact row, whatever the number of scopes
        assert rows[0][0] == outcome.verdict.value
        folded = re.search(rf'<details data-criterion="{outcome.id}">(.*?)</details>', table, re.DOTALL)
        long_detail = any(len(r.detail) > DETAIL_SHOWN for r in outcome.results)
        assert (folded is not None) == (len(outcome.results) > 1 or long_detail), outcome.id
        if folded is not None:  # every scope is there, folded, with its whole detail
            assert len(re.findall(r"<tr class=", folded.group(1))) == len(outcome.results)
    # cpu_utilization: tess, the failing agent, is the row's scope; the three passing ones are folded
    cpu = re.search(r'<tr class="fail" data-criterion="cpu_utilization">(.*?)</tr>', table, re.DOTALL)
    assert cpu is not None and "agent=tess" in cpu.group(1) and "3/4 scopes pass" in cpu.group(1)
    folded_cpu = re.search(r'<details data-criterion="cpu_utilization">(.*?)</details>', table, re.DOTALL)
    assert folded_cpu is not None
    scopes = re.findall(r'data-scope="agent=(\w+)"', folded_cpu.group(1))
    assert scopes[0] == "tess" and sorted(scopes[1:]) == ["blaze", "cleo", "rex"]  # worst first


def test_the_timeline_follows_the_criteria_before_advice_and_other_charts(tmp_path: Path) -> None:
    html = _render(tmp_path)
    criteria_end = html.index("</section>", html.index('<section class="criteria">'))
    timeline = html.index('<div id="timeline">')
    assert criteria_end < timeline < html.index("What failed, and what to do") < html.index('<div id="band-')
    between = re.sub(r'<p class="note">.*?</p>|<div class="chart">|<h3>[^<]*</h3>|\s', "",
                     html[criteria_end + len("</section>"):timeline], flags=re.DOTALL)
    assert between == ""  # nothing but notes between the criteria and the timeline


def test_the_run_against_its_history_is_on_the_page() -> None:
    summary, evidence = summary_and_evidence()
    assert 'id="regressions"' not in render_report_html(summary, evidence)  # not checked: nothing said
    found = Regression(
        criterion="cpu_utilization", scope="agent=cleo", started_run="night-3", before=0.7, after=1.4,
        unit="ratio", method="step", detail="0.7 ratio -> 1.4 ratio since run night-3: a step",
    )
    checked = replace(
        summary,
        regressions=RegressionCheck(policy=RegressionPolicy.FAIL, earlier_runs=2, found=(found,)),
    )
    page = render_report_html(checked, evidence)
    section = page.split('<section id="regressions">', 1)[1].split("</section>", 1)[0]
    assert "1 regressed" in section and "2 earlier run(s)" in section
    assert "policy <code>fail</code>" in section
    assert "<code>cpu_utilization</code> agent=cleo: 0.7 ratio -&gt; 1.4 ratio since run night-3" in section
    note = "no earlier run of suite nightly: nothing to compare with"
    first = replace(
        summary, regressions=RegressionCheck(policy=RegressionPolicy.WARN, earlier_runs=0, note=note)
    )
    assert "nothing to compare with" in render_report_html(first, evidence)
