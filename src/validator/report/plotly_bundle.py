"""The plotly.js every offline page embeds (the run report, the history's trends page): one place
that decides which bundle and how it is inlined, so every page opens without fetching anything.

Which bundle: plotly's smaller partial bundles (`plotly-basic`, with only scatter, bar and pie,
which is all our pages draw) are published on npm alone; neither PyPI nor Debian ships them (Debian's
python3-plotly and r-cran-plotly carry the full bundle too). So the page carries the full bundle that
the `plotly` package ships, the very version its figures are written for, deflated: gzip at level 9
and base64 (4.8 MB of JavaScript become 2.0 MB of page). The browser inflates it with its own
`DecompressionStream("gzip")` (Chromium 80+, Firefox 113+, Safari 16.4+): nothing is fetched, and
it needs no library of ours.

Inflating is asynchronous, so until the bundle has run `window.Plotly` is a stand-in whose
`newPlot` and `react` wait for it and then draw (both return a promise, as plotly's own do); a page
that needs anything else awaits `window.PlotlyReady`, a promise of the real `Plotly`. A browser
without `DecompressionStream` logs an error saying so and the charts stay empty; the rest of the
page (verdicts, tables, advice) is plain HTML and reads as before.
"""

from __future__ import annotations

import base64
import gzip
from functools import cache

import plotly.offline

# Runs as the page loads; `%PAYLOAD%` becomes the bundle, gzip + base64 (no `<`, so it cannot close
# the <script> element it sits in).
_LOADER = """(function () {
  "use strict";
  var payload = "%PAYLOAD%";
  function bytes(text) {
    if (Uint8Array.fromBase64) { return Uint8Array.fromBase64(text); }
    var raw = atob(text), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) { out[i] = raw.charCodeAt(i); }
    return out;
  }
  var standIn = {};
  var ready = (typeof DecompressionStream === "undefined"
    ? Promise.reject(new Error("this browser cannot inflate the inlined plotly.js (no DecompressionStream): "
        + "open the report in a current Chromium, Firefox or Safari to see its charts"))
    : new Response(new Blob([bytes(payload)]).stream().pipeThrough(new DecompressionStream("gzip"))).text()
  ).then(function (code) {
    var script = document.createElement("script");
    script.text = code;
    document.head.appendChild(script);
    if (!window.Plotly || window.Plotly === standIn) {
      throw new Error("the inlined plotly.js did not load");
    }
    return window.Plotly;
  });
  ready.catch(function (error) { console.error("validator report: " + error.message); });
  ["newPlot", "react"].forEach(function (name) {
    standIn[name] = function () {
      var args = arguments;
      return ready.then(function (Plotly) { return Plotly[name].apply(Plotly, args); });
    };
  });
  window.Plotly = standIn;
  window.PlotlyReady = ready;
})();
"""


def plotly_js_source() -> str:
    """plotly.js itself, as the `plotly` package ships it (what the page inflates back)."""
    return str(plotly.offline.get_plotlyjs())


@cache
def plotly_js() -> str:
    """JavaScript to inline in a <script> element: defines `window.Plotly` (see the module doc)."""
    packed = base64.b64encode(gzip.compress(plotly_js_source().encode("utf-8"), compresslevel=9, mtime=0))
    return _LOADER.replace("%PAYLOAD%", packed.decode("ascii"))
