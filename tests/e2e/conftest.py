"""Whole runs against the sandbox: the fixtures of the cluster tier (tests/support/cluster.py)."""

from tests.support.cluster import namespace, sandbox  # noqa: F401
