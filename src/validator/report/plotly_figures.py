"""plotly.js figures as plain JSON-ready dicts: rows of charts on one shared time axis, shaded spans and
bands, plotly's own `plotly_white` template (read from the plotly package's data, as plotly itself
reads it).

plotly's Python figure objects validate every property as it is set; building the run report's
figures that way cost ~0.5 s of a 10,000-pod run's 2.5 s (most of the report's time), for output
the page's plotly.js validates again anyway. The dicts here hold the same layout plotly's
`make_subplots(shared_xaxes=True)`, `add_hrect` and `add_vrect` produce; the browser tests
(tests/unit/report/test_report_browser.py) check that plotly.js draws them. Pure: no IO but the
template's one read, cached.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

TEMPLATE = "plotly_white"
SUBPLOT_TITLE_FONT = {"size": 16}


@cache
def template() -> dict[str, Any]:
    """plotly's `plotly_white` template, as the plotly package ships it."""
    text = (resources.files("plotly") / "package_data" / "templates" / f"{TEMPLATE}.json").read_text(
        encoding="utf-8"
    )
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _axis(prefix: str, row: int) -> str:
    """The layout key of a row's axis: `xaxis`, `xaxis2`, ..."""
    return f"{prefix}axis" if row == 1 else f"{prefix}axis{row}"


def _ref(prefix: str, row: int) -> str:
    """A trace's or shape's reference to a row's axis: `x`, `x2`, ..."""
    return prefix if row == 1 else f"{prefix}{row}"


@dataclass
class Figure:
    """One figure: its traces and its layout, as plotly.js reads them."""

    data: list[dict[str, Any]] = field(default_factory=list)
    layout: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"data": self.data, "layout": {"template": template(), **self.layout}}


@dataclass
class RowsFigure(Figure):
    """`rows` charts stacked on one time axis (the bottom row's ticks; every row follows it), each
    titled above, `spacing` (a share of the height) between them: plotly's
    `make_subplots(rows=n, cols=1, shared_xaxes=True, vertical_spacing=spacing, subplot_titles=...)`."""

    rows: int = 1

    @classmethod
    def stacked(cls, titles: list[str], spacing: float) -> RowsFigure:
        n = len(titles)
        height = (1.0 - spacing * (n - 1)) / n
        figure = cls(rows=n)
        annotations = []
        for row, title in enumerate(titles, start=1):
            top = 1.0 - (row - 1) * (height + spacing)
            bottom = max(0.0, top - height)
            x: dict[str, Any] = {"anchor": _ref("y", row), "domain": [0.0, 1.0]}
            if n > 1:
                x["matches"] = _ref("x", n) if row != n else None
                if row != n:
                    x["showticklabels"] = False
            figure.layout[_axis("x", row)] = {k: v for k, v in x.items() if v is not None}
            figure.layout[_axis("y", row)] = {"anchor": _ref("x", row), "domain": [bottom, top]}
            annotations.append(
                {"text": title, "x": 0.5, "xanchor": "center", "xref": "paper", "y": top,
                 "yanchor": "bottom", "yref": "paper", "showarrow": False, "font": SUBPLOT_TITLE_FONT}
            )
        figure.layout["annotations"] = annotations
        figure.layout["shapes"] = []
        return figure

    def add_trace(self, trace: dict[str, Any], row: int) -> None:
        self.data.append({**trace, "xaxis": _ref("x", row), "yaxis": _ref("y", row)})

    def y_axis(self, row: int, **props: Any) -> None:
        self.layout[_axis("y", row)].update(props)

    def x_axes(self, **props: Any) -> None:
        for row in range(1, self.rows + 1):
            self.layout[_axis("x", row)].update(props)

    def x_axis(self, row: int, **props: Any) -> None:
        self.layout[_axis("x", row)].update(props)

    def band(self, row: int, low: float, high: float, fill: str) -> None:
        """A horizontal band across the row's whole width (plotly's add_hrect)."""
        self.layout["shapes"].append(
            {"type": "rect", "xref": f"{_ref('x', row)} domain", "x0": 0, "x1": 1,
             "yref": _ref("y", row), "y0": low, "y1": high, "fillcolor": fill, "line": {"width": 0},
             "layer": "below"}
        )

    def span(self, start: str, end: str, fill: str) -> None:
        """A vertical span from `start` to `end` on every row (plotly's add_vrect, row="all")."""
        for row in range(1, self.rows + 1):
            self.layout["shapes"].append(
                {"type": "rect", "xref": _ref("x", row), "x0": start, "x1": end,
                 "yref": f"{_ref('y', row)} domain", "y0": 0, "y1": 1, "fillcolor": fill,
                 "line": {"width": 0}, "layer": "below"}
            )


def target_band(low: float, high: float, fill: str, label: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A one-chart figure's horizontal target band and its label at the band's top left (plotly's
    add_hrect with annotation_text and annotation_position="top left"): (shape, annotation)."""
    shape = {"type": "rect", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": low, "y1": high,
             "fillcolor": fill, "line": {"width": 0}, "layer": "below"}
    note = {"text": label, "showarrow": False, "xref": "x domain", "x": 0, "xanchor": "left",
            "yref": "y", "y": high, "yanchor": "top"}
    return shape, note
