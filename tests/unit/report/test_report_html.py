"""report.html from a synthetic run: self-contained, advice shown, reasons shown, secrets absent."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.support.synthetic_run import SECRET_URL, summary_and_evidence
from validator.model import Verdict
from validator.report.html import (
    MAX_POINTS_PER_CHART,
    SANDBOX_NOTE,
    downsample,
    format_threshold,
    format_value,
    render_report_html,
    write_report_html,
)


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
    assert len(html) > 3_000_000  # plotly.js is inlined, not linked


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
