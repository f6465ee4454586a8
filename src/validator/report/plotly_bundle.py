"""The plotly.js every offline page embeds (the run report, the history's trends page): one place
that decides which bundle and how it is inlined, so every page opens without fetching anything.

Which bundle: plotly's official partial bundle `plotly.js-basic-dist-min` (trace types scatter, bar
and pie, plus the core every figure uses: subplots, date axes, shapes, annotations, legends, hover),
which is all our pages draw. It is published on npm only, so it is vendored in the package
(src/validator/bundled/vendor/plotly/: the file, plotly's MIT licence and a README with its version,
its sha512 and the commands that re-fetch and verify it, `make vendor-plotly`). It is the plotly.js
version the `plotly` package ships (the figures are built with `plotly.graph_objects` for that
version); a unit test fails when the two drift apart, e.g. after a `plotly` upgrade in
constraints.txt. 1.19 MB against the full bundle's 4.8 MB.

How it is inlined: gzip at level 9 and base64 (1.19 MB of JavaScript become 0.53 MB of page). The
browser inflates it with its own `DecompressionStream("gzip")` (Chromium 80+, Firefox 113+, Safari
16.4+): nothing is fetched, and it needs no library of ours. Inlined as it is, a run's report
weighs 1.35 MB instead of 0.69 MB and is not drawn any sooner: benchmarks/report_weight.py's
"basic_raw" and "after" figures (about 0.8 s from navigation to every chart drawn either way, and the
same main-thread CPU), so the smaller page wins.

Inflating is asynchronous, so until the bundle has run `window.Plotly` is a stand-in whose
`newPlot` and `react` wait for it and then draw (both return a promise, as plotly's own do); a page
that needs anything else awaits `window.PlotlyReady`, a promise of the real `Plotly`. A browser
without `DecompressionStream` logs an error saying so and the charts stay empty; the rest of the
page (verdicts, tables, advice) is plain HTML and reads as before.
"""

from __future__ import annotations

import base64
import gzip
import re
from functools import cache
from pathlib import Path

from validator.resources import bundled_dir

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

BUNDLE_FILE = "plotly-basic.min.js"
# The bundle's own first lines: "/**\n* plotly.js (basic - minified) v4.1.1\n..."
_VERSION = re.compile(r"plotly\.js(?: \([^)]*\))? v(\d+\.\d+\.\d+\S*)")


def vendor_dir() -> Path:
    """Where the vendored bundle, its licence and its README live (inside the installed package)."""
    return bundled_dir() / "vendor" / "plotly"


def plotly_js_source() -> str:
    """plotly.js itself: the vendored basic bundle, exactly as npm publishes it (what the page inflates
    back)."""
    return (vendor_dir() / BUNDLE_FILE).read_text(encoding="utf-8")


def bundle_version(source: str) -> str:
    """The plotly.js version a bundle's banner states ("plotly.js (basic - minified) v4.1.1" -> "4.1.1");
    ValueError when the text carries no such banner."""
    found = _VERSION.search(source[:500])
    if found is None:
        raise ValueError("no 'plotly.js ... vX.Y.Z' banner in the first 500 characters of the bundle")
    return found.group(1)


@cache
def plotly_js() -> str:
    """JavaScript to inline in a <script> element: defines `window.Plotly` (see the module doc)."""
    packed = base64.b64encode(gzip.compress(plotly_js_source().encode("utf-8"), compresslevel=9, mtime=0))
    return _LOADER.replace("%PAYLOAD%", packed.decode("ascii"))
