"""SIGINT and SIGTERM for the commands that run until stopped (``eventlens local``, ``eventlens demo``).

The handler only notes the signal. It takes no lock, Event or Condition (one the main thread holds
when the signal lands deadlocks it: ``eventlens local`` once hung on ``Event.set()``), and it raises
nothing either: an exception raised from a handler lands wherever the main thread is, say inside a C
extension's import, which turns it into an ImportError and a traceback. The main thread looks at
the note at points of its own (:meth:`StopSignals.check`, :meth:`StopSignals.wait`) and stops there.
"""

from __future__ import annotations

import signal
import time
from types import FrameType

POLL_S = 0.1  # how often a wait looks at the note: the longest a stop waits to be seen


class StopRequested(KeyboardInterrupt):
    """Raised by :meth:`StopSignals.check` once SIGINT or SIGTERM came. A KeyboardInterrupt, so code
    that stops on Ctrl-C stops on SIGTERM alike."""


class StopSignals:
    """The SIGINT and SIGTERM received since :meth:`install`, in order."""

    def __init__(self) -> None:
        self.received: list[str] = []

    def install(self) -> StopSignals:
        """Note SIGINT and SIGTERM here from now on, instead of their default actions."""
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._note)
        return self

    def _note(self, signum: int, _frame: FrameType | None) -> None:
        self.received.append(signal.Signals(signum).name)  # a list append: no lock, nothing raised

    @property
    def requested(self) -> bool:
        return bool(self.received)

    def check(self) -> None:
        """Raise :class:`StopRequested` if a stop was asked for."""
        if self.received:
            raise StopRequested(self.received[0])

    def wait(self, timeout_s: float | None = None) -> bool:
        """Sleep until a stop is asked for (True) or ``timeout_s`` passes (False)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not self.received:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(POLL_S)
        return True
