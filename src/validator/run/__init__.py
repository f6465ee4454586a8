"""One run of a suite: the request and where its evidence comes from (request), signals
(interrupts), the checks before any change (preflight), a maintenance rehearsal's dry-run evictions
(rehearsal), the experiments (experiments), the load's progress (load_progress), and the run
itself with its exit code (suite_run)."""

from validator.run.request import RehearsalTarget, RunRequest
from validator.run.suite_run import SuiteRun, exit_code, run_suite

__all__ = ["RehearsalTarget", "RunRequest", "SuiteRun", "exit_code", "run_suite"]
