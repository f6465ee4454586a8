"""Time windows and the one RFC 3339 format used on disk (UTC, ending in `Z`).

Times inside the model are epoch seconds as floats: the base unit of every criterion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


def parse_rfc3339(text: str) -> float:
    """Epoch seconds of an RFC 3339 timestamp (`2026-11-20T02:00:00Z`, offsets allowed).

    Raises ValueError (with the text) when it is not a timestamp with a time zone.
    """
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone; write it in UTC with a trailing Z")
    return parsed.timestamp()


def format_rfc3339(epoch_seconds: float) -> str:
    """`2026-11-20T02:00:00Z`, with milliseconds only when the time has them."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    if moment.microsecond:
        millis = round(moment.microsecond / 1000)
        if millis == 1000:
            return format_rfc3339(float(round(epoch_seconds)))
        return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeWindow:
    """A half-open span [start, end) in epoch seconds."""

    start: float
    end: float

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(
                f"window ends ({format_rfc3339(self.end)}) before it starts ({format_rfc3339(self.start)})"
            )

    @property
    def duration(self) -> float:
        return self.end - self.start

    def contains(self, t: float) -> bool:
        return self.start <= t < self.end

    def overlaps(self, other: TimeWindow) -> bool:
        return self.start < other.end and other.start < self.end

    def clip(self, other: TimeWindow) -> TimeWindow | None:
        """The part of `other` inside this window, or None when they do not overlap."""
        start = max(self.start, other.start)
        end = min(self.end, other.end)
        if end <= start:
            return None
        return TimeWindow(start=start, end=end)

    def widened(self, *, after: float = 0.0, before: float = 0.0) -> TimeWindow:
        return TimeWindow(start=self.start - before, end=self.end + after)

    def render(self) -> dict[str, str]:
        return {"start": format_rfc3339(self.start), "end": format_rfc3339(self.end)}
