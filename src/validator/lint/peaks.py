"""The expected-peaks profile (schema validator.expected-peaks/v1): the peak each quota is sized from.

    schema: validator.expected-peaks/v1
    quotas:
      - namespace: agents
        name: agents-production
        source: "free text"            # optional
        peak:                          # ResourceQuota resource name -> quantity or count
          requests.cpu: "18"
          pods: 10
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from validator.errors import ConfigError
from validator.lint.quantities import QuantityError, parse_quantity

SCHEMA = "validator.expected-peaks/v1"
_TOP_KEYS = {"schema", "quotas"}
_ENTRY_KEYS = {"namespace", "name", "source", "peak"}


@dataclass(frozen=True, slots=True, kw_only=True)
class QuotaPeak:
    namespace: str
    name: str
    peak: Mapping[str, Decimal]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectedPeaks:
    source: str
    quotas: tuple[QuotaPeak, ...]

    def for_quota(self, namespace: str, name: str) -> QuotaPeak | None:
        for entry in self.quotas:
            if entry.namespace == namespace and entry.name == name:
                return entry
        return None


def parse_expected_peaks(doc: Any, source: str) -> ExpectedPeaks:
    """Validate a parsed profile; every problem is reported at once in one ConfigError."""
    problems: list[str] = []
    if not isinstance(doc, dict):
        raise ConfigError(
            "the expected-peaks file is not a mapping",
            where=source,
            fix=f"start it with `schema: {SCHEMA}` and a `quotas:` list",
        )
    for key in sorted(set(doc) - _TOP_KEYS):
        problems.append(f"{key}: unknown key (allowed: {', '.join(sorted(_TOP_KEYS))})")
    if doc.get("schema") != SCHEMA:
        problems.append(f"schema: must be {SCHEMA!r}, found {doc.get('schema')!r}")
    entries = doc.get("quotas")
    quotas: list[QuotaPeak] = []
    if not isinstance(entries, list):
        problems.append("quotas: must be a list of {namespace, name, peak}")
        entries = []
    for index, entry in enumerate(entries):
        where = f"quotas[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        for key in sorted(set(entry) - _ENTRY_KEYS):
            problems.append(f"{where}.{key}: unknown key (allowed: {', '.join(sorted(_ENTRY_KEYS))})")
        namespace, name, peak = entry.get("namespace"), entry.get("name"), entry.get("peak")
        if not isinstance(namespace, str) or not namespace:
            problems.append(f"{where}.namespace: required, the ResourceQuota's namespace")
        if not isinstance(name, str) or not name:
            problems.append(f"{where}.name: required, the ResourceQuota's name")
        if not isinstance(peak, dict) or not peak:
            problems.append(f"{where}.peak: required, a mapping of quota resource -> expected peak")
            continue
        values: dict[str, Decimal] = {}
        for resource, raw in peak.items():
            try:
                values[str(resource)] = parse_quantity(raw)
            except QuantityError as exc:
                problems.append(f"{where}.peak.{resource}: {exc}")
        quotas.append(QuotaPeak(namespace=str(namespace), name=str(name), peak=values))
    if problems:
        raise ConfigError(
            f"invalid expected-peaks file ({len(problems)} problem(s)):\n  " + "\n  ".join(problems),
            where=source,
            fix="see platform/expected-peaks.yaml for the format",
        )
    return ExpectedPeaks(source=source, quotas=tuple(quotas))
