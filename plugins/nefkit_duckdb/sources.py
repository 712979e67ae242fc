"""Where the columnar engine's rows come from: CSV, JSON Lines or Parquet, read by DuckDB.

A source is one SQL relation with ``__row`` (the row number a person sees: the header is row 1
of a CSV, JSON Lines count lines, Parquet rows count from 2 as if their column names were row
1), then one column per header column (``c0``, ``c1``, ...), plus, for CSV files that needed
normalising, ``__len`` (how many cells the line had) and ``__extra`` (whether cells past the
header's width held anything).

DuckDB reads a regular file directly. A file DuckDB would number or split differently from
nefkit's own readers (blank lines between rows, spaces around quotes, ragged rows, broken
quoting or encoding) is first passed through that reader and written to a temporary file with
explicit row numbers, so that every row, number and cell is exactly what the Python engine sees
and every error message is its own.
"""

from __future__ import annotations

import csv
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from nefkit.errors import NefkitError

# Python's str.isspace() characters, as an RE2 class: what str.strip() removes.
SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)  # every character for which str.isspace() holds (tests/test_engine.py checks)
WS = "[" + "".join(f"\\x{{{ord(c):x}}}" for c in SPACES) + "]"
SCAN_BLOCK = 1 << 20
QUOTES = 1024  # quotes the scan follows in any file, and one more for every 256 bytes


def sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass
class Cell:
    """How the engine reads one column's cells.

    ``text`` is the cell as a string (NULL for a blank) and may be used wherever ``plain`` holds:
    the cell then means exactly what the same text means in a CSV file. Other cells go, as
    ``native``, to Python (``convert`` turns the argument into the value nefkit's reader would
    have produced) and are parsed there by the same code as in the Python engine.
    """

    column: str  # the source column, e.g. "c3"
    sql_type: str  # the DuckDB type of ``native``
    text: str
    plain: str  # SQL boolean, or "TRUE"
    native: str
    is_text_type: str  # SQL boolean: the value is a string (for CSV formula neutralising)
    convert: Callable[[Any], Any] = field(default=lambda v: v)


@dataclass
class Source:
    path: Path
    format: str  # csv, jsonl, parquet
    header: list[str]
    relation: str  # SQL producing __row, c0.., [__len, __extra]
    cells: list[Cell]
    normalised: bool = False
    temp: Optional[Path] = None
    # A CSV file's rows without row numbers but with a __content flag, read in parallel
    # (DuckDB numbers CSV rows on one thread only); the engine numbers them afterwards.
    parallel: Optional[str] = None
    # A regular CSV or JSON Lines file's record boundaries (see Scan), and its relation of
    # ``limit`` records after the first ``skip`` of a file, numbered after ``before``.
    marks: Optional[list[tuple[int, int]]] = None
    cut: Optional[Callable[[Path, int, int, Optional[int]], str]] = None
    lead: int = 0  # records before the first row: a CSV file's header

    def pieces(self, threads: int, workdir: Path) -> Optional[list[str]]:
        """The rows as relations of consecutive records, to be scored each on a thread of its
        own (up to ``threads`` of them), which is how DuckDB numbers a CSV or JSON Lines
        file's rows in parallel; None when the file cannot be cut (see :func:`scan`) and the
        threads are better used otherwise.

        The first piece is read from the file itself, up to its last record; each other one
        is copied (in the kernel, where it can be) into a file of its own in ``workdir``:
        DuckDB's ``skip`` would hold what it skips in memory."""
        if threads < 2 or self.format == "parquet":  # DuckDB numbers Parquet rows in parallel
            return [self.relation]
        if self.marks is None or self.cut is None:
            return None
        # The record boundaries nearest to equal shares of the bytes.
        size = self.path.stat().st_size
        cuts = [(0, self.lead)]  # (byte offset, records before it)
        for k in range(1, threads):
            target = size * k / threads
            mark = min(self.marks, key=lambda m: abs(m[0] - target), default=(0, 0))
            if mark[1] > cuts[-1][1]:
                cuts.append(mark)
        first = cuts[1][1] - self.lead if len(cuts) > 1 else None
        relations = [self.cut(self.path, self.lead, self.lead, first)]
        for k, (offset, before) in enumerate(cuts[1:], 1):
            end = cuts[k + 1][0] if k + 1 < len(cuts) else size
            piece = workdir / f"piece{k}{self.path.suffix}"
            copy_bytes(self.path, piece, offset, end - offset)
            relations.append(self.cut(piece, 0, before, None))
        return relations

    def raw_row(self, values: list[Any], length: Optional[int], extra: Optional[bool]) -> list:
        """The row as nefkit's reader would have given it, from the values of ``native``."""
        row = [cell.convert(v) for cell, v in zip(self.cells, values)]
        if self.format == "csv":
            row = ["" if v is None else v for v in row]
            if length is not None and length < len(row):
                row = row[:length]
            elif length is not None and length > len(row):
                row += ["x" if extra else ""] * (length - len(row))
        return row


def _loads(text):
    return None if text is None else json.loads(text)


@dataclass
class Scan:
    """What one read of a file found: whether DuckDB could read it differently from nefkit's
    reader, and the record boundaries to cut it at (None when not worth knowing)."""

    irregular: bool
    # (byte offset, records before it, the header included) at the end of each block that
    # ends outside a quoted value.
    marks: Optional[list[tuple[int, int]]] = None


def scan(path: Path, delimiter: Optional[str]) -> Scan:
    """Whether DuckDB could read the file differently from nefkit's reader: a blank line before
    the last row (DuckDB skips it without counting it), or, in CSV, spaces next to a quote
    (DuckDB drops them). Read in blocks cut after a newline; each search starts from a rare byte
    or a newline, which Python finds fast (about 0.2 s for 100 MB). False alarms only cost
    speed.

    Records are counted on the way, for :meth:`Source.pieces`; not when lone carriage returns
    could end lines, or a CSV file has more quotes than are cheap to follow (``QUOTES``)."""
    blank = re.compile(rb"\n[ \t\r\f\v]*\n")
    lone_cr = re.compile(rb"\r(?!\n)")
    after = None
    marks: Optional[list[tuple[int, int]]] = []
    if delimiter is not None:
        d = re.escape(delimiter.encode())
        after = re.compile(rb'" +(?:' + d + rb"|\r|\n|$)")
        starts = (delimiter.encode(), b"\n")
    blank_seen = False
    carry = b""
    offset = records = quotes = 0
    inside = False
    with open(path, "rb") as handle:
        while True:
            block = handle.read(SCAN_BLOCK)
            text = carry + block
            # Up to the last newline, which the next piece starts with again.
            end = len(text) if not block else text.rfind(b"\n") + 1
            if end == 0:
                if not block:
                    return Scan(False, marks)
                carry = text
                continue
            piece, carry = text[:end], text[end - 1 :]
            if blank_seen and piece.strip():
                return Scan(True)  # content after a blank line
            found = blank.search(piece)
            if found:
                if piece[found.end() :].strip():
                    return Scan(True)
                blank_seen = True
            if after is not None and b'"' in piece:
                if after.search(piece):
                    return Scan(True)
                at = piece.find(b' "')
                while at != -1:
                    first = at  # walk back to where the run of spaces starts
                    while first > 0 and piece[first - 1] == 32:
                        first -= 1
                    if first == 0 or piece[first - 1 : first] in starts:
                        return Scan(True)
                    at = piece.find(b' "', at + 1)
            if marks is not None:
                shared = 1 if offset else 0  # the newline the piece shares with the last one
                start = shared or 3 * piece.startswith(b"\xef\xbb\xbf")  # past a BOM
                if delimiter is not None:
                    quotes += piece.count(b'"', start)
                if quotes > QUOTES + (offset >> 8) or (
                    b"\r" in piece and lone_cr.search(piece, start)
                ):
                    marks = None
                else:
                    quoted, inside = (
                        _quoted_newlines(piece, ord(delimiter), inside, start)
                        if delimiter is not None
                        else (0, False)  # a JSON line holds no newline
                    )
                    records += piece.count(b"\n", start) - quoted
                    offset += len(piece) - shared
                    new = not marks or marks[-1][0] != offset
                    if new and not inside and block and not blank_seen:
                        marks.append((offset, records))
            if not block:
                return Scan(False, marks)


def open_source(con, path: Path, fmt: str, header: list[str], workdir: Path, reader) -> Source:
    if fmt == "csv":
        return _csv(con, path, header, workdir, reader)
    if fmt == "jsonl":
        return _jsonl(con, path, header, workdir, reader)
    return _parquet(con, path, header)


def _csv_cells(width: int) -> list[Cell]:
    return [
        Cell(f"c{k}", "VARCHAR", f"c{k}", "TRUE", f"c{k}", "TRUE", lambda v: v)
        for k in range(width)
    ]


def _csv(con, path: Path, header: list[str], workdir: Path, reader) -> Source:
    import duckdb

    with open(path, encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
    delimiter = max((",", ";", "\t"), key=first.count)
    width = len(header)
    cells = _csv_cells(width)
    found = scan(path, delimiter)
    if not found.irregular:
        relation = csv_relation(path, width, delimiter)
        parallel = (
            f"SELECT CAST(NULL AS BIGINT) AS __row, {', '.join(c.column for c in cells)},"
            f" {_content(width)} AS __content FROM {_read_csv(path, width, delimiter, 1)}"
        )
        source = Source(
            path,
            "csv",
            header,
            relation,
            cells,
            parallel=parallel,
            marks=found.marks,
            cut=lambda piece, skip, before, limit: csv_relation(
                piece, width, delimiter, skip, limit, before
            ),
            lead=1,
        )
        try:
            con.execute(f"SELECT count(*) FROM (SELECT * FROM ({relation}) LIMIT 1)").fetchall()
            return source
        except duckdb.OutOfMemoryException:
            raise
        except Exception:  # DuckDB cannot read it as nefkit does: normalise it
            pass
    return normalise_csv(path, header, workdir, reader)


def _read_csv(path: Path, width: int, delimiter: str, skip: int) -> str:
    """The records after the first ``skip`` (the header is the first)."""
    columns = "{" + ", ".join(f"'c{k}': 'VARCHAR'" for k in range(width)) + "}"
    return (
        f"read_csv({sql_text(str(path))}, columns = {columns}, header = false, skip = {skip},"
        f" auto_detect = false, delim = {sql_text(delimiter)}, quote = '\"', escape = '\"',"
        " strict_mode = true, null_padding = false, encoding = 'utf-8')"
    )


def _content(width: int) -> str:
    """Whether a row has content; CASE tests the cells lazily, so a row whose first cell has
    content costs one test."""
    return (
        "(CASE "
        + " ".join(f"WHEN NOT {_blank(f'c{k}')} THEN TRUE" for k in range(width))
        + " ELSE FALSE END)"
    )


def csv_relation(
    path: Path,
    width: int,
    delimiter: str,
    skip: int = 1,
    limit: Optional[int] = None,
    before: Optional[int] = None,
) -> str:
    """The rows of a regular CSV file (or piece of one) after its first ``skip`` records
    (``limit`` of them), numbered after the ``before`` records before them (``skip``, in a
    whole file); rows with no content are skipped, but counted. DuckDB numbers them on one
    thread."""
    rows = f"{_read_csv(path, width, delimiter, skip)} WITH ORDINALITY"
    if limit is not None:
        rows = f"(SELECT * FROM {rows} LIMIT {limit})"
    return (
        f"SELECT CAST(ordinality + {skip if before is None else before} AS BIGINT) AS __row,"
        f" {', '.join(f'c{k}' for k in range(width))} FROM {rows} WHERE {_content(width)}"
    )


def copy_bytes(
    source: Path, target: Path, offset: int = 0, size: Optional[int] = None, append: bool = False
) -> None:
    """``size`` bytes of ``source`` from ``offset`` (to its end: all of it) written to
    ``target``, or appended to it; in the kernel where it can be (Linux), which is about ten
    times faster than through Python."""
    with open(source, "rb") as data, open(target, "r+b" if append else "wb", buffering=0) as out:
        out.seek(0, os.SEEK_END)
        if size is None:
            size = os.fstat(data.fileno()).st_size - offset
        try:
            while size > 0:
                done = os.copy_file_range(data.fileno(), out.fileno(), size, offset)
                if done == 0:
                    break
                offset += done
                size -= done
        except (AttributeError, OSError):  # not Linux, or not between these file systems
            pass
        data.seek(offset)
        while size > 0:
            block = data.read(min(size, 1 << 22))
            if not block:
                break
            out.write(block)
            size -= len(block)


def _quoted_newlines(chunk: bytes, delimiter: int, inside: bool, at: int) -> tuple[int, bool]:
    """How many newlines of ``chunk[at:]`` are inside a quoted value, and whether it ends
    inside one (``inside``: whether it starts inside one; ``chunk[at - 1]``, if any, is a
    newline). A quote opens a value only at the start of a cell, as in DuckDB's and Python's
    readers; elsewhere it is text. Works from quote to quote, about 0.3 µs each."""
    newlines = 0
    begin = at
    find = chunk.find
    while True:
        if not inside:
            quote = find(b'"', at)
            if quote == -1:
                return newlines, False
            at = quote + 1
            if quote != begin and chunk[quote - 1] not in (delimiter, 10):
                continue
            inside = True
        opened = at
        while True:  # to the closing quote; "" is a quote inside the value
            quote = find(b'"', at)
            if quote == -1:
                return newlines + chunk.count(b"\n", opened), True
            if chunk[quote + 1 : quote + 2] != b'"':
                break
            at = quote + 2
        newlines += chunk.count(b"\n", opened, quote)
        at = quote + 1
        inside = False


def normalise_csv(path: Path, header: list[str], workdir: Path, reader) -> Source:
    """Rows through nefkit's own CSV reader into a regular file with explicit row numbers."""
    width = len(header)
    temp = workdir / "normalised.csv"
    table = reader.read(path)
    with open(temp, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["__row", "__len", "__extra", *(f"c{k}" for k in range(width))])
        for number, row in table.rows:
            extra = any(c not in (None, "") for c in row[width:])
            cells = (list(row) + [""] * width)[:width]
            writer.writerow([number, len(row), int(extra), *cells])
    columns = "{'__row': 'BIGINT', '__len': 'BIGINT', '__extra': 'INTEGER', " + ", ".join(
        f"'c{k}': 'VARCHAR'" for k in range(width)
    )
    relation = (
        f"SELECT __row, __len, __extra = 1 AS __extra, {', '.join(f'c{k}' for k in range(width))}"
        f" FROM read_csv({sql_text(str(temp))}, columns = {columns}}}, header = true,"
        " auto_detect = false, delim = ',', quote = '\"', escape = '\"', strict_mode = true)"
    )
    return Source(path, "csv", header, relation, _csv_cells(width), normalised=True, temp=temp)


def _blank(column: str) -> str:
    """Python's ``not cell.strip()`` for a text cell."""
    # A first character that is printable ASCII other than a space settles it cheaply.
    return (
        f"({column} IS NULL OR {column} = '' OR (NOT (ascii({column}) BETWEEN 33 AND 126)"
        f" AND regexp_full_match({column}, '{WS}+')))"
    )


def _json_cells(width: int) -> list[Cell]:
    """Cells of a JSON Lines relation (see :func:`_json_text`): ``c`` is the value as JSON text
    (NULL for null or a missing key), ``t`` its string or integer as text; anything else
    (floats, booleans, lists) goes to Python."""
    return [
        Cell(
            f"c{k}",
            "VARCHAR",
            text=f"t{k}",
            plain=f"(c{k} IS NULL OR t{k} IS NOT NULL)",
            native=f"c{k}",
            is_text_type=f"COALESCE(ascii(c{k}) = 34, FALSE)",
            convert=_loads,
        )
        for k in range(width)
    ]


def _read_json(path: Path, columns: dict[str, str]) -> str:
    """DuckDB's reader of a JSON Lines file; ``columns`` maps each key to a type ('JSON': the
    value as JSON, NULL for null or a missing key)."""
    listed = ", ".join(f"{sql_text(key)}: {sql_text(kind)}" for key, kind in columns.items())
    return f"read_json({sql_text(str(path))}, columns = {{{listed}}}, format = 'newline_delimited')"


def _json_text(keys: list[str]) -> tuple[str, str]:
    """Each key's value as JSON text ``c`` and, over those, its string or integer ``t`` (see
    :func:`_json_cells`), computed once in a layer of its own: parsing reads a cell's text many
    times. DuckDB writes JSON text without spaces, so one character is a digit, and a string
    starts with a quote."""
    cells = ", ".join(f"CAST({_quote(key)} AS VARCHAR) AS c{k}" for k, key in enumerate(keys))
    texts = ", ".join(
        f"(CASE WHEN strlen(c{k}) = 1 THEN c{k} WHEN ascii(c{k}) = 34 THEN"
        f" (CASE WHEN contains(c{k}, '\\') THEN json_extract_string(c{k}, '$') ELSE c{k}[2:-2] END)"
        f" WHEN regexp_full_match(c{k}, '-?[0-9]+') THEN c{k} END) AS t{k}"
        for k in range(len(keys))
    )
    return cells, texts


def jsonl_relation(
    path: Path, keys: list[str], before: int = 0, limit: Optional[int] = None
) -> str:
    """The lines of a regular JSON Lines file (or piece of one; ``limit`` of them), numbered
    after ``before``. DuckDB numbers them on one thread."""
    rows = f"{_read_json(path, dict.fromkeys(keys, 'JSON'))} WITH ORDINALITY"
    if limit is not None:
        rows = f"(SELECT * FROM {rows} LIMIT {limit})"
    cells, texts = _json_text(keys)
    return (
        f"SELECT *, {texts} FROM"
        f" (SELECT CAST(ordinality + {before} AS BIGINT) AS __row, {cells} FROM {rows})"
    )


def _odd_lines(con, path: Path, header: list[str]) -> bool:
    """Whether a line is not an object or has a key the first line lacks (DuckDB's reader
    would skip the key; nefkit's reader says where it is). Raises for a file DuckDB cannot
    read as JSON Lines."""
    known = "[" + ", ".join(sql_text(n) for n in header) + "]"
    # Lines with the first line's keys in its order, the usual case, are told fastest.
    unknown = f"len(list_filter(json_keys(json), lambda k: NOT list_contains({known}, k))) > 0"
    query = (
        f"SELECT count(*) FROM (SELECT 1 FROM read_ndjson_objects({sql_text(str(path))})"
        f" WHERE json_type(json) <> 'OBJECT'"
        f" OR (CASE WHEN json_keys(json) = {known} THEN FALSE ELSE {unknown} END) LIMIT 1)"
    )
    return con.execute(query).fetchall()[0][0] > 0


def _jsonl(con, path: Path, header: list[str], workdir: Path, reader) -> Source:
    from concurrent.futures import ThreadPoolExecutor

    import duckdb

    # DuckDB looks for odd lines while the scan (Python, on one core) reads the file.
    cursor = con.cursor()
    with ThreadPoolExecutor(1) as pool:
        odd = pool.submit(_odd_lines, cursor, path, header)
        found = scan(path, None)
        if found.irregular:
            cursor.interrupt()
        try:
            regular = not odd.result() and not found.irregular
        except duckdb.OutOfMemoryException:
            raise
        except Exception:  # unreadable JSON (or interrupted): the reader says where
            regular = False
    if not regular:
        return normalise_jsonl(path, header, workdir, reader)
    return Source(
        path,
        "jsonl",
        header,
        jsonl_relation(path, header),
        _json_cells(len(header)),
        marks=found.marks,
        cut=lambda piece, _, before, limit: jsonl_relation(piece, header, before, limit),
    )


def normalise_jsonl(path: Path, header: list[str], workdir: Path, reader) -> Source:
    width = len(header)
    temp = workdir / "normalised.jsonl"
    table = reader.read(path)
    with open(temp, "w", encoding="utf-8") as out:
        for number, row in table.rows:
            record = {"__row": number, **{f"c{k}": v for k, v in enumerate(row)}}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    keys = [f"c{k}" for k in range(width)]
    cells, texts = _json_text(keys)
    relation = (
        f"SELECT *, {texts} FROM (SELECT __row, {cells}"
        f" FROM {_read_json(temp, {'__row': 'BIGINT', **dict.fromkeys(keys, 'JSON')})})"
    )
    return Source(path, "jsonl", header, relation, _json_cells(width), normalised=True, temp=temp)


INTEGERS = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "HUGEINT",
}


def parquet_header(con, path: Path) -> list[tuple[str, str]]:
    try:
        rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet({sql_text(str(path))})").fetchall()
    except Exception as e:
        raise NefkitError(f"{path}: cannot be read as Parquet ({str(e).splitlines()[0]})") from None
    return [(r[0], r[1]) for r in rows]


def _parquet(con, path: Path, header: list[str]) -> Source:
    types = dict(parquet_header(con, path))
    cells = []
    select = []
    for k, name in enumerate(header):
        c = f"c{k}"
        select.append(f"{_quote(name)} AS {c}")
        kind = types[name]
        if kind == "VARCHAR":
            cells.append(Cell(c, kind, c, "TRUE", c, "TRUE"))
        elif kind in INTEGERS:
            cells.append(Cell(c, kind, f"CAST({c} AS VARCHAR)", "TRUE", c, "FALSE"))
        else:
            cells.append(Cell(c, kind, "NULL", f"({c} IS NULL)", c, "FALSE"))
    relation = (
        f"SELECT CAST(file_row_number + 2 AS BIGINT) AS __row, {', '.join(select)}"
        f" FROM read_parquet({sql_text(str(path))}, file_row_number = true)"
    )
    return Source(path, "parquet", header, relation, cells)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
