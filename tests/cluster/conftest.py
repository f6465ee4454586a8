"""The cluster tier: tests against the real local control plane (tests/support/cluster.py).

One sandbox per test session and xdist worker: reused when one is already up, else started here
and stopped at the end. Tests isolate by namespace."""

from tests.support.cluster import namespace, sandbox  # noqa: F401
