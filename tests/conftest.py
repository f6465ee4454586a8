"""Whole-suite ordering for `make test` (pytest-xdist, `--dist worksteal`): a test that declares a
budget longer than the default timeout (`@pytest.mark.timeout(N)`, N above pyproject's 900 s) is
collected first, longest first, so that a worker starts it at once and the other worker, then both,
share the rest. Started last, the three-nightly history test alone would decide when the job ends
(longest-processing-time-first scheduling). The order of every other test is kept."""

from __future__ import annotations

import pytest


def _declared_budget(item: pytest.Item, default_s: float) -> float:
    mark = item.get_closest_marker("timeout")
    if mark is None or not mark.args:
        return 0.0
    budget = float(mark.args[0])
    return budget if budget > default_s else 0.0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    default_s = float(config.getini("timeout") or 0)
    items.sort(key=lambda item: -_declared_budget(item, default_s))  # stable: others keep their order
