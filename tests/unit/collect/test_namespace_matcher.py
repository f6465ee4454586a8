"""The namespace matcher is valid PromQL for names with dashes (a regex escape in a PromQL string)."""

from __future__ import annotations

from validator.collect.prometheus import namespace_matcher
from validator.criteria.promql import syntax_problems


def test_dashes_are_escaped_for_promql_strings() -> None:
    matcher = namespace_matcher(["workflow-system", "agents"])
    assert matcher == 'namespace=~"agents|workflow\\\\-system"'
    assert not syntax_problems(f"up{{{matcher}}}")


def test_one_or_no_namespace() -> None:
    assert namespace_matcher(["workflow-system"]) == 'namespace="workflow-system"'
    assert namespace_matcher([]) == ""
