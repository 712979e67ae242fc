"""Writing instrument definitions as TOML (the standard library reads TOML but cannot write it).

:func:`dumps_definition` turns definition data (the dict that ``tomllib`` gives for a definition
file, or that ``nefkit import-definition`` builds from a spreadsheet) into TOML laid out as the
bundled definitions are: the top-level keys first, then ``[scales.NAME]`` tables, ``[[items]]``,
``[[scores]]``, ``[[flags]]``, ``[[changes]]``, ``[[norms]]``, ``[[examples]]`` and
``[translations.LANG]``. Inside an entry a table is written inline (``params = { score = "total",
at_least = 10 }``) when it fits on a line and holds no list of tables, and as a sub-table
(``[scores.params]``, with ``bands = [ ... ]`` one band a line) when it does not.

The writer is general, not tied to the definition format: any table of strings, integers,
floats, booleans, dates and times, lists and nested tables is written so that
``tomllib.loads(dumps_definition(data)) == data``, with every value keeping its type (an integer
stays an integer, ``1.0`` stays a float). Strings are basic strings: quotes, backslashes,
control characters (newlines included) and the non-characters U+FFFE and U+FFFF (which XML, and
so a spreadsheet cell, cannot carry) are escaped; other characters are written as they are.
Values TOML cannot hold (integers beyond 64 bits, a time of day with a time zone, lone
surrogates, keys that are not strings, None) raise ``ValueError`` or ``TypeError`` rather than
being written as something else.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["dumps_definition", "dumps_inline", "dumps_value"]

# Where a key goes in the file: these first (those present, in this order), then any other.
TOP_KEYS = (
    "id",
    "version",
    "title",
    "citation",
    "licence",
    "source",
    "languages",
    "instructions",
    "notes",
)
SECTIONS = (
    "scales",
    "items",
    "scores",
    "flags",
    "changes",
    "norms",
    "examples",
    "translations",
)
# A table or array longer than this on one line is spread over several.
LINE = 100
# An array holding an element longer than this is written one element a line (notes, say).
LONG_ELEMENT = 40

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPES = {
    # Control characters, and the two non-characters that XML cannot carry (so that a
    # definition's TOML can sit in a spreadsheet cell).
    **{code: f"\\u{code:04X}" for code in (*range(0x20), 0x7F, 0xFFFE, 0xFFFF)},
    ord('"'): '\\"',
    ord("\\"): "\\\\",
    ord("\b"): "\\b",
    ord("\t"): "\\t",
    ord("\n"): "\\n",
    ord("\f"): "\\f",
    ord("\r"): "\\r",
}
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


def dumps_definition(data: Mapping[str, Any]) -> str:
    """TOML text for a definition (or any table): see the module's description."""
    if not isinstance(data, Mapping):
        raise TypeError(f"a TOML document is a table, not {type(data).__name__}")
    order = {key: index for index, key in enumerate((*TOP_KEYS, *SECTIONS))}
    keys = sorted(data, key=lambda k: order.get(k, len(order)) if isinstance(k, str) else 0)
    lines: list[str] = []
    _table(lines, (), {key: data[key] for key in keys}, header=None)
    return "\n".join(lines).lstrip("\n") + "\n"


def dumps_value(value: Any) -> str:
    """One value as TOML writes it after ``key =``, on one line: ``"text"``, ``3``,
    ``[1, 2]``, ``{ a = 1 }``."""
    return _inline(value)


def dumps_inline(table: Mapping[str, Any], spread: bool = False) -> str:
    """A table as a TOML inline table, ``{ score = "total", at_least = 10 }`` (``{}`` when
    empty). With ``spread``, a list of tables in it (bands, say) is written one table a line,
    which TOML allows inside an inline table; everything else stays on the first line."""
    if not isinstance(table, Mapping):
        raise TypeError(f"an inline table is made from a table, not {type(table).__name__}")
    if not table:
        return "{}"
    parts = []
    for key, value in table.items():
        text = _array_lines(value) if spread and _holds_tables(value) else _inline(value)
        parts.append(f"{_key(key)} = {text}")
    return "{ " + ", ".join(parts) + " }"


def _table(lines: list[str], path: tuple[str, ...], table: Mapping, header: str | None) -> None:
    """Write ``table`` at ``path``: its plain keys under ``header``, then its sub-tables."""
    in_array = header is not None and header.startswith("[[")
    plain: list[tuple[str, Any]] = []
    sections: list[tuple[str, Any, bool]] = []  # key, value, is an array of tables
    for key, value in table.items():
        if not isinstance(key, str):
            raise TypeError(f"TOML keys are strings, not {type(key).__name__} ({key!r})")
        if not path and _is_array_of_tables(value):
            sections.append((key, value, True))
        elif isinstance(value, Mapping) and value and _as_section(path, key, value, in_array):
            sections.append((key, value, False))
        else:
            plain.append((key, value))
    # A table with nothing of its own but sub-tables needs no header: [scales.impact] makes
    # the table "scales" by itself. An element of an array of tables always needs its [[...]].
    if header is not None and (plain or not sections or in_array):
        lines += ["", header]
    for key, value in plain:
        text = _array_lines(value) if _spread(value) else _inline(value)
        lines.append(f"{_key(key)} = {text}")
    for key, value, is_array in sections:
        dotted = ".".join(_key(part) for part in (*path, key))
        if is_array:
            for element in value:
                _table(lines, (*path, key), element, header=f"[[{dotted}]]")
        else:
            _table(lines, (*path, key), value, header=f"[{dotted}]")


def _as_section(path: tuple[str, ...], key: str, value: Mapping, in_array: bool) -> bool:
    """Whether a (non-empty) table gets a header of its own rather than an inline table.

    Top-level tables and their tables do ([scales.impact], [translations.de]); deeper down, and
    in an entry of [[items]], [[scores]] etc., a table does when it holds a list of tables
    (bands) or is too long for one line."""
    if not path or (len(path) == 1 and not in_array):
        return True
    if any(_holds_tables(v) for v in value.values()):
        return True
    return len(key) + 3 + len(_inline(value)) > LINE


def _is_array_of_tables(value: Any) -> bool:
    return _is_array(value) and len(value) > 0 and all(isinstance(v, Mapping) for v in value)


def _holds_tables(value: Any) -> bool:
    return _is_array(value) and any(isinstance(v, Mapping) for v in value)


def _is_array(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


def _spread(value: Any) -> bool:
    """Arrays of tables, and of long texts (notes), are written one element a line."""
    if not _is_array(value) or not value:
        return False
    if _holds_tables(value):
        return True
    return any(len(_inline(v)) > LONG_ELEMENT for v in value)


def _array_lines(value: Sequence) -> str:
    if not value:
        return "[]"
    return "[\n" + "".join(f"  {_inline(v)},\n" for v in value) + "]"


def _key(key: Any) -> str:
    if not isinstance(key, str):
        raise TypeError(f"TOML keys are strings, not {type(key).__name__} ({key!r})")
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    if _SURROGATE.search(text):
        raise ValueError(f"{text!r} holds a lone surrogate, which TOML (UTF-8) cannot hold")
    return '"' + text.translate(_ESCAPES) + '"'


def _inline(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if not _INT_MIN <= value <= _INT_MAX:
            raise ValueError(f"{value} is beyond the 64-bit integers TOML holds")
        return str(int(value))
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(float(value))  # always has a "." or an exponent: read back as a float
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dt.datetime):
        return _datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        if value.tzinfo is not None:
            raise ValueError(f"TOML has no time of day with a time zone ({value})")
        return value.isoformat()
    if isinstance(value, Mapping):
        return dumps_inline(value)
    if _is_array(value):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    if value is None:
        raise TypeError("TOML has no null: leave the key out instead")
    raise TypeError(f"TOML cannot hold a {type(value).__name__} ({value!r})")


def _datetime(value: dt.datetime) -> str:
    offset = value.utcoffset()
    if offset is not None and offset % dt.timedelta(minutes=1):
        raise ValueError(f"TOML time zone offsets are whole minutes ({value})")
    return value.isoformat()
