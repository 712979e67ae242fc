"""A workbook being written: its sheets in reading order, the formats they share, and the file
written whole at the end, or not at all."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from xlsxwriter import Workbook
from xlsxwriter.worksheet import Worksheet

from .report import Lines
from .styles import Styles


class Book:
    """The sheets in the order they are read, whenever each was added (a table's second part
    goes right after its first, not after the About sheet), and the formats they share."""

    def __init__(self, workbook: Workbook):
        self.workbook = workbook
        self.styles = Styles(workbook)
        self.taken: set[str] = set()  # titles given by sheet_title, as Excel compares them
        self.order: list[Worksheet] = []

    def sheet(self, title: str, after: Worksheet | None = None) -> Worksheet:
        ws = self.workbook.add_worksheet(title)
        self.order.insert(self.order.index(after) + 1 if after else len(self.order), ws)
        return ws

    def lines(self, title: str, most: int = 60) -> Lines:
        """A sheet written whole, line by line."""
        return Lines(self.sheet(title), self.styles, most)

    def _put_in_order(self) -> None:
        """XlsxWriter adds sheets at the end only; its list of sheets, and their positions, are
        what it writes the workbook from."""
        if self.order != self.workbook.worksheets():
            self.workbook.worksheets_objs[:] = self.order
            for index, ws in enumerate(self.order):
                ws.index = index


def forget_row(ws: Worksheet, row: int) -> None:
    """Drop the height of a row already written out. XlsxWriter keeps every height given with
    ``set_row`` (twice: for the row, and for placing images) for as long as the sheet lives,
    even when streaming, where a row once written is never looked at again: a sheet whose rows
    wrap would grow with every row."""
    ws.row_info.pop(row, None)
    ws.row_sizes.pop(row, None)


@contextmanager
def open_book(path: Path) -> Iterator[Book]:
    """A streaming workbook (XlsxWriter's ``constant_memory``: each sheet's rows go to a
    temporary file as they are written, so memory stays flat however many rows there are),
    written to ``path`` when the block ends, or not at all if it raises. Every conversion of
    strings is off: text is written as text (see :mod:`.styles`). The sheets' files are kept in
    a private temporary directory, removed either way: a failed run leaves no client data
    behind."""
    with tempfile.TemporaryDirectory(prefix="nefkit-xlsx-") as tmpdir:
        workbook = Workbook(
            str(path),
            {
                "constant_memory": True,
                "tmpdir": tmpdir,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            },
        )
        book = Book(workbook)
        try:
            yield book
        except BaseException:
            for ws in workbook.worksheets():  # their files, before the directory goes
                handle = getattr(ws, "row_data_fh", None)
                if handle is not None and not handle.closed:
                    handle.close()
            raise
        book._put_in_order()
        workbook.close()
