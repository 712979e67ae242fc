"""The DuckDB engine's progress, told as rows scored (:data:`nefkit.engines.Progress`).

Where rows are fetched, the engine counts them. Where DuckDB writes the file itself (``COPY``)
no row passes through Python; there DuckDB's own estimate of a query's progress (a percent,
``query_progress``, which may be asked from another thread while the query runs) is polled
from a thread of its own and turned into rows with the reader's estimate of the file's rows.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Optional

from nefkit.engines import Progress

POLL = 0.1  # seconds between asking DuckDB; the bar on screen redraws less often
THREAD = "nefkit-duckdb-progress"


def enable(con: Any) -> None:
    """Have DuckDB keep track of a connection's (or cursor's: each its own) query progress,
    without printing its own bar. Off by default in Python, and query_progress then says -1."""
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")


class QueryProgress:
    """Reports the share of the work done as rows, to ``progress``: ``rows`` (the reader's
    estimate) times the share. A stage of the work (:meth:`watching`) stands for a part of it,
    from ``start`` to ``end`` (0 to 1)."""

    def __init__(self, progress: Optional[Progress], rows: Optional[int]) -> None:
        self.progress = progress
        self.rows = rows
        self.reported = 0

    @property
    def active(self) -> bool:
        return self.progress is not None and bool(self.rows)

    def report(self, share: float) -> None:
        if not self.active:
            return
        rows = round(self.rows * min(share, 1.0))
        if rows > self.reported:
            self.reported = rows
            self.progress(rows)

    @contextmanager
    def watching(self, cons: Sequence[Any], start: float, end: float) -> Iterator[None]:
        """While the block runs, the queries on ``cons`` (connections or cursors, each
        enabled and running one query: several run side by side, on pieces of about the
        same size) are polled; the stage then counts as done. The polling thread always
        stops before the block is left, even on an error or Ctrl-C, so that it never asks a
        connection that is being closed."""
        if not self.active:
            yield
            return
        stop = threading.Event()
        thread = threading.Thread(
            target=self._poll, args=(cons, start, end, stop), name=THREAD, daemon=True
        )
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
        self.report(end)

    def _poll(self, cons: Sequence[Any], start: float, end: float, stop: threading.Event) -> None:
        # Each query's highest percent: it says -1 again once its query is over.
        highest = [0.0] * len(cons)
        while not stop.wait(POLL):
            try:
                for k, con in enumerate(cons):
                    highest[k] = max(highest[k], con.query_progress())
                self.report(start + (end - start) * sum(highest) / (100 * len(cons)))
            except Exception:  # a bar is never worth failing the work for: stop polling
                return
