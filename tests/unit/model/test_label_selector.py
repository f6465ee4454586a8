"""The one label-selector implementation: both forms, Kubernetes' semantics for null and empty."""

from __future__ import annotations

import pytest

from validator.model.label_selector import LabelSelector, Requirement, selects

API_CASES = [
    # the rehearsal planner's former table, unchanged
    ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
    ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"}, True),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {"a": "1"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {}, False),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {}, True),
    (None, {"a": "1"}, False),  # null selects nothing
    # Kubernetes' meanings the three former matchers disagreed on
    ({}, {"a": "1"}, True),  # empty selects everything
    ({}, {}, True),
    ({"matchLabels": {}}, {"x": "y"}, True),
    ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),  # absent key
    ({"match_labels": {"a": "1"}, "match_expressions": None}, {"a": "1"}, True),  # Python client dicts
    (
        {"matchLabels": {"a": "1"}, "matchExpressions": [{"key": "b", "operator": "Exists"}]},
        {"a": "1"},
        False,
    ),
]


@pytest.mark.parametrize(("selector", "labels", "expected"), API_CASES)
def test_api_form(selector: object, labels: dict[str, str], expected: bool) -> None:
    assert LabelSelector.from_api(selector).matches(labels) is expected


STRING_CASES = [
    ("", {"a": "1"}, True),
    ("a=1", {"a": "1"}, True),
    ("a==1", {"a": "1"}, True),
    ("a!=1", {}, True),
    ("a!=1", {"a": "1"}, False),
    ("a in (1, 2)", {"a": "2"}, True),
    ("a notin (1,2)", {"a": "3"}, True),
    ("a notin (1,2)", {}, True),
    ("a", {"a": ""}, True),
    ("!a", {"a": "x"}, False),
    (
        "app.kubernetes.io/name=rex,statefulset.kubernetes.io/pod-name",
        {"app.kubernetes.io/name": "rex"},
        False,
    ),
    (
        "app.kubernetes.io/name=rex,statefulset.kubernetes.io/pod-name",
        {"app.kubernetes.io/name": "rex", "statefulset.kubernetes.io/pod-name": "rex-0"},
        True,
    ),
]


@pytest.mark.parametrize(("text", "labels", "expected"), STRING_CASES)
def test_string_form(text: str, labels: dict[str, str], expected: bool) -> None:
    assert LabelSelector.parse(text).matches(labels) is expected


@pytest.mark.parametrize("text", ["a=1", "a!=1", "a in (1,2)", "a notin (x)", "a", "!a", "a=1,b in (x,y),!c"])
def test_string_form_round_trips(text: str) -> None:
    selector = LabelSelector.parse(text)
    assert LabelSelector.parse(selector.render()) == selector


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("a=1,", "empty requirement"),
        ("a in ()", "at least one value"),
        ("=1", "not a valid label key"),
        ("a=b c", "not a valid label value"),
    ],
)
def test_malformed_strings_say_what(text: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        LabelSelector.parse(text)


@pytest.mark.parametrize(
    ("selector", "why"),
    [
        ({"matchExpressions": [{"key": "a", "operator": "Equals", "values": ["1"]}]}, "operator"),
        ({"matchExpressions": [{"key": "a", "operator": "In"}]}, "needs values"),
        ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["1"]}]}, "takes no values"),
        ("app=rex", "mapping"),
    ],
)
def test_malformed_api_selectors(selector: object, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        LabelSelector.from_api(selector)
    assert selects(selector, {"app": "rex", "a": "1"}) is False


def test_the_null_selector_has_no_string_form() -> None:
    with pytest.raises(ValueError, match="selects nothing"):
        LabelSelector.none().render()
    assert LabelSelector.equal({"b": "2", "a": "1"}).render() == "a=1,b=2"
    assert Requirement("a", "In", ("1", "2")).render() == "a in (1,2)"
