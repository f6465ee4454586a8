"""Load tests: the pure modules of loadprofiles/ are imported here; anything importing Locust only ever
runs in a subprocess (docs/libraries.md: `import locust` monkey-patches this process)."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
LOADPROFILES = REPO / "loadprofiles"
if str(LOADPROFILES) not in sys.path:
    sys.path.insert(0, str(LOADPROFILES))
