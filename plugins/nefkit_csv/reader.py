from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from nefkit.errors import NefkitError
from nefkit.readers import Reader, Table, count_lines

DELIMITERS = (",", ";", "\t")


class CsvReader(Reader):
    """UTF-8 with or without a byte-order mark; the delimiter is whichever of comma, semicolon
    and tab the header line uses most, as spreadsheet programs in different countries write."""

    format = "csv"
    extensions = (".csv", ".tsv", ".txt")
    summary = "Comma-, semicolon- or tab-separated text (UTF-8)."

    def count_rows(self, path: Path) -> int | None:
        return count_lines(path, header=True)

    def read(self, path: Path) -> Table:
        try:
            handle = open(path, encoding="utf-8-sig", newline="")
            first = handle.readline()
        except UnicodeDecodeError:
            raise NefkitError(
                f"{path}: the file is not UTF-8 text; save it as 'CSV UTF-8'"
            ) from None
        except OSError as e:
            raise NefkitError(f"{path}: cannot be read ({e.strerror})") from None
        if not first.strip():
            handle.close()
            raise NefkitError(f"{path}: the file is empty; the first line must name the columns")
        delimiter = max(DELIMITERS, key=first.count)
        handle.seek(0)
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader)
        return Table(str(path), header, self._rows(reader, handle, path))

    @staticmethod
    def _rows(reader, handle, path) -> Iterator[tuple[int, list[str]]]:
        """Rows numbered as a spreadsheet shows them (the header is row 1); rows with no
        content at all, such as the blank lines spreadsheets leave at the end, are skipped."""
        number = 1
        with handle:
            try:
                for row in reader:
                    number += 1
                    # The first cell (the respondent id) decides most rows without a scan.
                    if (row and row[0].strip()) or any(cell.strip() for cell in row):
                        yield number, row
            except UnicodeDecodeError:
                raise NefkitError(
                    f"{path}: row {number + 1} is not UTF-8 text; save the file as 'CSV UTF-8'"
                ) from None
            except csv.Error as e:
                raise NefkitError(f"{path}: row {number + 1} cannot be read as CSV ({e})") from None
