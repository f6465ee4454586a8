"""Signals during a run: SIGTERM and SIGHUP raise KeyboardInterrupt in the main thread (like Ctrl-C),
once; afterwards every signal only warns, so the rollbacks and the evidence are always finished."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from rich.console import Console

SignalHandler = Callable[[int, FrameType | None], object] | int | None


class Interrupts:
    """The run's signal handlers, installed for the run's span and restored after it."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.received: list[str] = []
        self.shielded = False
        self._previous: dict[int, SignalHandler] = {}

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            self._previous[signum] = signal.getsignal(signum)
            signal.signal(signum, self._handle)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._previous.clear()

    @property
    def interrupted(self) -> bool:
        return bool(self.received)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        self.received.append(name)
        if self.shielded or len(self.received) > 1:
            self.console.print(f"[yellow]{name} received: finishing rollbacks, evidence and reports first[/]")
            return
        self.console.print(
            f"[yellow]{name} received: stopping the load, rolling back, writing the reports[/]"
        )
        raise KeyboardInterrupt(name)

    @contextmanager
    def shield(self) -> Iterator[None]:
        """No KeyboardInterrupt from a signal inside the block (it is recorded)."""
        before = self.shielded
        self.shielded = True
        try:
            yield
        finally:
            self.shielded = before
