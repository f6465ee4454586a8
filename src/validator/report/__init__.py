"""The verdicts, written: `summary` (summary.json), `junit` (junit.xml), `html` (report.html, offline
charts), `console_table` (the console's table), and `publish` (`evaluate_and_report`,
`write_reports`, `exit_code_for`: the one path from evidence to reports and exit code)."""

__all__ = ["console_table", "html", "junit", "publish", "summary"]
