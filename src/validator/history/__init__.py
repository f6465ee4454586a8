"""Night after night: the history store (`store`: one SQLite file of every run's verdicts) and the
change-point detector over each criterion-scope's values (`changes`)."""

from validator.history.changes import Finding, Trend, detect
from validator.history.store import DEFAULT_NAME, HistoryStore, default_history_path, record_run

__all__ = ["DEFAULT_NAME", "Finding", "HistoryStore", "Trend", "default_history_path", "detect", "record_run"]
