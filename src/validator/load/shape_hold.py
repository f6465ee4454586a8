"""Holding the load's shape while a fault overruns its slot, from the suite run's side.

A suite places each fault at a point of the load's profile (`at`: seconds after the load started)
and runs its experiments one after another. When an experiment takes longer than the suite gave it
(a 1,000-node cluster's probes are slow, a real drain waits for its pods), the next fault would
start late, at a different point of the profile, or after the load has ended, with nothing left
to judge it by. So while an experiment runs past the next fault's point (or past the load's end),
the load's profile stands still: Locust keeps the users it has, and the profile resumes, where it
stopped, once the experiment is over. The next fault then meets the load it was planned for, and
the load lasts longer by the time held.

The state is a small JSON file in the run directory's `load/` that the locustfile reads every tick
(`loadprofiles/shape_curves.seconds_held`): `{"held_s": seconds held and released, "since": epoch
seconds a hold in progress began, or null}`. Never more than `max_hold_s` in all: past it, the
profile resumes on its own (Locust's --run-time is sized for it).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from validator.run_directory.layout import write_json_atomically

HOLD_FILE = "shape_hold.json"


@dataclass(slots=True)
class HeldSpan:
    """One experiment's hold: how long the profile stood still for it (0 when it kept its slot)."""

    seconds: float = 0.0
    reached_max: bool = False


class ShapeHold:
    """The hold file's writer. Thread-safe: a timer thread starts a hold, the main thread ends it."""

    def __init__(self, path: Path, max_hold_s: float) -> None:
        self.path = path
        self.max_hold_s = max(0.0, max_hold_s)
        self._held_s = 0.0
        self._since: float | None = None
        self._lock = threading.Lock()

    def held_s(self, now: float | None = None) -> float:
        """Seconds the profile has been held so far (the locustfile computes the same)."""
        with self._lock:
            return self._total(time.time() if now is None else now)

    def _total(self, now: float) -> float:
        total = self._held_s + (max(0.0, now - self._since) if self._since is not None else 0.0)
        return min(total, self.max_hold_s)

    def _write(self) -> None:
        write_json_atomically(self.path, {"held_s": self._held_s, "since": self._since})

    def hold(self, now: float | None = None) -> None:
        with self._lock:
            if self._since is None and self.max_hold_s > 0:
                self._since = time.time() if now is None else now
                self._write()

    def release(self, now: float | None = None) -> float:
        """Ends a hold in progress; the seconds it held (0 when none was in progress)."""
        with self._lock:
            if self._since is None:
                return 0.0
            moment = time.time() if now is None else now
            before = self._total(self._since)
            self._held_s = self._total(moment)
            self._since = None
            self._write()
            return self._held_s - before

    @contextmanager
    def from_moment(self, when: float) -> Iterator[HeldSpan]:
        """Holds the profile from `when` (epoch seconds; at once if past) until the block ends."""
        span = HeldSpan()
        timer = threading.Timer(max(0.0, when - time.time()), self.hold)
        timer.daemon = True
        timer.start()
        try:
            yield span
        finally:
            timer.cancel()
            timer.join()
            span.seconds = self.release()
            span.reached_max = span.seconds > 0 and self.held_s() >= self.max_hold_s
