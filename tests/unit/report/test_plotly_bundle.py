"""The vendored plotly.js (src/validator/bundled/vendor/plotly/) and what the pages inline from it:
the payload is that file byte for byte, the file is the one its README records (sha512), and it is
the plotly.js version the `plotly` package builds the figures for."""

from __future__ import annotations

import base64
import gzip
import hashlib
import re

import plotly.offline
import pytest

from validator.report.plotly_bundle import BUNDLE_FILE, bundle_version, plotly_js, vendor_dir


def test_the_inlined_payload_inflates_to_the_vendored_file_byte_for_byte() -> None:
    payload = re.search(r'var payload = "([A-Za-z0-9+/=]+)"', plotly_js())
    assert payload is not None
    inflated = gzip.decompress(base64.b64decode(payload.group(1)))
    assert inflated == (vendor_dir() / BUNDLE_FILE).read_bytes()


def test_the_vendored_file_is_the_one_its_readme_records() -> None:
    readme = (vendor_dir() / "README.md").read_text(encoding="utf-8")
    recorded = re.search(rf"sha512 \({re.escape(BUNDLE_FILE)}\): `([0-9a-f]{{128}})`", readme)
    assert recorded is not None, f"{vendor_dir() / 'README.md'}: no 'sha512 ({BUNDLE_FILE}): `<hex>`' line"
    assert hashlib.sha512((vendor_dir() / BUNDLE_FILE).read_bytes()).hexdigest() == recorded.group(1)
    assert f"**{bundle_version((vendor_dir() / BUNDLE_FILE).read_text(encoding='utf-8'))}**" in readme
    assert "MIT License" in (vendor_dir() / "LICENSE").read_text(encoding="utf-8")


def test_the_vendored_bundle_is_the_plotly_js_the_plotly_package_ships() -> None:
    vendored = bundle_version((vendor_dir() / BUNDLE_FILE).read_text(encoding="utf-8"))
    shipped = bundle_version(plotly.offline.get_plotlyjs())
    assert vendored == shipped, (
        f"{vendor_dir() / BUNDLE_FILE} is plotly.js {vendored}, but the installed plotly package "
        f"(constraints.txt) builds its figures for plotly.js {shipped}: run `make vendor-plotly` to "
        f"vendor plotly.js-basic-dist-min@{shipped} and commit the result"
    )


def test_a_bundle_without_a_version_banner_is_refused() -> None:
    assert bundle_version("/**\n* plotly.js (basic - minified) v4.1.1\n*/") == "4.1.1"
    assert bundle_version("/**\n* plotly.js v3.0.1\n*/") == "3.0.1"
    with pytest.raises(ValueError, match="banner"):
        bundle_version("var Plotly = {};")
