"""The plotly.js every offline page embeds (the run report, the history's trends page): one place
that decides which bundle and how it is inlined, so every page opens without fetching anything."""

from __future__ import annotations

from functools import cache

import plotly.offline


@cache
def plotly_js() -> str:
    """The JavaScript of plotly.js, to be inlined in a <script> element."""
    return str(plotly.offline.get_plotlyjs())
