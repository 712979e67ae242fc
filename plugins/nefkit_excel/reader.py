from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nefkit.errors import NefkitError
from nefkit.readers import Reader, Table

if TYPE_CHECKING:
    from nefkit.problems import Problem


class XlsxReader(Reader):
    """The first worksheet, its first row naming the columns; cells keep Excel's own types
    (numbers, dates), so a date stays a date and 2 stays the code 2."""

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
        import zipfile
        from xml.etree.ElementTree import ParseError

        from openpyxl import load_workbook

        try:
            workbook = load_workbook(path, read_only=True, data_only=True)
        except (OSError, zipfile.BadZipFile, KeyError, ValueError, ParseError) as e:
            raise NefkitError(f"{path}: cannot be opened as an Excel workbook ({e})") from None
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None or not any(cell is not None for cell in header):
            workbook.close()
            raise NefkitError(
                f"{path}: the first sheet is empty; its first row must name the columns"
            )
        header = list(header)
        while header and header[-1] is None:
            header.pop()
        return Table(
            str(path), ["" if c is None else str(c) for c in header], self._rows(rows, workbook)
        )

    @staticmethod
    def _rows(rows, workbook) -> Iterator[tuple[int, list]]:
        try:
            for number, row in enumerate(rows, 2):
                if any(cell is not None and cell != "" for cell in row):
                    yield number, list(row)
        finally:
            workbook.close()
