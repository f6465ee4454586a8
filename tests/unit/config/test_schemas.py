"""The published JSON Schemas (schemas/*.schema.json): generated from the config models, never
stale, and they accept and refuse what the loaders do, so an editor pointed at one applies the
loader's own rules."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from validator.config import load_criteria_file
from validator.config.schemas import DOCUMENTS, schema_texts
from validator.config.suite_file import parse_suite
from validator.errors import ConfigError
from validator.safety.allowlist import ContextEntry, Limits, load_allowlist, save_entry

ROOT = Path(__file__).resolve().parents[3]
SCHEMAS = (ROOT / "schemas").resolve()  # a checkout links schemas/ to the bundled ones
SHIPPED = sorted((ROOT / "suites").glob("*.yaml"))
MATRIX = sorted((ROOT / "tests" / "e2e" / "failure_matrix" / "suites").glob("*.yaml"))
NIGHTLY = ROOT / "suites" / "nightly.yaml"
EDITOR_LINE = "# yaml-language-server: $schema=../schemas/suite.schema.json"


def _validator(name: str) -> jsonschema.protocols.Validator:
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _schema_errors(name: str, document: object) -> list[str]:
    errors = _validator(name).iter_errors(document)
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]


@pytest.mark.parametrize("name", list(DOCUMENTS))
def test_published_schema_is_what_the_models_generate(name: str) -> None:
    published = (SCHEMAS / name).read_text(encoding="utf-8")
    assert published == schema_texts()[name], f"schemas/{name} is stale: run `make schemas` and commit it"


@pytest.mark.parametrize("path", SHIPPED + MATRIX, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_every_suite_is_valid_against_the_published_schema(path: Path) -> None:
    assert _schema_errors("suite.schema.json", yaml.safe_load(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_suites_point_editors_at_the_schema(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == EDITOR_LINE
    assert (path.parent / first.split("$schema=")[1]).resolve() == SCHEMAS / "suite.schema.json"


DROP = object()  # as a value: delete the key


def _changed(path: str, value: object) -> dict[str, Any]:
    """The nightly suite with the value at a dotted key path (a number: a list index) set or dropped."""
    raw: dict[str, Any] = yaml.safe_load(NIGHTLY.read_text(encoding="utf-8"))
    *parents, last = (int(p) if p.isdigit() else p for p in path.split("."))
    node: Any = raw
    for part in parents:
        node = node[part]
    if value is DROP:
        del node[last]
    else:
        node[last] = value
    return raw


def _key_path(path: str) -> str:
    """`experiments.0.at` as the loader names it: `experiments[0].at`."""
    return re.sub(r"\.(\d+)", r"[\1]", path)


# Each mistake must be refused by both the published schema and the loader (naming that key).
REFUSED: dict[str, tuple[str, object]] = {
    "unknown top-level key": ("colour", "blue"),
    "context in a suite": ("context", "kwok-validator-sandbox"),
    "unknown experiment key": ("experiments.0.retries", 3),
    "unknown cap": ("load.caps.max_rate", 1),
    "unknown timing key": ("timings.real.warmup", "1m"),
    "cap as a string": ("load.caps.max_users", "ten"),
    "cap as a boolean": ("load.caps.max_users", True),
    "cap above the hard maximum": ("load.caps.max_users", 501),
    "namespaces as a string": ("namespaces", "agents"),
    "no namespaces": ("namespaces", []),
    "missing caps": ("load.caps", DROP),
    "missing real timings": ("timings.real", DROP),
    "missing offset": ("experiments.0.at.real", DROP),
    "unknown profile": ("load.profile", "spiky"),
    "unknown target": ("load.target", "grpc"),
    "not a duration": ("experiments.0.at.sandbox", "soon"),
    "a duration with a space": ("experiments.0.at.sandbox", "5 m"),
    "a negative duration": ("timings.sandbox.settle", -5),
    "a zero load": ("timings.sandbox.load_duration", 0),
    "a zero load with a unit": ("timings.sandbox.load_duration", "0m0s"),
    "a zero step": ("timings.real.step", "0.0s"),
    "time factor as a string": ("timings.sandbox.time_factor", "30"),
    "bad fault name": ("experiments.0.name", "Node Drain"),
    "experiment not json": ("experiments.0.path", "experiments/node-drain.yaml"),
    "lower-case env name": ("experiments.0.env.lower", "x"),
    "env value a list": ("experiments.0.env.VALIDATOR_DRAIN_COUNT", ["1"]),
    "env value a boolean": ("timings.real.env.VALIDATOR_X", True),
    "unknown criterion to judge": ("judge", ["uptime"]),
    "unknown criterion id": ("criteria", {"uptime": {"max": 1}}),
    "unknown threshold": ("criteria", {"recovery_time": {"maximum": 1}}),
    "percentage for a ratio": ("criteria", {"memory_utilization": {"max": 90}}),
    "negative threshold": ("criteria", {"recovery_time": {"max": -1}}),
    "unknown query key": ("criteria", {"cpu_utilization": {"queries": {"cpu": "up"}}}),
    "info as a string": ("criteria", {"cost_efficiency": {"info": "no"}}),
    "other schema": ("schema", "validator.suite/v2"),
}


@pytest.mark.parametrize(("path", "value"), list(REFUSED.values()), ids=list(REFUSED))
def test_schema_and_loader_refuse_the_same_mistakes(path: str, value: object) -> None:
    raw = _changed(path, value)
    assert _schema_errors("suite.schema.json", raw), "the schema accepted it"
    with pytest.raises(ConfigError) as caught:
        parse_suite(raw, source=str(NIGHTLY), root=ROOT)
    assert f"{NIGHTLY}: {_key_path(path)}" in caught.value.what


# Each spelling must be accepted by both.
ACCEPTED: dict[str, tuple[str, object]] = {
    "seconds as a number": ("experiments.0.at.sandbox", 170),
    "fractional seconds": ("experiments.0.at.sandbox", 170.5),
    "minutes and seconds": ("experiments.0.at.sandbox", "2m50s"),
    "fractional minutes": ("timings.real.step", "0.25m"),
    "hours and minutes": ("timings.real.load_duration", "1h30m"),
    "a zero offset": ("experiments.0.at.real", "0s"),
    "a quoted duration with spaces": ("timings.real.settle", " 5m "),
    "a positive duration with zeros": ("timings.real.step", "0.5s"),
    "env value a number": ("experiments.0.env.VALIDATOR_DRAIN_COUNT", 1),
    "null optional block": ("criteria", None),
    "a threshold": ("criteria", {"recovery_time": {"max": 240}, "capacity_forecast": None}),
    "a query": ("criteria", {"cpu_utilization": {"queries": {"cpu_usage_by_agent": "sum(up)"}}}),
    "a hold in one mode": ("experiments.0.hold", {"real": "3m"}),
    "some criteria": ("judge", ["recovery_time", "pdb_respected"]),
    "a default left out": ("timings.sandbox.step", DROP),
}


@pytest.mark.parametrize(("path", "value"), list(ACCEPTED.values()), ids=list(ACCEPTED))
def test_schema_and_loader_accept_the_same_spellings(path: str, value: object) -> None:
    raw = _changed(path, value)
    assert _schema_errors("suite.schema.json", raw) == []
    parse_suite(raw, source=str(NIGHTLY), root=ROOT)


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("criteria:\n  recovery_time: {max: 240}\n  capacity_forecast: {info: false}\n", True),
        ("criteria:\n  pvc_utilization:\n    queries: {pvc_used_bytes: 'sum(x)'}\n", True),
        ("criteria:\n  recovery_tme: {max: 3}\n", False),
        ("criteria:\n  recovery_time: {max: five}\n", False),
        ("criterias: {}\n", False),
    ],
)
def test_criteria_schema_agrees_with_the_loader(tmp_path: Path, text: str, valid: bool) -> None:
    path = tmp_path / "criteria.yaml"
    path.write_text(text, encoding="utf-8")
    assert (_schema_errors("criteria.schema.json", yaml.safe_load(text)) == []) is valid
    if valid:
        load_criteria_file(path)
    else:
        with pytest.raises(ConfigError):
            load_criteria_file(path)


def test_allowlist_schema_accepts_what_allow_writes_and_refuses_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "allow.yaml"
    entry = ContextEntry(
        name="lab",
        server="https://127.0.0.1:6443",
        ca_sha256="ab" * 32,
        namespaces=("agents", "t-*"),
        node_pools=("quality",),
        limits=Limits(max_cordoned_nodes=2, max_workload_share=1.0),
    )
    save_entry(entry, path)
    assert load_allowlist(path) == {"lab": entry}
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert _schema_errors("allowlist.schema.json", raw) == []
    raw["contexts"]["lab"]["colour"] = "red"
    assert _schema_errors("allowlist.schema.json", raw)
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"contexts\.lab\.colour: unknown key"):
        load_allowlist(path)
