"""The contract a reader fulfils: a data file in, a header and numbered rows of raw cells out.

Readers are plugins (``nefkit_csv``, ``nefkit_json``, ``nefkit_excel``); the core never opens a
data file itself.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Optional

from .errors import NefkitError

if TYPE_CHECKING:
    from .definitions.problems import Problem


@dataclass
class Table:
    """A data file as read: column names, then (file row number, cells) pairs.

    Row numbers are what a person sees when opening the file (the header is row 1 of a CSV or
    sheet; JSON Lines count lines), so that a problem can be found. Cells are raw: text from a
    CSV, native values (numbers, dates, lists) from richer formats; blanks are None or ""; a
    cell the reader cannot give a value for is an :class:`Unreadable`.
    """

    path: str
    columns: list[str]
    rows: Iterator[tuple[int, list[Any]]]


@dataclass(frozen=True)
class Unreadable:
    """A cell that holds something the reader cannot give a value for, such as a spreadsheet
    formula that was never calculated. nefkit reports it with its row and column and marks the
    row invalid: it is never taken for a blank (a missing answer)."""

    value: Any  # what the cell holds, as a person sees it (the formula), for the problem
    reason: str  # why, and what to do, in plain words


def count_lines(path: Path, header: bool, sample: int = 2**20) -> Optional[int]:
    """About how many lines of data a text file holds (after its header line, if it has one):
    the line breaks in its first ``sample`` bytes, scaled to its size (a cell with line breaks
    in it makes this an over-estimate). None if the file cannot be read; reading it says why."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(sample)
    except OSError:
        return None
    breaks = head.count(b"\n") + (not head.endswith(b"\n") and len(head) == size)
    return max(0, round(breaks * size / max(len(head), 1)) - header)


class Reader(ABC):
    format: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]]
    summary: ClassVar[str]

    def read_definition(self, path: Path) -> dict[str, Any]:
        """An instrument definition written outside nefkit (e.g. a spreadsheet with items,
        choices and scores sheets) as the data a TOML definition holds, for nefkit to check
        (``nefkit import-definition``). Raise :class:`DefinitionError` naming the sheet, row
        and column of each problem. Optional."""
        raise NefkitError(f"the {self.format} format does not hold instrument definitions")

    def locate(self, problems: list[Problem], data: dict[str, Any]) -> list[Problem]:
        """nefkit's problems with the data :meth:`read_definition` returned, each naming the
        place in the file it comes from (sheet, row, column), where the reader knows it.
        Optional: by default the problems as they are."""
        return list(problems)

    def count_rows(self, path: Path) -> Optional[int]:
        """About how many rows ``path`` holds, found quickly (from a sample of it, or from
        its metadata), for ``--engine auto`` to weigh engines on. Optional: None, the
        default, when the reader cannot tell cheaply; ``auto`` then takes the row engine."""
        return None

    @abstractmethod
    def read(self, path: Path) -> Table:
        """Open ``path``; rows are read lazily as the table's iterator is consumed. Raise
        :class:`nefkit.NefkitError` with a plain message for a file that cannot be read."""
