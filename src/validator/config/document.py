"""What the configuration files' models share, and the one translation of pydantic's errors.

Each file kind (a suite, a criteria override file, the allow-list) is declared once, as pydantic
models: the loader validates with them and `validator.config.schemas` publishes their JSON Schema
(schemas/*.schema.json), so an editor and the loader apply the same rules. The models are strict
(a number is never read from a string, nor a boolean as a number) and refuse unknown keys.

A field's `description` is its help in an editor and, when a required key is missing, the hint after
"missing; ". `problem_lines` turns a ValidationError into our own lines, `FILE: key.path: what; how
to fix`, every problem of the file at once. Pure: nothing here reads or writes anything.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, PlainValidator, StringConstraints, ValidationError, WithJsonSchema
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import ErrorDetails, PydanticCustomError

from validator.errors import ConfigError

if TYPE_CHECKING:
    from pydantic._internal._core_utils import CoreSchemaOrField

# Patterns of the string types below, with what a value that does not match them is told.
NON_BLANK = r"\S"
NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
ENV_PATTERN = r"^[A-Z_][A-Z0-9_]*$"
JSON_FILE_PATTERN = r"\.json$"
PATTERN_MEANINGS = {
    NON_BLANK: "expected a non-empty string",
    NAME_PATTERN: "{value!r} must be lower-case letters, digits and dashes",
    ENV_PATTERN: "not an environment variable name (A-Z, 0-9, _)",
    JSON_FILE_PATTERN: "an experiment is a Chaos Toolkit .json file",
}

NonBlank = Annotated[str, StringConstraints(pattern=NON_BLANK)]
Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN)]
EnvName = Annotated[str, StringConstraints(pattern=ENV_PATTERN)]
JsonFile = Annotated[str, StringConstraints(pattern=JSON_FILE_PATTERN)]


def problem(what: str) -> PydanticCustomError:
    """A validator's own problem; its text is used as it is."""
    return PydanticCustomError("problem", "{what}", {"what": what})


def kind_of(value: object) -> str:
    if value is None:
        return "nothing"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
    }.get(type(value), type(value).__name__)


def _env_value(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise problem(f"expected a string or number, got {kind_of(value)}; quote it")
    return str(value)


# An environment variable's value: a string, or a number written without quotes (read as its text).
EnvValue = Annotated[str, PlainValidator(_env_value), WithJsonSchema({"type": ["string", "number"]})]
# Environment variables by name. Spelled out for the schema: pydantic's own would list the name
# pattern under patternProperties, which lets any other name through.
EnvMap = Annotated[
    dict[EnvName, EnvValue],
    WithJsonSchema(
        {
            "type": "object",
            "propertyNames": {"pattern": ENV_PATTERN},
            "additionalProperties": {"type": ["string", "number"]},
        }
    ),
]


class StrictModel(BaseModel):
    """The base of every model of a configuration file."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    # What a value of this model is, in "expected NOUN, got a list".
    NOUN: ClassVar[str] = "a mapping"

    @classmethod
    def keys(cls) -> list[str]:
        return [field.alias or name for name, field in cls.model_fields.items()]

    @classmethod
    def unknown_key(cls) -> str:
        """What a key this model does not know is told."""
        return f"unknown key; known keys: {', '.join(cls.keys())}"


def problem_lines(
    error: ValidationError,
    document: type[BaseModel],
    *,
    source: str,
    root: str = "top level",
    prefix: str = "",
) -> list[str]:
    """Every problem of `error` as `SOURCE: key.path: what`. `document` is the model that was
    validated (its fields give the known keys and the hints); `prefix` is where its value sits in
    the file, `root` names the whole file when it is the file itself that is wrong."""
    lines = []
    for detail in error.errors(include_url=False):
        loc = tuple(part for part in detail["loc"] if part != "[key]")
        where = _key_path((prefix, *loc) if prefix else loc) or root
        lines.append(f"{source}: {where}: {_what(detail, document, loc)}")
    return lines


def _key_path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out


def _what(detail: ErrorDetails, document: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    kind, value, ctx = detail["type"], detail["input"], detail.get("ctx", {})
    if kind in ("missing", "too_short"):
        hint = _hint(document, loc)
        said = "missing" if kind == "missing" else "empty"
        return f"{said}; {hint}" if hint else said
    if kind == "extra_forbidden":
        parent = _model_at(document, loc[:-1])
        return parent.unknown_key() if parent else "unknown key"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        model = _model_at(document, loc)
        return f"expected {model.NOUN if model else 'a mapping'}, got {kind_of(value)}"
    if kind == "string_pattern_mismatch":
        meaning = PATTERN_MEANINGS.get(str(ctx.get("pattern")), "does not match {pattern}")
        return meaning.format(value=value, pattern=ctx.get("pattern"))
    if kind == "literal_error":
        field = next((part for part in reversed(loc) if isinstance(part, str)), "value")
        return f"unknown {field} {value!r}; one of {ctx.get('expected')}"
    if kind == "greater_than_equal" and ctx.get("ge") == 0:
        return f"must not be negative, got {value}"
    if kind == "less_than_equal" and ctx.get("le") == 1 and isinstance(value, int | float):
        return f"is a ratio between 0 and 1, got {value} (write {value / 100:g} for {value}%)"
    if kind == "less_than_equal":
        return f"{value} is above the hard maximum {ctx.get('le'):g}"
    wording = {
        "greater_than": f"expected a positive number, got {value!r}",
        "list_type": f"expected a list, got {kind_of(value)}",
        "string_type": f"expected a string, got {kind_of(value)}",
        "int_type": f"expected a whole number, got {kind_of(value)} {value!r}",
        "float_type": f"expected a number, got {kind_of(value)} {value!r}",
        "bool_type": f"expected true or false, got {kind_of(value)} {value!r}",
    }
    return wording.get(kind, detail["msg"])  # else our validators' own text (or pydantic's)


def _hint(document: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    """The description of the field at `loc`: how to give it."""
    parent = _model_at(document, loc[:-1])
    if parent is None or not loc:
        return ""
    field = next((f for name, f in parent.model_fields.items() if (f.alias or name) == loc[-1]), None)
    return (field.description or "") if field else ""


def _model_at(document: type[BaseModel], loc: Sequence[int | str]) -> type[StrictModel] | None:
    """The model class that validates the value at `loc` inside `document` (None: not a model)."""
    current: Any = document
    for part in loc:
        current = _bare(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            fields = {f.alias or name: f for name, f in current.model_fields.items()}
            current = fields[part].annotation if part in fields else None
        elif get_origin(current) is list and isinstance(part, int):
            current = get_args(current)[0]
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return None
    current = _bare(current)
    return current if isinstance(current, type) and issubclass(current, StrictModel) else None


def _bare(annotation: Any) -> Any:
    """`X` of `Annotated[X, ...]` and of `X | None`."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


class _SchemaGenerator(GenerateJsonSchema):
    """Pydantic's JSON Schema without a title on every property (the key is its own title)."""

    def field_title_should_be_set(self, schema: CoreSchemaOrField) -> bool:
        return False


def json_schema(document: type[BaseModel]) -> JsonSchemaValue:
    """The JSON Schema (draft 2020-12) of a file validated by `document`."""
    body = document.model_json_schema(schema_generator=_SchemaGenerator)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **body}


def read_yaml_file(path: Path, *, kind: str, missing_fix: str) -> object:
    """The document of a YAML config file (safe_load only; None when empty). A file that is absent,
    unreadable or not YAML is a ConfigError naming the file (and line:column for a syntax error)."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{kind} file {source} does not exist", where=source, fix=missing_fix) from None
    except OSError as exc:
        raise ConfigError(
            f"{kind} file {source} cannot be read: {exc.strerror}",
            where=source,
            fix="check the path and its permissions",
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        raise ConfigError(
            f"{source}{at}: not valid YAML: {getattr(exc, 'problem', None) or exc}",
            where=source,
            fix="correct the YAML syntax",
        ) from None
