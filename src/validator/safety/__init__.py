"""The one gate for cluster writes: guard (allow-lists, blast radius), mutator, audit log, signals, recover.

Every mutating call the suite makes goes through `validator.safety.mutator.Mutator`, which asks the
guard first, writes the audit line before the call, marks what it changed with the run id and
records the result. `validator.safety.recover` finds the marks and reverts them.
"""

__all__ = ["allowlist", "audit", "guard", "marks", "mutator", "rbac", "recover", "session", "signals"]
