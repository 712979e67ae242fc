"""How nefkit's workbooks look, and the one door every value goes through on its way into a cell.

Workbooks are written with XlsxWriter (see :mod:`.book`). Every cell is written here, so that
two promises hold everywhere, in the streamed score sheets as in the codebook and the data-entry
template:

- **Text stays text.** A string is only ever written with ``write_string``, never ``write()``
  (which reads some strings as formulas or links), and the workbook is opened with every
  string conversion off. Text a spreadsheet could take for a formula when someone edits the
  cell (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) also gets Excel's
  "quote prefix", so that editing it keeps it text. XlsxWriter copies a string that starts with
  ``<r>`` and ends with ``</r>`` into the file as XML unescaped (it takes it for a rich string it
  made itself): such text is written as a rich string of two plain runs, which XlsxWriter
  escapes.
- **Nothing the user must notice is shown by colour alone**: an alert cell is bold and filled,
  and its text says what it is (``yes``, ``invalid``, ``⚠ risk flag: ...``).

xlsxwriter is imported by the modules that write a workbook, which the plugin loads only then.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any, NamedTuple

from xlsxwriter import Workbook
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from nefkit.tabular import FORMULA_START

# What XML 1.0 cannot carry. XlsxWriter would write most of these as _xHHHH_ escapes, which not
# every reader undoes; U+FFFE and U+FFFF make a workbook Excel cannot open. All become U+FFFD.
UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Text that needs more than a plain write_string: anything above, a carriage return, or
# XlsxWriter's rich-string marker (see the module's docstring). One search decides.
SLOW_TEXT = re.compile("[\x00-\x08\x0b-\x1f\ufffe\uffff]|^<r>")

# Excel's own limits.
MAX_CELL_TEXT = 32_767
MAX_SHEET_TITLE = 31
_TITLE_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})

# Whole numbers a spreadsheet holds exactly (its numbers are doubles); larger ones are written
# as text, digit for digit.
EXACT = 2**53

MARK = "⚠ "

DATE = "yyyy-mm-dd"
DATETIME = "yyyy-mm-dd hh:mm"
DECIMAL = "0.00"
PERCENT = "0.0"  # percentages are stored as 0-100 and their headers say "%"

# Named looks, combined freely: a cell's format is the union of its names' properties.
STYLES: dict[str, dict[str, Any]] = {
    "header": {"bold": True, "bg_color": "#DDEBF7", "pattern": 1, "text_wrap": True},
    "title": {"bold": True, "font_size": 15},
    "heading": {"bold": True, "font_size": 13},
    "note": {"italic": True},
    "key": {"bold": True},
    # Excel's own "Bad" and "Neutral" cell styles: red for risk and invalid rows, amber for the
    # rest.
    "risk": {"bold": True, "font_color": "#9C0006", "bg_color": "#FFC7CE", "pattern": 1},
    "warn": {"bold": True, "font_color": "#9C5700", "bg_color": "#FFEB9C", "pattern": 1},
    "date": {"num_format": DATE},
    "datetime": {"num_format": DATETIME},
    "time": {"num_format": "hh:mm:ss"},
    "duration": {"num_format": "[h]:mm:ss"},
    "decimal": {"num_format": DECIMAL},
    "percent": {"num_format": PERCENT},
    "r": {"num_format": "0.00"},  # correlations, item-total r, loadings
    "alpha": {"num_format": "0.000"},  # alpha, its interval, omega
    "text": {"num_format": "@"},  # a column typed into later keeps text as typed
    "quoted": {"quote_prefix": True},
    "top": {"valign": "top"},
    "wrap": {"valign": "top", "text_wrap": True},
    "left": {"align": "left"},
}


class Styled(NamedTuple):
    """A value with a look: ``Styled(0.25, ("percent",))``. A name is a key of :data:`STYLES`,
    or ``fill:#RRGGBB`` / ``font:#RRGGBB`` for a colour of its own."""

    value: Any
    names: tuple[str, ...]


def styled(value: Any, *names: str) -> Styled:
    return Styled(value, names)


def bold(v: Any) -> bool:
    """Whether ``v`` is shown in bold (which takes more room)."""
    return type(v) is Styled and any(STYLES.get(name, {}).get("bold") for name in v.names)


def number(value: float | None, style: str) -> Styled | None:
    """A figure with its number format (a name such as "percent"); None stays blank."""
    return None if value is None else Styled(value, (style,))


def alert(value: Any, risk: bool = False) -> Styled:
    """A cell the reader must not miss; its text must already say why."""
    return Styled(value, ("risk" if risk else "warn",))


class Styles:
    """The formats of one workbook, made once per combination of names."""

    def __init__(self, book: Workbook):
        self.book = book
        self._formats: dict[tuple[str, ...], Format] = {}

    def __call__(self, *names: str) -> Format | None:
        """The format of ``names`` (None for none: the default look)."""
        if not names:
            return None
        found = self._formats.get(names)
        if found is None:
            props: dict[str, Any] = {}
            for name in names:
                props.update(_props(name))
            found = self._formats[names] = self.book.add_format(props)
        return found


def _props(name: str) -> dict[str, Any]:
    if name in STYLES:
        return STYLES[name]
    kind, _, colour = name.partition(":")
    if kind == "fill":
        return {"bg_color": colour, "pattern": 1}
    if kind == "font":
        return {"font_color": colour}
    raise KeyError(name)


def safe_text(text: str) -> str:
    """The text as Excel can hold it: characters that XML cannot carry (control characters other
    than tab and line breaks) become U+FFFD, a carriage return a line feed (as an XML reader
    makes it; Excel shows both as a line break), and text beyond Excel's 32,767 characters a
    cell is cut with a note saying how much is missing, never silently."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if UNWRITABLE.search(text):
        text = UNWRITABLE.sub("\ufffd", text)
    if len(text) > MAX_CELL_TEXT // 2:  # may be over the limit, which counts UTF-16 units
        units = text.encode("utf-16-le")
        if len(units) > 2 * MAX_CELL_TEXT:
            note = " … [{:,} more characters: Excel holds 32,767 in a cell]"
            keep = MAX_CELL_TEXT
            while keep + len(note.format(len(units) // 2 - keep)) > MAX_CELL_TEXT:
                keep = MAX_CELL_TEXT - len(note.format(len(units) // 2 - keep))
            kept = units[: 2 * keep].decode("utf-16-le", errors="ignore")  # no half a pair
            text = kept + note.format(len(text) - len(kept))
    return text


def write_text(
    ws: Worksheet, styles: Styles, row: int, col: int, text: str, names: tuple[str, ...] = ()
) -> None:
    """``text`` as a text cell, whatever it holds (see the module's docstring)."""
    if text[:1] in FORMULA_START:
        names = (*names, "quoted")
    if SLOW_TEXT.search(text) or len(text) > MAX_CELL_TEXT // 2:
        text = safe_text(text)
    cell_format = styles(*names)
    if text.startswith("<r>") and text.endswith("</r>"):
        # Three plain runs: XlsxWriter wants more than two fragments for a rich string.
        runs = [text[:1], text[1:2], text[2:], *([cell_format] if cell_format else [])]
        if ws.write_rich_string(row, col, *runs) != 0:
            raise ValueError(f"XlsxWriter did not write the text {text[:40]!r}")
    else:
        ws.write_string(row, col, text, cell_format)


def write_value(
    ws: Worksheet, styles: Styles, row: int, col: int, v: Any, names: tuple[str, ...] = ()
) -> None:
    """``v`` as Excel's own type: numbers, dates and booleans as such, text as text, anything
    else as its string. None (or empty text) leaves the cell blank, formatted if ``names`` say
    how."""
    if type(v) is Styled:
        v, names = v.value, (*names, *v.names)
    if v is None or v == "":
        if names:
            ws.write_blank(row, col, None, styles(*names))
        return
    kind = _KINDS.get(type(v))
    if kind is None:
        kind = _kind(v)
    if kind == "text":
        write_text(ws, styles, row, col, v, names)
    elif kind == "number":
        if math.isfinite(v) and not (isinstance(v, int) and abs(v) > EXACT):
            ws.write_number(row, col, v, styles(*names))
        else:
            write_text(ws, styles, row, col, str(v), names)
    elif kind == "bool":
        ws.write_boolean(row, col, v, styles(*names))
    elif getattr(v, "tzinfo", None) is not None:
        # Excel has no time zones: keep the moment exactly, as ISO 8601 text.
        write_text(ws, styles, row, col, v.isoformat(), names)
    else:
        ws.write_datetime(row, col, v, styles(*names, date_style(v)))


_KINDS: dict[type, str] = {
    str: "text",
    int: "number",
    float: "number",
    bool: "bool",
    dt.date: "date",
    dt.datetime: "date",
    dt.time: "date",
    dt.timedelta: "date",
}


def _kind(v: Any) -> str:
    """The kind of a subclass of a plain type (an IntEnum, a pandas Timestamp); else text."""
    for base in (bool, int, float, str, dt.datetime, dt.date, dt.time, dt.timedelta):
        if isinstance(v, base):
            return _KINDS[base]
    return "text"


def date_style(v: dt.date | dt.datetime | dt.time | dt.timedelta) -> str:
    """The look of a date or time. A date-time at midnight is a date (a spreadsheet stores
    every date as one): it shows no 00:00."""
    if isinstance(v, dt.datetime):
        return "date" if v.time() == dt.time() else "datetime"
    if isinstance(v, dt.date):
        return "date"
    return "time" if isinstance(v, dt.time) else "duration"


def write_row(
    ws: Worksheet, styles: Styles, row: int, values: list, names: tuple[str, ...] = ()
) -> None:
    for col, v in enumerate(values):
        write_value(ws, styles, row, col, v, names)


def set_widths(ws: Worksheet, widths: list[float]) -> None:
    """Column widths, in characters."""
    for index, width in enumerate(widths):
        ws.set_column(index, index, width)


def width_for(*texts: Any, least: int = 6, most: int = 60) -> float:
    """A column width that shows the longest of ``texts`` (capped: long text wraps or is cut)."""
    longest = max((_shown_length(t) for t in texts), default=0)
    return float(min(most, max(least, longest + 2)))


def _shown_length(v: Any) -> int:
    if type(v) is Styled:
        v = v.value
    if v is None:
        return 0
    if isinstance(v, float):
        return len(f"{v:.2f}")
    if isinstance(v, (dt.date, dt.datetime)):
        return len(DATETIME if date_style(v) == "datetime" else DATE)
    return max((len(line) for line in str(v).splitlines()), default=0)


def sheet_title(base: str, prefix: str = "", part: int = 1, taken: set[str] | None = None) -> str:
    """A legal, unused sheet title: ``"phq-9 Scores (2)"``. Excel allows 31 characters and none
    of ``[]:*?/\\``; the prefix (an instrument id) is shortened first, and a clash gets a
    number rather than overwriting a sheet."""
    suffix = f" ({part})" if part > 1 else ""
    base = base.translate(_TITLE_FORBIDDEN)
    prefix = prefix.translate(_TITLE_FORBIDDEN).strip("'")
    taken = taken if taken is not None else set()
    for attempt in range(1, 1000):
        tail = base + suffix + (f" ~{attempt}" if attempt > 1 else "")
        room = MAX_SHEET_TITLE - len(tail) - 1
        head = prefix[: max(room, 0)].rstrip()
        title = (f"{head} {tail}" if head else tail)[:MAX_SHEET_TITLE]
        if title.casefold() not in taken:
            taken.add(title.casefold())
            return title
    raise ValueError(f"no free sheet title for {base!r}")
