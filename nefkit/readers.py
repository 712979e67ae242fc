"""The contract a reader fulfils: a data file in, a header and numbered rows of raw cells out.

Readers are plugins (``nefkit_csv``, ``nefkit_json``, ``nefkit_excel``); the core never opens a
data file itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar


@dataclass
class Table:
    """A data file as read: column names, then (file row number, cells) pairs.

    Row numbers are what a person sees when opening the file (the header is row 1 of a CSV or
    sheet; JSON Lines count lines), so that a problem can be found. Cells are raw: text from a
    CSV, native values (numbers, dates, lists) from richer formats; blanks are None or "".
    """

    path: str
    columns: list[str]
    rows: Iterator[tuple[int, list[Any]]]


class Reader(ABC):
    format: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]]
    summary: ClassVar[str]

    @abstractmethod
    def read(self, path: Path) -> Table:
        """Open ``path``; rows are read lazily as the table's iterator is consumed. Raise
        :class:`nefkit.NefkitError` with a plain message for a file that cannot be read."""
