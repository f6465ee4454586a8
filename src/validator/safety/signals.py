"""Rollbacks always run: SIGINT, SIGTERM and SIGHUP interrupt the injection, never the rollback.

Chaos Toolkit turns a KeyboardInterrupt into an `interrupted` run and then plays the rollbacks
(with the `always` strategy), but a KeyboardInterrupt raised *during* the rollbacks makes it skip
the remaining ones, and its own SIGTERM handler only fails the running activity. So, once
installed (by our control, inside the Chaos Toolkit run), the first of these signals raises
KeyboardInterrupt while the experiment is injecting, and is only recorded once rollbacks have
started; every later signal only prints a warning.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


@dataclass
class RollbackSignals:
    """Signal policy of one run. `phase` is `inject` until `rolling_back()` is called."""

    warn: Callable[[str], None] = field(default=lambda m: print(f"validator: {m}", file=sys.stderr,
                                                                  flush=True))
    phase: str = "inject"
    received: list[int] = field(default_factory=list)
    _previous: dict[int, Handler] = field(default_factory=dict)

    @property
    def interrupted(self) -> bool:
        return bool(self.received)

    def install(self) -> bool:
        """Install the handlers; False (nothing done) outside the main thread."""
        if threading.current_thread() is not threading.main_thread():
            return False
        for signum in HANDLED:
            self._previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._handle)
        return True

    def restore(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._previous.clear()

    def rolling_back(self) -> None:
        self.phase = "rollback"

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        first = not self.received
        self.received.append(signum)
        if not first:
            self.warn(f"{name} received again: rollbacks are still running and will finish; "
                      "use `validator recover` only if this process is killed")
            return
        if self.phase == "rollback":
            self.warn(f"{name} received during rollbacks: finishing them first")
            return
        self.warn(f"{name} received: stopping the injection and running every rollback")
        raise KeyboardInterrupt(name)
