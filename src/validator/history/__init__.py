"""Night after night: the history store (`store`: one SQLite file of every run's verdicts) and the
change-point detector over each criterion-scope's values (`changes`), and the check of every run
against its history (`regressions`)."""

from validator.history.changes import Finding, Trend, detect
from validator.history.regressions import judge_against_history, regression_lines
from validator.history.store import DEFAULT_NAME, HistoryStore, default_history_path, record_run

__all__ = ["DEFAULT_NAME", "Finding", "HistoryStore", "Trend", "default_history_path", "detect",
           "judge_against_history", "record_run", "regression_lines"]
