"""Kubernetes label selectors: the one implementation every part of the validator matches with.

Two forms, one meaning (Kubernetes' own, `metav1.LabelSelectorAsSelector` and `labels.Parse`):

- the API object (`{"matchLabels": {...}, "matchExpressions": [...]}`, as a PodDisruptionBudget,
  a Deployment or a StatefulSet carries it). A *null* selector (absent, `None`) selects nothing;
  an *empty* one (`{}`) selects everything. `matchLabels` entries are `In` requirements;
- the string form of `kubectl -l` and `?labelSelector=`: `a=b`, `a==b`, `a!=b`, `a in (x,y)`,
  `a notin (x,y)`, `a` (exists), `!a` (does not exist), joined by commas. The empty string
  selects everything.

`NotIn` and `!=` also select objects that lack the key, as Kubernetes does. Pure: no IO.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Operator = Literal["In", "NotIn", "Exists", "DoesNotExist"]
OPERATORS: tuple[Operator, ...] = ("In", "NotIn", "Exists", "DoesNotExist")

# a label key: optional DNS-subdomain prefix and a name of at most 63 characters
_KEY_RE = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE_RE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


@dataclass(frozen=True, slots=True)
class Requirement:
    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "In":
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":
            return not present or labels[self.key] not in self.values
        if self.operator == "Exists":
            return present
        return not present

    def render(self) -> str:
        if self.operator == "Exists":
            return self.key
        if self.operator == "DoesNotExist":
            return f"!{self.key}"
        if self.operator == "In" and len(self.values) == 1:
            return f"{self.key}={self.values[0]}"
        word = "in" if self.operator == "In" else "notin"
        return f"{self.key} {word} ({','.join(self.values)})"


@dataclass(frozen=True, slots=True)
class LabelSelector:
    """A parsed selector. `nothing` marks the null selector, which selects no object at all."""

    requirements: tuple[Requirement, ...] = ()
    nothing: bool = False

    # -- construction ----------------------------------------------------------------------------

    @classmethod
    def everything(cls) -> LabelSelector:
        return cls()

    @classmethod
    def none(cls) -> LabelSelector:
        return cls(nothing=True)

    @classmethod
    def equal(cls, labels: Mapping[str, str]) -> LabelSelector:
        """The selector `k1=v1,k2=v2` (a matchLabels map)."""
        return cls(tuple(Requirement(str(k), "In", (str(v),)) for k, v in sorted(labels.items())))

    @classmethod
    def from_api(cls, selector: object) -> LabelSelector:
        """A metav1.LabelSelector as JSON (camelCase) or as the Python client's dict (snake_case).

        None selects nothing, `{}` everything. Raises ValueError naming what is malformed."""
        if selector is None:
            return cls.none()
        if not isinstance(selector, Mapping):
            raise ValueError(f"a label selector is a mapping, not {type(selector).__name__}")
        match_labels = selector.get("matchLabels", selector.get("match_labels")) or {}
        expressions = selector.get("matchExpressions", selector.get("match_expressions")) or []
        if not isinstance(match_labels, Mapping):
            raise ValueError("matchLabels must be a mapping of label key to value")
        if not isinstance(expressions, list):
            raise ValueError("matchExpressions must be a list")
        out = [Requirement(str(k), "In", (str(v),)) for k, v in match_labels.items()]
        for index, expression in enumerate(expressions):
            if not isinstance(expression, Mapping):
                raise ValueError(f"matchExpressions[{index}] must be a mapping")
            key = str(expression.get("key") or "")
            operator = expression.get("operator")
            values = tuple(str(v) for v in expression.get("values") or ())
            if not key:
                raise ValueError(f"matchExpressions[{index}].key is missing")
            if operator not in OPERATORS:
                raise ValueError(
                    f"matchExpressions[{index}].operator {operator!r} is not one of {', '.join(OPERATORS)}"
                )
            if operator in ("In", "NotIn") and not values:
                raise ValueError(f"matchExpressions[{index}]: operator {operator} needs values")
            if operator in ("Exists", "DoesNotExist") and values:
                raise ValueError(f"matchExpressions[{index}]: operator {operator} takes no values")
            out.append(Requirement(key, operator, values))
        return cls(tuple(out))

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        """The string form (`kubectl -l`). Raises ValueError saying which part is malformed."""
        requirements: list[Requirement] = []
        for part in _split_top_level(text):
            requirements.append(_parse_requirement(part))
        return cls(tuple(requirements))

    # -- use -------------------------------------------------------------------------------------

    def matches(self, labels: Mapping[str, str]) -> bool:
        if self.nothing:
            return False
        return all(r.matches(labels) for r in self.requirements)

    @property
    def is_everything(self) -> bool:
        return not self.nothing and not self.requirements

    def render(self) -> str:
        """The string form for `?labelSelector=` (the null selector has none: ValueError)."""
        if self.nothing:
            raise ValueError("the null selector selects nothing and has no string form")
        return ",".join(r.render() for r in self.requirements)

    def equalities(self) -> dict[str, str]:
        """The `key=value` requirements as a map (for label filters that only know equality)."""
        return {r.key: r.values[0] for r in self.requirements if r.operator == "In" and len(r.values) == 1}

    def __str__(self) -> str:
        if self.nothing:
            return "<selects nothing>"
        return self.render() or "<selects everything>"


def selects(selector: object, labels: Mapping[str, str]) -> bool:
    """`LabelSelector.from_api(selector).matches(labels)`; a malformed selector selects nothing."""
    try:
        return LabelSelector.from_api(selector).matches(labels)
    except ValueError:
        return False


def _split_top_level(text: str) -> Iterable[str]:
    """Split on commas that are not inside `( )`; the empty string has no parts."""
    if not text.strip():
        return []
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    parts.append("".join(current).strip())
    return parts


_SET_RE = re.compile(r"^(?P<key>\S+)\s+(?P<op>in|notin)\s*\((?P<values>[^()]*)\)$")


def _check_key(key: str, part: str) -> str:
    if not _KEY_RE.match(key) or len(key.rsplit("/", 1)[-1]) > 63:
        raise ValueError(f"`{part}`: {key!r} is not a valid label key")
    return key


def _check_value(value: str, part: str) -> str:
    if not _VALUE_RE.match(value) or len(value) > 63:
        raise ValueError(f"`{part}`: {value!r} is not a valid label value")
    return value


def _parse_requirement(part: str) -> Requirement:
    if not part:
        raise ValueError("an empty requirement (two commas in a row, or a trailing comma)")
    found = _SET_RE.match(part)
    if found:
        values = tuple(_check_value(v.strip(), part) for v in found["values"].split(",") if v.strip())
        if not values:
            raise ValueError(f"`{part}`: a set needs at least one value")
        operator: Operator = "In" if found["op"] == "in" else "NotIn"
        return Requirement(_check_key(found["key"], part), operator, tuple(sorted(set(values))))
    for token, operator in (("!=", "NotIn"), ("==", "In"), ("=", "In")):
        if token in part:
            key, _, value = part.partition(token)
            return Requirement(_check_key(key.strip(), part), operator, (_check_value(value.strip(), part),))
    if part.startswith("!"):
        return Requirement(_check_key(part[1:].strip(), part), "DoesNotExist")
    return Requirement(_check_key(part, part), "Exists")
