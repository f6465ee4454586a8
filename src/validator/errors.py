"""The one exception tree. Every message says what went wrong, where (file and key), and how to fix it.

The CLI maps each class to an exit code of criteria.md; nothing else calls sys.exit.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    PASS = 0
    FAIL = 1
    INVALID_INPUT = 2
    INCONCLUSIVE = 3
    REFUSED = 4
    ROLLBACK_FAILED = 5
    INTERRUPTED = 130


class ValidatorError(Exception):
    """Base class: a message a user can act on."""

    exit_code: ExitCode = ExitCode.INVALID_INPUT

    def __init__(self, what: str, *, where: str = "", fix: str = "") -> None:
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        parts = [self.what]
        if self.where:
            parts.append(f"  where: {self.where}")
        if self.fix:
            parts.append(f"  fix:   {self.fix}")
        return "\n".join(parts)


class ConfigError(ValidatorError):
    """Invalid input: a file, key or argument that cannot be used."""

    exit_code = ExitCode.INVALID_INPUT


class UnsafeOperation(ValidatorError):
    """Refused for safety before anything was written."""

    exit_code = ExitCode.REFUSED


class EvidenceUnavailable(ValidatorError):
    """An evidence source (cluster, Prometheus, file) could not be read."""

    exit_code = ExitCode.INCONCLUSIVE


class RollbackFailed(ValidatorError):
    """Something the suite changed could not be put back; the message lists what is left."""

    exit_code = ExitCode.ROLLBACK_FAILED


class SandboxError(ValidatorError):
    """The local sandbox could not be built, started or stopped."""

    exit_code = ExitCode.INVALID_INPUT
