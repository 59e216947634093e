"""Progress of long work on stderr: a tqdm bar on a terminal, a plain line every few seconds otherwise.

A bar redraws itself in place, which a CI log would keep as thousands of carriage-return frames;
so when stderr is no terminal the same figures come as one ordinary line every ``every_s`` seconds,
and one more when the work is done::

    sending events: 412,000/~1,012,000 events (41%), 12,400 events/s, ETA 0:48

The total may be unknown (then no percentage and no ETA) or an estimate that is revised as the
work goes (shown with a ``~``). Updates are thread-safe.
"""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import Any, TextIO


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Count done work toward ``total`` and show it (see the module doc). A context manager."""

    def __init__(
        self,
        desc: str,
        total: float | None = None,
        unit: str = "it",
        stream: TextIO | None = None,
        every_s: float = 10.0,
        estimated: bool = False,
        bar: bool | None = None,
    ) -> None:
        self.desc = desc
        self.unit = unit
        self.total = total
        self.estimated = estimated
        self.done: float = 0
        self.every_s = every_s
        self._stream = stream if stream is not None else sys.stderr
        self._lock = threading.Lock()
        self._started = self._last_line = time.monotonic()
        self._closed = False
        self._bar: Any = None
        if bar if bar is not None else is_terminal(self._stream):
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                desc=desc,
                unit=f" {unit}",
                unit_scale=True,
                file=self._stream,
                dynamic_ncols=True,
                smoothing=0.1,
                mininterval=0.25,
            )

    def update(self, n: float = 1) -> None:
        """``n`` more done."""
        with self._lock:
            self.done += n
            if self._bar is not None:
                self._bar.update(n)
            else:
                self._maybe_line()

    def set(self, done: float) -> None:
        """``done`` so far (for work measured rather than counted, such as rows stored)."""
        with self._lock:
            delta, self.done = done - self.done, done
            if self._bar is not None:
                self._bar.update(delta)
            else:
                self._maybe_line()

    def set_total(self, total: float | None, estimated: bool | None = None) -> None:
        """A new (or better estimated) total."""
        with self._lock:
            self.total = total
            if estimated is not None:
                self.estimated = estimated
            if self._bar is not None:
                self._bar.total = total
                self._bar.refresh()

    def note(self, text: str) -> None:
        """A short status beside the figures (the bar's postfix; the plain lines' tail)."""
        with self._lock:
            self._note = text
            if self._bar is not None:
                self._bar.set_postfix_str(text, refresh=False)

    _note = ""

    def close(self) -> None:
        """Stop showing progress; the plain form prints its last line."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._bar is not None:
                if self.total is not None and self.estimated:
                    self._bar.total = self.done  # an estimate: the work is done when it is
                self._bar.refresh()
                self._bar.close()
            else:
                self._write_line(final=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def line(self, final: bool = False) -> str:
        """The plain form's text of where the work is."""
        elapsed = max(time.monotonic() - self._started, 1e-9)
        rate = self.done / elapsed
        total = self.total
        if final and self.estimated:
            total = self.done
        parts = [f"{self.desc}: {self.done:,.0f}"]
        if total:
            parts[0] += f"/{'~' if self.estimated and not final else ''}{total:,.0f}"
        parts[0] += f" {self.unit}"
        if total:
            parts[0] += f" ({min(self.done / total, 1.0):.0%})"
        parts.append(f"{rate:,.0f} {self.unit}/s")
        if final:
            parts.append(f"done in {_clock(elapsed)}")
        elif total and rate > 0 and total > self.done:
            parts.append(f"ETA {_clock((total - self.done) / rate)}")
        if self._note:
            parts.append(self._note)
        return ", ".join(parts)

    def _maybe_line(self) -> None:
        now = time.monotonic()
        if now - self._last_line >= self.every_s:
            self._last_line = now
            self._write_line()

    def _write_line(self, final: bool = False) -> None:
        self._stream.write(self.line(final) + "\n")
        self._stream.flush()


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def report_stage(desc: str, stream: TextIO | None = None) -> None:
    """One line saying what starts now (stages of unknown length: a migration, a state)."""
    target = stream if stream is not None else sys.stderr
    target.write(f"{desc}\n")
    target.flush()


class StateLog:
    """Tells, on stderr, each state of a state machine as it is entered and how long the one before
    it took: ``pipeline: Train … (Snapshot took 2.1 s)``. Plain lines on a terminal too: a state
    machine has a handful of states, and each line is worth keeping. (The run's summary says how
    long it took in all.)"""

    def __init__(self, prefix: str, stream: TextIO | None = None) -> None:
        self.prefix = prefix
        self.states: list[str] = []
        self._stream = stream if stream is not None else sys.stderr
        self._since = time.monotonic()

    def __call__(self, state: str) -> None:
        now = time.monotonic()
        took = f" ({self.states[-1]} took {now - self._since:.1f} s)" if self.states else ""
        self.states.append(state)
        self._since = now
        self._stream.write(f"{self.prefix}: {state} …{took}\n")
        self._stream.flush()
