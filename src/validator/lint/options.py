"""What a lint run can be told: ratio bound, quota buffer, expected peaks, the validator's labels."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from validator.lint.peaks import ExpectedPeaks

DEFAULT_MAX_RATIO = Decimal(4)
DEFAULT_BUFFER_MIN = Decimal("1.2")
DEFAULT_BUFFER_MAX = Decimal("1.3")
DEFAULT_AGENT_LABEL = "app.kubernetes.io/name"
DEFAULT_COMPONENT_LABEL = "app.kubernetes.io/component"


@dataclass(frozen=True, slots=True, kw_only=True)
class LintOptions:
    max_ratio: Decimal = DEFAULT_MAX_RATIO
    buffer_min: Decimal = DEFAULT_BUFFER_MIN
    buffer_max: Decimal = DEFAULT_BUFFER_MAX
    peaks: ExpectedPeaks | None = None
    agent_label: str = DEFAULT_AGENT_LABEL
    component_label: str = DEFAULT_COMPONENT_LABEL
