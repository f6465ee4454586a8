"""Whole runs against the sandbox: the sandbox fixtures of tests/sandbox, and helpers to run the CLI."""

from tests.sandbox.conftest import namespace, sandbox  # noqa: F401
