"""How numbers and scopes read in details and advice."""

from __future__ import annotations

from validator.model import format_rfc3339


def pct(ratio: float) -> str:
    return f"{ratio * 100:.1f}%"


def secs(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds:.0f} s ({seconds / 60:.1f} min)"
    return f"{seconds:.1f} s"


def at(t: float) -> str:
    return format_rfc3339(t)


def num(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e6 else f"{value:.3g}"
