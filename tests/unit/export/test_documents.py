"""The OpenSearch documents (export/documents.py, pure) against the recorded document schema and index
mapping (bundled/schemas/opensearch-*.json). No OpenSearch server is available here: these documents
are checked against the recorded schema, not indexed into a real server (docs/export.md)."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

import jsonschema
import pytest

from tests.support import synthetic_run
from validator.export.documents import DOCUMENT_SCHEMA, documents
from validator.export.opensearch import index_mapping
from validator.export.series import identity
from validator.model import CriterionOutcome, Result, Verdict
from validator.resources import bundled


def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads((bundled("schemas") / DOCUMENT_SCHEMA).read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _errors(document: object) -> list[str]:
    return [e.message for e in _validator().iter_errors(document)]


def _docs() -> list[Any]:
    summary, evidence = synthetic_run.summary_and_evidence()
    return documents(summary, evidence, identity(evidence))


def test_every_document_of_a_run_matches_the_recorded_schema() -> None:
    docs = _docs()
    summary, _ = synthetic_run.summary_and_evidence()
    assert docs[0].body["doc_type"] == "run"
    assert len(docs) == 1 + sum(len(c.results) for c in summary.criteria)
    for doc in docs:
        assert _errors(doc.body) == [], doc.id
        json.dumps(doc.body, allow_nan=False)  # what the bulk request sends


def test_ids_are_stable_and_unique_so_a_second_indexing_replaces_the_first() -> None:
    first, second = _docs(), _docs()
    assert [d.id for d in first] == [d.id for d in second]
    assert len({d.id for d in first}) == len(first)


def test_a_run_document_holds_its_fault_windows_and_a_result_its_scope() -> None:
    docs = _docs()
    run = docs[0].body
    assert run["suite"] == "nightly" and run["verdict"] == "fail"
    assert [(f["fault"], f["kind"]) for f in run["faults"]] == [
        ("node-drain", "drain"), ("memory-pressure", "memory-pressure")
    ]
    assert run["faults"][0]["end"] == "2026-11-27T08:34:00Z"  # the rollback's end, not the injection's
    recovery = [d.body for d in docs if d.body.get("criterion") == "recovery_time"]
    assert {(d["scope"], d["value"], d["unit"]) for d in recovery} == {
        ("fault=node-drain", 95.0, "seconds"), ("fault=memory-pressure", 130.0, "seconds")
    }
    assert recovery[0]["thresholds"] == [{"bound": "max", "value": 300.0}]
    assert recovery[0]["scope_labels"] == ["fault=node-drain"]


def test_an_inconclusive_or_non_finite_value_is_null_and_a_secret_never_indexed() -> None:
    summary, evidence = synthetic_run.summary_and_evidence()
    odd = CriterionOutcome(
        id="odd",
        verdict=Verdict.PASS,
        results=(
            Result(criterion="odd", scope={"agent": "rex"}, verdict=Verdict.PASS, value=math.nan,
                   detail=f"read from {synthetic_run.SECRET_URL}"),
            Result(criterion="odd", scope={"agent": "tess"}, verdict=Verdict.INCONCLUSIVE, detail="no data"),
        ),
    )
    docs = documents(replace(summary, criteria=(odd,)), evidence, identity(evidence))
    assert [d.body["value"] for d in docs[1:]] == [None, None]
    assert "s3cr3t-pw" not in json.dumps([d.body for d in docs])
    assert all(_errors(d.body) == [] for d in docs)


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"surprise": 1}, "an unknown field"),
        ({"verdict": "passed"}, "a verdict that does not exist"),
        ({"timestamp": "2026-11-27 08:00"}, "a timestamp that is not RFC 3339 UTC"),
        ({"value": "95"}, "a value that is not a number"),
    ],
)
def test_the_schema_rejects_a_malformed_document(change: dict[str, object], where: str) -> None:
    result = next(d.body for d in _docs() if d.body["doc_type"] == "result")
    assert _errors(result) == []
    assert _errors({**result, **change}) != [], where


def _schema_fields(schema: dict[str, Any]) -> dict[str, Any]:
    defs = schema["$defs"]
    fields: dict[str, Any] = {}
    for name in ("common", "run", "result"):
        fields.update(defs[name]["properties"])
    return fields


MAPPED = {"keyword", "text", "date", "double", "integer", "boolean", "nested"}


def test_the_index_mapping_maps_every_schema_field_with_a_matching_type() -> None:
    """`dynamic: strict`: a field the mapping lacks would make OpenSearch refuse every document."""
    schema = json.loads((bundled("schemas") / DOCUMENT_SCHEMA).read_text(encoding="utf-8"))
    mapping = index_mapping()["mappings"]
    assert mapping["dynamic"] == "strict"
    properties = mapping["properties"]
    fields = _schema_fields(schema)
    assert set(properties) == set(fields)
    for doc in _docs():
        for key, value in doc.body.items():
            kind = properties[key]["type"]
            assert kind in MAPPED
            if kind in ("double", "integer"):
                assert value is None or isinstance(value, int | float), key
            elif kind == "boolean":
                assert isinstance(value, bool), key
            elif kind == "nested":
                assert isinstance(value, list), key
                for item in value:
                    assert set(item) <= set(properties[key]["properties"]), key
            else:  # keyword, text, date: strings (or lists of them)
                items = value if isinstance(value, list) else [value]
                assert all(isinstance(i, str) for i in items), key
