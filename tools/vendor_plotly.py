"""Re-fetch and verify the vendored plotly.js bundle (src/validator/bundled/vendor/plotly/).

    make vendor-plotly                         # the version the installed `plotly` package ships
    .venv/bin/python tools/vendor_plotly.py --version 4.1.1

Needs `npm` and the npm registry, so it is run by hand after a `plotly` upgrade (the unit test
tests/unit/report/test_plotly_bundle.py says when), never by `make test` or `make demo`. It packs
`plotly.js-basic-dist-min@VERSION` with `npm pack` in a temporary directory, checks the tarball
against the registry's published integrity (sha512) and the bundle's banner against VERSION, then
writes plotly-basic.min.js, plotly's LICENSE and a README.md recording the version and both
sha512 sums into the vendor directory.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "plotly.js-basic-dist-min"
BUNDLE = "plotly-basic.min.js"
DEST = Path(__file__).resolve().parents[1] / "src" / "validator" / "bundled" / "vendor" / "plotly"

README = """# plotly.js, basic partial bundle (vendored)

`{bundle}` is plotly's official partial bundle [`{package}`](https://www.npmjs.com/package/{package})
version **{version}**, byte for byte as npm publishes it (trace types scatter, bar and pie). The run
report and the history's trends page inline it (`validator.report.plotly_bundle`), so they open
without fetching anything. npm is the only place plotly publishes its partial bundles (PyPI's
`plotly` and Debian ship the full 4.8 MB bundle), hence this copy. It must be the plotly.js version
the Python `plotly` package ships (`plotly.offline.get_plotlyjs()`'s banner), which
tests/unit/report/test_plotly_bundle.py checks.

`LICENSE` is plotly.js's MIT licence from the same package.

- npm tarball `{tarball}`, integrity (the registry's `dist.integrity`, sha512 of the tarball):
  `{integrity}`
- sha512 ({bundle}): `{file_sha512}`

Re-fetch and verify (needs npm and the npm registry; never run by `make test` or `make demo`):

    make vendor-plotly        # tools/vendor_plotly.py: the version the installed `plotly` ships

By hand, the same steps:

    cd "$(mktemp -d)"
    npm view {package}@{version} dist.integrity
    npm pack {package}@{version}
    echo "sha512-$(openssl dgst -sha512 -binary {tarball} | base64 -w0)"   # must equal the line above
    tar -xzf {tarball} package/{bundle} package/LICENSE
    sha512sum package/{bundle}                                            # must equal the README's
    cp package/{bundle} package/LICENSE <checkout>/src/validator/bundled/vendor/plotly/
"""


def _npm(*args: str, cwd: Path) -> str:
    done = subprocess.run(["npm", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"npm {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done.stdout.strip()


def _python_plotly_js_version() -> str:
    import plotly.offline

    found = re.search(r"plotly\.js v(\S+)", plotly.offline.get_plotlyjs()[:300])
    if found is None:
        sys.exit("the installed plotly package's plotly.js has no 'plotly.js vX.Y.Z' banner")
    return found.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", help="plotly.js version (default: the installed plotly package's)")
    version = parser.parse_args().version or _python_plotly_js_version()
    with tempfile.TemporaryDirectory(prefix="vendor-plotly-") as tmp:
        work = Path(tmp)
        integrity = _npm("view", f"{PACKAGE}@{version}", "dist.integrity", cwd=work)
        if not integrity.startswith("sha512-"):
            sys.exit(f"{PACKAGE}@{version}: the registry published no sha512 integrity (got {integrity!r})")
        tarball = _npm("pack", "--silent", f"{PACKAGE}@{version}", cwd=work).splitlines()[-1]
        data = (work / tarball).read_bytes()
        actual = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")
        if actual != integrity:
            sys.exit(f"{tarball}: sha512 {actual} differs from the registry's integrity {integrity}")
        with tarfile.open(work / tarball, "r:gz") as archive:
            members = {}
            for name in (BUNDLE, "LICENSE"):
                member = archive.extractfile(f"package/{name}")
                if member is None:
                    sys.exit(f"{tarball}: package/{name} is not a regular file")
                members[name] = member.read()
    banner = members[BUNDLE][:300].decode("utf-8")
    if f"v{version}\n" not in banner:
        sys.exit(f"{tarball}: {BUNDLE}'s banner does not name v{version}: {banner[:120]!r}")
    DEST.mkdir(parents=True, exist_ok=True)
    for name, content in members.items():
        (DEST / name).write_bytes(content)
    (DEST / "README.md").write_text(
        README.format(package=PACKAGE, bundle=BUNDLE, version=version, tarball=tarball, integrity=integrity,
                      file_sha512=hashlib.sha512(members[BUNDLE]).hexdigest()),
        encoding="utf-8",
    )
    print(f"{DEST}: {BUNDLE} {version} ({len(members[BUNDLE]):,} bytes), integrity verified: {integrity}")


if __name__ == "__main__":
    main()
