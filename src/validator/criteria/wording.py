"""How numbers and scopes read in details and advice."""

from __future__ import annotations

from validator.model import format_rfc3339


def pct(ratio: float) -> str:
    return f"{ratio * 100:.1f}%"


def secs(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds:.0f} s ({seconds / 60:.1f} min)"
    return f"{seconds:.1f} s"


def span(seconds: float) -> str:
    """A long duration in the unit that reads best: 45.0 s, 12.5 min, 5.2 h, 3.1 days."""
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def at(t: float) -> str:
    return format_rfc3339(t)


def num(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e6 else f"{value:.3g}"


def first_few(names: list[str], shown: int = 3) -> str:
    """`a, b, c and 4 more`: the first names of a long list, and how many are left out."""
    left = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {left} more" if left > 0 else "")
