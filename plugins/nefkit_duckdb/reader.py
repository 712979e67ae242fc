"""Parquet in, read by DuckDB: for the row engine (the DuckDB engine reads Parquet itself)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nefkit.errors import NefkitError
from nefkit.readers import Reader, Table

BATCH = 8192


class ParquetReader(Reader):
    """Row numbers count from 2, as if the column names were row 1, as the DuckDB engine
    numbers them; cells keep Parquet's types (numbers, text, dates, lists)."""

    format = "parquet"
    extensions = (".parquet", ".pq")
    summary = "Parquet tables, one row per administration (read by DuckDB)."

    def count_rows(self, path: Path) -> int | None:
        """From the file's metadata, without reading its rows."""
        import duckdb

        try:
            with duckdb.connect() as con:
                [(rows,)] = con.execute(
                    "SELECT sum(num_rows) FROM parquet_file_metadata(?)", [str(path)]
                ).fetchall()
        except duckdb.Error:
            return None  # reading it says why
        return int(rows or 0)

    def read(self, path: Path) -> Table:
        import duckdb

        con = duckdb.connect()
        try:
            cursor = con.execute("SELECT * FROM read_parquet(?)", [str(path)])
        except duckdb.Error as e:
            con.close()
            raise NefkitError(
                f"{path}: cannot be read as Parquet ({str(e).splitlines()[0]})"
            ) from None
        columns = [column[0] for column in cursor.description]
        return Table(str(path), columns, _rows(con, cursor))


def _rows(con, cursor) -> Iterator[tuple[int, list[Any]]]:
    number = 2
    try:
        while batch := cursor.fetchmany(BATCH):
            for cells in batch:
                yield number, list(cells)
                number += 1
    finally:
        con.close()
