"""A progress bar on stderr for work that takes a while: scoring a file, recording forms from
one, an export. Drawn only when stderr is a terminal, so that a log or a pipe never holds it,
and never on stdout, which may be data.

The bar is a :data:`nefkit.engines.Progress` (called with how many rows are done) and so can
be handed to an engine as it is.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Optional, TextIO

import click

if TYPE_CHECKING:
    from ..registry import Registry

BAR = 24  # characters between the brackets
INTERVAL = 0.2  # seconds between redraws at most: a terminal need not see more
WAIT = 1.0  # seconds of work before a time left is worth estimating


class ProgressBar:
    """``label [#####-----]  42%  4,200 of 10,000 rows  12 s left`` on one line of stderr,
    redrawn as it is called, cleared by :meth:`close` (and at the end of a ``with`` block).

    ``total`` is an estimate (a reader's count from a sample of the file): while ``done``
    has not reached it the bar shows the share done and the time left at the rate so far;
    past it, only the count, and the percent stays below 100 until :meth:`finish`. Without a
    total: the count and the time taken. ``unit`` "" leaves the counts out (work measured in
    steps that mean nothing to a reader)."""

    def __init__(
        self,
        label: str,
        total: Optional[int] = None,
        unit: str = "rows",
        *,
        stream: Optional[TextIO] = None,
        clock: Callable[[], float] = time.monotonic,
        enabled: Optional[bool] = None,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream or sys.stderr
        self.clock = clock
        self.enabled = _is_terminal(self.stream) if enabled is None else enabled
        self.started = clock()
        self.done = 0
        self.finished = False
        self._shown = ""  # what the terminal's line holds now
        self._drawn_at: Optional[float] = None
        # An engine may report from a thread of its own (DuckDB's progress is polled).
        self._lock = threading.Lock()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, done: int, total: Optional[int] = None) -> None:
        """``done`` rows (or steps) so far; ``total``, if given, replaces the estimate."""
        if not self.enabled:
            return
        with self._lock:
            if total is not None:
                self.total = total
            self.done = max(self.done, done)  # progress never runs backwards on screen
            now = self.clock()
            if self._drawn_at is None or now - self._drawn_at >= INTERVAL:
                self._draw(self.line(now), now)

    def line(self, now: Optional[float] = None) -> str:
        """The bar's text at ``now`` (the clock's time; default: now)."""
        elapsed = (self.clock() if now is None else now) - self.started
        done, total = self.done, self.total
        if total is None or total <= 0:
            count = f"  {done:,} {self.unit}" if self.unit else ""
            return f"{self.label}{count}  {_duration(elapsed)} so far"
        if self.finished:
            share = 1.0
        else:
            share = min(done / total, 0.99)  # work is left until it is finished
        filled = int(BAR * share)
        text = f"{self.label} [{'#' * filled}{'-' * (BAR - filled)}] {math.floor(100 * share):3d}%"
        if self.unit:
            text += (
                f"  {done:,} of {total:,} {self.unit}"
                if done <= total
                else f"  {done:,} {self.unit}"
            )
        if not self.finished and 0 < done < total and elapsed >= WAIT:
            # Rounded up: "0 s left" would be said while work is left.
            text += f"  {_duration(math.ceil(elapsed * (total - done) / done))} left"
        return text

    def finish(self, done: Optional[int] = None) -> None:
        """The work is done (``done``: what it came to, default what was last reported): the
        bar is shown full, then cleared."""
        if not self.enabled:
            return
        with self._lock:
            self.finished = True
            if done is not None:
                self.done = done
            if self.total is not None:  # what it came to, in the place of the estimate
                self.total = self.done
            if self._drawn_at is not None:
                self._draw(self.line(), self.clock())
        self.close()

    def close(self) -> None:
        """Clear the bar's line, leaving the cursor at its start for what is printed next."""
        with self._lock:
            if self._shown:
                click.echo("\r" + " " * len(self._shown) + "\r", file=self.stream, nl=False)
                self._shown = ""

    def _draw(self, text: str, now: float) -> None:
        text = text[: _columns(self.stream) - 1]  # a wrapped line could not be redrawn
        if text != self._shown:
            padding = " " * max(0, len(self._shown) - len(text))
            click.echo("\r" + text + padding, file=self.stream, nl=False)
            self._shown = text
        self._drawn_at = now


def expected_rows(registry: Registry, data: Path, input_format: Optional[str]) -> Optional[int]:
    """About how many rows ``data`` holds (its reader's quick estimate), as a bar's total;
    None when the reader cannot tell."""
    return registry.blamed_reader(data, input_format).count_rows(data)


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no such method, or closed
        return False


def _columns(stream: TextIO) -> int:
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        columns = 0
    return columns or 80  # a terminal that does not say its size says 0
