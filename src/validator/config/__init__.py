"""Loading and validating configuration: criteria overrides (all errors at once, file: key.path)."""

from validator.config.criteria_file import load_criteria_file, parse_criteria_overrides

__all__ = ["load_criteria_file", "parse_criteria_overrides"]
