"""Loading and validating configuration files, every problem at once as `file: key.path: what; fix`:
suites (`suite_file`), criteria overrides (`criteria_file`), Chaos Toolkit experiments
(`experiment_file`)."""

from validator.config.criteria_file import load_criteria_file, parse_criteria_overrides

__all__ = ["load_criteria_file", "parse_criteria_overrides"]
