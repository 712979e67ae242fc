from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nefkit.errors import NefkitError
from nefkit.readers import Reader, Table, Unreadable

if TYPE_CHECKING:
    from nefkit import Problem

# A formula element, with or without a namespace prefix, in a workbook's XML.
FORMULA = re.compile(rb"<(?:[\w.-]+:)?f[\s/>]")


class XlsxReader(Reader):
    """The first worksheet, its first row naming the columns; cells keep Excel's own types
    (numbers, dates), so a date stays a date and 2 stays the code 2. A formula gives the value
    the spreadsheet program saved with it; one saved without a value is :class:`Unreadable`."""

    format = "xlsx"
    extensions = (".xlsx", ".xlsm")
    summary = "Excel workbook: the first sheet, one row per administration."

    def read_definition(self, path: Path) -> dict[str, Any]:
        """A definition written as a workbook (settings, choices, items, scores... sheets; see
        :mod:`.definition`), as the data of a TOML definition."""
        from .definition import read_definition

        return read_definition(path)

    def locate(self, problems: list[Problem], data: dict[str, Any]) -> list[Problem]:
        """Each problem with the sheet, row and column it comes from."""
        from .definition import locate

        return locate(problems, data)

    def read(self, path: Path) -> Table:
        rows = _sheet_rows(path)
        header = next(rows, None)
        if header is None or not any(cell is not None for cell in header):
            rows.close()
            raise NefkitError(
                f"{path}: the first sheet is empty; its first row must name the columns"
            )
        header = list(header)
        while header and header[-1] is None:
            header.pop()
        unreadable = [cell.reason for cell in header if isinstance(cell, Unreadable)]
        if unreadable:
            rows.close()
            raise NefkitError(f"{path}: {'; '.join(unreadable)}")
        return Table(str(path), ["" if c is None else str(c) for c in header], _content(rows))


def _open(path: Path, data_only: bool):
    """The workbook, read-only (streaming); with ``data_only``, formulas' saved values."""
    from xml.etree.ElementTree import ParseError

    from openpyxl import load_workbook

    try:
        return load_workbook(path, read_only=True, data_only=data_only)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, ParseError) as e:
        raise NefkitError(f"{path}: cannot be opened as an Excel workbook ({e})") from None


def _may_hold_formulas(path: Path) -> bool:
    """Whether any part of the workbook has a formula element (a chart's range counts too; a
    false alarm only costs a second read of the sheet)."""
    try:
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                with archive.open(name) as part:
                    tail = b""
                    while block := part.read(1 << 20):
                        if FORMULA.search(tail + block):
                            return True
                        tail = block[-64:]
    except (OSError, zipfile.BadZipFile) as e:
        raise NefkitError(f"{path}: cannot be opened as an Excel workbook ({e})") from None
    return False


def _sheet_rows(path: Path) -> Iterator[tuple]:
    """The first sheet's rows of values. openpyxl gives a formula saved without a value (by a
    program that does not calculate, such as openpyxl itself) as None, a blank: so where the
    workbook has formulas, a second read of the sheet gives them, to tell the two apart. That
    read doubles the time, and most data files have no formula, so it is made only then."""
    values = _open(path, data_only=True)
    formulas = None
    try:
        if _may_hold_formulas(path):
            formulas = _open(path, data_only=False)
        sheet = values.worksheets[0]
        if formulas is None:
            yield from sheet.iter_rows(values_only=True)
            return
        texts = formulas.worksheets[0].iter_rows(values_only=True)
        for cells, row in zip(sheet.iter_rows(), texts, strict=True):
            yield tuple(
                _value(cell, text, sheet.title) for cell, text in zip(cells, row, strict=True)
            )
    finally:
        values.close()
        if formulas is not None:
            formulas.close()


def _value(cell, formula: Any, sheet: str) -> Any:
    """The cell's value; ``formula`` is what the formula read found there (the same value
    for any cell but a formula). A formula whose saved value is empty text ("str") is blank."""
    if cell.value is None and formula is not None and cell.data_type != "str":
        return Unreadable(
            getattr(formula, "text", formula),  # an array formula's text
            f'sheet "{sheet}", cell {cell.coordinate} holds a formula without a saved value:'
            " open and save the file in a spreadsheet program, or type the value",
        )
    return cell.value


def _content(rows: Iterator[tuple]) -> Iterator[tuple[int, list]]:
    """Rows numbered as the spreadsheet shows them (the header is row 1), those with no
    content skipped."""
    try:
        for number, row in enumerate(rows, 2):
            if any(cell is not None and cell != "" for cell in row):
                yield number, list(row)
    finally:
        rows.close()
