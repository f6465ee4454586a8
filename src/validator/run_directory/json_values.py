"""Reading loosely typed JSON values (Kubernetes objects, Chaos Toolkit journals) without trusting
their shape: a wrong type reads as empty, an unreadable time as None."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import msgspec

from validator.model import parse_rfc3339

_DECODER = msgspec.json.Decoder()


def decode_line(text: str | bytes) -> Any:
    """One JSON document, parsed by msgspec (several times faster than the standard library on
    the recorder's lines). What msgspec refuses (NaN literals, which Python's json writes) is read
    by the standard library, whose error is the one raised (a ValueError)."""
    try:
        return _DECODER.decode(text)
    except msgspec.DecodeError:
        return json.loads(text)


def as_map(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def timestamp(value: object) -> float | None:
    """Epoch seconds of a Kubernetes or Chaos Toolkit timestamp; naive times are UTC."""
    if not isinstance(value, str) or not value:
        return None
    return _timestamp(value)


@lru_cache(maxsize=8192)  # an object's timestamps repeat on every line about it
def _timestamp(value: str) -> float | None:
    text = value.strip()
    try:
        return parse_rfc3339(text)
    except ValueError:
        try:
            return parse_rfc3339(text + "Z")
        except ValueError:
            return None


def numbered_lines(path: Path) -> Iterator[tuple[int, str, bool]]:
    """(1-based number, text, is_last) for each non-blank line, streaming."""
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        previous: tuple[int, str] | None = None
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            if previous is not None:
                yield previous[0], previous[1], False
            previous = (number, line)
        if previous is not None:
            yield previous[0], previous[1], True
