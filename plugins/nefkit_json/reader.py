from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

from nefkit.errors import NefkitError
from nefkit.readers import Reader, Table, count_lines

# Bytes that are not UTF-8, as decoding with errors="surrogateescape" leaves them.
NOT_UTF8 = re.compile("[\udc80-\udcff]")


class JsonLinesReader(Reader):
    """One JSON object per line. The columns are the keys of the first object; a later object
    with other keys is reported on its line, never silently trimmed."""

    format = "jsonl"
    extensions = (".jsonl", ".ndjson")
    summary = "JSON Lines: one object per administration, keyed by column name."

    def count_rows(self, path: Path) -> int | None:
        return count_lines(path, header=False)

    def read(self, path: Path) -> Table:
        try:
            handle = open(path, encoding="utf-8-sig", errors="surrogateescape")
        except OSError as e:
            raise NefkitError(f"{path}: cannot be read ({e.strerror})") from None
        lines = self._objects(handle, path)
        try:
            number, first = next(lines)
        except StopIteration:
            raise NefkitError(f"{path}: the file has no JSON objects") from None
        columns = list(first)
        return Table(str(path), columns, self._rows(number, first, lines, columns, path))

    @staticmethod
    def _objects(handle, path) -> Iterator[tuple[int, dict]]:
        with handle:
            for number, line in enumerate(handle, 1):
                if NOT_UTF8.search(line):
                    raise NefkitError(
                        f"{path}: line {number} is not UTF-8 text; save the file as UTF-8"
                    )
                if not line.strip():
                    continue
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as e:
                    raise NefkitError(
                        f"{path}: line {number} is not valid JSON ({e.msg}, column {e.colno})"
                    ) from None
                if not isinstance(value, dict):
                    raise NefkitError(
                        f"{path}: line {number} is not a JSON object with column names as keys"
                    )
                yield number, value

    @staticmethod
    def _rows(number, first, lines, columns, path) -> Iterator[tuple[int, list]]:
        known = set(columns)
        yield number, [first[c] for c in columns]
        for number, value in lines:
            extra = [k for k in value if k not in known]
            if extra:
                raise NefkitError(
                    f"{path}: line {number} has key(s) {', '.join(extra)} that the first line lacks;"
                    " give every line the same keys"
                )
            yield number, [value.get(c) for c in columns]
