"""Criteria overrides: a `--criteria` YAML file, or the `criteria` block of manifest.json / a suite.

Shape (every key optional)::

    criteria:
      recovery_time:
        max: 240                 # a threshold named in the criterion's DEFAULTS
      capacity_forecast:
        info: false              # judge it (it is info by default)
      cpu_utilization:
        queries:                 # replace a query's PromQL (placeholders as in the defaults)
          cpu_usage_by_agent: 'sum by ({agent_label}) (...)'

The models are built from the criteria registry: one per criterion, its thresholds (with their
defaults), `info` and its query keys, so the published schema (schemas/criteria.schema.json, and
the `criteria` block of schemas/suite.schema.json) names exactly what each criterion accepts.
Every problem is reported at once, each as `FILE: key.path: what; how to fix`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Self

from pydantic import AfterValidator, ConfigDict, Field, ValidationError, create_model, model_validator
from pydantic_core import InitErrorDetails

from validator.config.document import StrictModel, problem, problem_lines, read_yaml_file
from validator.criteria.promql import syntax_problems
from validator.criteria.registry import CRITERIA, CriterionModule
from validator.errors import ConfigError
from validator.model import CriterionOverride

# Thresholds that are ratios (0..1): a value above 1 is almost surely a percentage.
RATIO_THRESHOLDS = frozenset(
    {
        ("cpu_utilization", "min"),
        ("cpu_utilization", "max"),
        ("memory_utilization", "max"),
        ("pvc_utilization", "min"),
        ("pvc_utilization", "max"),
        ("controller_availability", "min"),
        ("alert_accuracy", "max"),
        ("graceful_degradation", "min_success_ratio"),
        ("resource_isolation", "max_throttling"),
        ("cost_efficiency", "target_saving"),
    }
)
# (lower, upper) threshold names that must not cross.
BANDS = (("min", "max"),)

Threshold = Annotated[float, Field(ge=0, description="a threshold (docs/criteria.md)")]
Ratio = Annotated[float, Field(ge=0, le=1, description="a threshold, a ratio in 0..1 (docs/criteria.md)")]


def _promql(text: str) -> str:
    problems = syntax_problems(text)
    if problems:  # one line each, at the query's key
        lines = [InitErrorDetails(type=problem(f"bad PromQL: {p}"), loc=(), input=text) for p in problems]
        raise ValidationError.from_exception_data("PromQL", lines)
    return text


PromQL = Annotated[str, AfterValidator(_promql)]


class QueryOverrides(StrictModel):
    """The base of a criterion's `queries`: PromQL replacing some of its default queries."""

    NOUN = "a mapping of query keys to PromQL"

    @classmethod
    def unknown_key(cls) -> str:
        known = ", ".join(cls.keys()) or "none (this criterion runs no query)"
        return f"unknown query key; known keys: {known}"

    def texts(self) -> dict[str, str]:
        given = self.model_fields_set
        return {key: str(getattr(self, key)) for key in type(self).model_fields if key in given}


class CriterionBody(StrictModel):
    """The base of one criterion's overrides; each criterion's model adds its thresholds."""

    NOUN = "a mapping of thresholds"
    DEFAULTS: ClassVar[Mapping[str, float]] = {}

    info: bool = False
    queries: QueryOverrides = Field(default_factory=QueryOverrides)

    @classmethod
    def unknown_key(cls) -> str:
        return f"unknown key; known keys: {', '.join([*cls.DEFAULTS, 'info', 'queries'])}"

    def thresholds(self) -> dict[str, float]:
        """The thresholds the file gives (not those left at their defaults)."""
        return {key: float(getattr(self, key)) for key in self.DEFAULTS if key in self.model_fields_set}

    def override(self) -> CriterionOverride:
        return CriterionOverride(
            thresholds=self.thresholds(),
            queries=self.queries.texts(),
            info=self.info if "info" in self.model_fields_set else None,
        )

    @model_validator(mode="after")
    def _bands_do_not_cross(self) -> Self:
        given = self.thresholds()
        merged = {**self.DEFAULTS, **given}
        for low, high in BANDS:
            crossed = low in merged and high in merged and merged[low] > merged[high]
            if crossed and (low in given or high in given):
                raise problem(
                    f"{low} ({merged[low]:g}) is greater than {high} ({merged[high]:g}); make {low} <= {high}"
                )
        return self


class CriteriaOverrides(StrictModel):
    """The base of the `criteria` block: one optional key per criterion id."""

    NOUN = "a mapping of criterion ids"

    @classmethod
    def unknown_key(cls) -> str:
        return f"unknown criterion id; known ids: {', '.join(cls.keys())}"

    def overrides(self) -> dict[str, CriterionOverride]:
        out: dict[str, CriterionOverride] = {}
        for cid in type(self).model_fields:
            if cid in self.model_fields_set:
                body: CriterionBody | None = getattr(self, cid)
                out[cid] = body.override() if body is not None else CriterionOverride()
        return out


def _title(cid: str) -> str:
    return "".join(word.capitalize() for word in cid.split("_"))


def _criterion_model(cid: str, module: CriterionModule) -> type[CriterionBody]:
    query_fields: dict[str, Any] = {key: (PromQL, Field(default=q)) for key, q in module.QUERIES.items()}
    queries = create_model(
        f"{_title(cid)}Queries",
        __base__=QueryOverrides,
        __doc__=f"PromQL replacing {cid}'s default queries (placeholders as in the defaults).",
        **query_fields,
    )
    thresholds: dict[str, Any] = {
        key: (Ratio if (cid, key) in RATIO_THRESHOLDS else Threshold, Field(default=value))
        for key, value in module.DEFAULTS.items()
    }
    model = create_model(
        f"{_title(cid)}Criterion",
        __base__=CriterionBody,
        __doc__=f"Overrides of {cid}: its thresholds, `info` (reported but not judged) and its queries.",
        **thresholds,
        info=(bool, Field(default=module.INFO, description="true: reported, not judged; false: judged")),
        queries=(queries, Field(default_factory=queries)),
    )
    model.DEFAULTS = dict(module.DEFAULTS)
    return model


def _criteria_model() -> type[CriteriaOverrides]:
    fields: dict[str, Any] = {
        cid: (_criterion_model(cid, module) | None, None) for cid, module in CRITERIA.items()
    }
    return create_model(
        "Criteria",
        __base__=CriteriaOverrides,
        __doc__="Criteria overrides by criterion id (docs/criteria.md); every key is optional.",
        **fields,
    )


# The models are built from the registry; to the type checker the block is its base class.
if TYPE_CHECKING:
    CriteriaBlock = CriteriaOverrides
else:
    CriteriaBlock = _criteria_model()


class CriteriaFile(StrictModel):
    """A criteria override file (`--criteria FILE`): thresholds, info and queries per criterion."""

    model_config = ConfigDict(title="validator criteria overrides")

    NOUN = "a mapping with a `criteria` key"

    criteria: CriteriaBlock | None = Field(default=None, description="overrides by criterion id")


def load_criteria_file(path: Path) -> dict[str, CriterionOverride]:
    """Read and validate a criteria override file (YAML, safe_load only)."""
    source = str(path)
    raw = read_yaml_file(path, kind="criteria", missing_fix="pass the path of an existing YAML file")
    if raw is None:
        return {}
    try:
        document = CriteriaFile.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(source, problem_lines(exc, CriteriaFile, source=source)) from None
    return document.criteria.overrides() if document.criteria is not None else {}


def parse_criteria_overrides(
    raw: object, *, source: str, path: str = "criteria"
) -> dict[str, CriterionOverride]:
    """Validate an already-parsed `criteria` block (e.g. from manifest.json)."""
    if raw is None:
        return {}
    try:
        block = CriteriaBlock.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(source, problem_lines(exc, CriteriaBlock, source=source, prefix=path)) from None
    return block.overrides()


def _invalid(source: str, errors: list[str]) -> ConfigError:
    count = f"{len(errors)} problem{'s' if len(errors) != 1 else ''}"
    return ConfigError(
        f"invalid criteria overrides ({count}):\n  " + "\n  ".join(errors),
        where=source,
        fix="see docs/criteria.md for the criterion ids and their thresholds "
        "(schemas/criteria.schema.json is the file's schema)",
    )
