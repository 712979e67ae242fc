"""How nefkit's workbooks look, and the one door every value goes through on its way into a cell.

Every cell is made here so that two promises hold everywhere, in the streamed score sheets as in
the codebook and the data-entry template:

- **Text stays text.** openpyxl turns any string starting with ``=`` into a formula and the seven
  error words (``#N/A``, ...) into error cells. A clinic's free text must never do either, so
  such a string becomes a cell forced to the string type; every string that a spreadsheet could
  take for a formula when someone edits the cell (starting with ``=``, ``+``, ``-``, ``@``, tab or
  carriage return) also gets Excel's "quote prefix", so that editing it keeps it text.
- **Nothing the user must notice is shown by colour alone**: an alert cell is bold and filled,
  and its text says what it is (``yes``, ``invalid``, ``⚠ risk flag: ...``).

openpyxl is imported by this module, which the plugin loads only when a workbook is written.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, Cell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from nefkit.tabular import FORMULA_START

# What XML 1.0 cannot carry (openpyxl's own pattern misses U+FFFE and U+FFFF, which make a
# workbook Excel cannot open).
UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# Excel's own limits.
MAX_CELL_TEXT = 32_767
MAX_SHEET_TITLE = 31
_TITLE_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})

MARK = "⚠ "

DATE = "yyyy-mm-dd"
DATETIME = "yyyy-mm-dd hh:mm"
DECIMAL = "0.00"
PERCENT = "0.0"  # percentages are stored as 0-100 and their headers say "%"

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
HEADING_FONT = Font(bold=True, size=13)
TITLE_FONT = Font(bold=True, size=15)
NOTE_FONT = Font(italic=True)
# Excel's own "Bad" and "Neutral" cell styles: red for risk and invalid rows, amber for the rest.
RISK_FONT = Font(bold=True, color="9C0006")
RISK_FILL = PatternFill("solid", fgColor="FFC7CE")
WARN_FONT = Font(bold=True, color="9C5700")
WARN_FILL = PatternFill("solid", fgColor="FFEB9C")

_ERROR_CODES = frozenset(ERROR_CODES)
_FORMATS = {dt.datetime: DATETIME, dt.date: DATE}


def safe_text(text: str) -> str:
    """The text as Excel can hold it: characters that XML cannot carry (control characters other
    than tab and line breaks) become U+FFFD, and text beyond Excel's 32,767 characters a cell is
    cut with a note saying how much is missing, never silently."""
    if UNWRITABLE.search(text):
        text = UNWRITABLE.sub("\ufffd", text)
    if len(text) > MAX_CELL_TEXT:
        note = " … [{:,} more characters: Excel holds 32,767 in a cell]"
        keep = MAX_CELL_TEXT
        while keep + len(note.format(len(text) - keep)) > MAX_CELL_TEXT:
            keep = MAX_CELL_TEXT - len(note.format(len(text) - keep))
        text = text[:keep] + note.format(len(text) - keep)
    return text


def needs_cell(text: str) -> bool:
    """Whether a string cannot go into a sheet as a plain value (see :func:`text_cell`)."""
    return (
        text[:1] in FORMULA_START
        or text in _ERROR_CODES
        or len(text) > MAX_CELL_TEXT
        or UNWRITABLE.search(text) is not None
    )


def text_cell(ws, text: str) -> Any:
    """A cell that holds ``text`` as text whatever it starts with."""
    cell = WriteOnlyCell(ws, safe_text(text))
    cell.data_type = "s"  # after the value: assigning a value re-infers the type
    if text[:1] in FORMULA_START:
        cell.quotePrefix = True
    return cell


def value(ws, v: Any) -> Any:
    """``v`` as a worksheet takes it: numbers, dates and booleans as Excel's own types, text as
    text (made a cell when it must be, see :func:`text_cell`), anything else as its string."""
    t = type(v)
    if v is None or t is int or t is bool:
        return v
    if t is str:
        return text_cell(ws, v) if v and needs_cell(v) else v
    if isinstance(v, float):
        return float(v) if math.isfinite(v) else str(v)
    if isinstance(v, int):
        return int(v)
    if isinstance(v, Cell):  # made already, styled
        return v
    if isinstance(v, (dt.date, dt.time, dt.timedelta)):
        if getattr(v, "tzinfo", None) is not None:
            # Excel has no time zones: keep the moment exactly, as ISO 8601 text.
            return v.isoformat()
        return styled(ws, v, number_format=_FORMATS.get(t))
    return value(ws, str(v))


def row_values(ws, values: list) -> list:
    """A row of values converted by :func:`value`; an empty string is an empty cell."""
    out = []
    for v in values:
        t = type(v)
        if t is str:
            out.append((text_cell(ws, v) if needs_cell(v) else v) if v else None)
        elif v is None or t is int:
            out.append(v)
        else:
            out.append(value(ws, v))
    return out


class Rows:
    """Converts the rows of one streamed sheet as :func:`row_values` does, faster for dates.

    A dated cell needs a number format, and making a styled cell costs more than writing it.
    A write-only sheet writes a row's cells before ``append`` returns, so one dated cell per
    column can carry every row's date in turn: the style is set once, not once a row.
    """

    def __init__(self, ws):
        self.ws = ws
        self.dated: dict[tuple[int, type], Any] = {}

    def __call__(self, values: list) -> list:
        ws, out = self.ws, []
        for index, v in enumerate(values):
            t = type(v)
            if t is str:
                out.append((text_cell(ws, v) if needs_cell(v) else v) if v else None)
            elif v is None or t is int:
                out.append(v)
            elif (t is dt.date or t is dt.datetime) and getattr(v, "tzinfo", None) is None:
                cell = self.dated.get((index, t))
                if cell is None:
                    cell = self.dated[index, t] = styled(ws, v, number_format=_FORMATS[t])
                else:
                    cell.value = v
                out.append(cell)
            else:
                out.append(value(ws, v))
        return out


def styled(
    ws,
    v: Any,
    *,
    font: Font | None = None,
    fill: PatternFill | None = None,
    number_format: str | None = None,
) -> Any:
    """A cell with a style; its value converted as :func:`value` converts it."""
    if isinstance(v, (dt.date, dt.time, dt.timedelta)) and getattr(v, "tzinfo", None) is None:
        cell = WriteOnlyCell(ws, v)
    else:
        converted = value(ws, v)
        cell = converted if isinstance(converted, Cell) else WriteOnlyCell(ws, converted)
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if number_format is not None:
        cell.number_format = number_format
    return cell


def header(ws, names: list[str]) -> list:
    return [styled(ws, name, font=HEADER_FONT, fill=HEADER_FILL) for name in names]


def alert(ws, v: Any, risk: bool = False) -> Any:
    """A cell the reader must not miss; its text must already say why."""
    if risk:
        return styled(ws, v, font=RISK_FONT, fill=RISK_FILL)
    return styled(ws, v, font=WARN_FONT, fill=WARN_FILL)


def set_widths(ws, widths: list[float]) -> None:
    """Column widths, in characters. Write-only sheets need them before the first row."""
    for index, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(index)].width = width


def width_for(*texts: Any, least: int = 6, most: int = 60) -> float:
    """A column width that shows the longest of ``texts`` (capped: long text wraps or is cut)."""
    longest = max((_shown_length(t) for t in texts), default=0)
    return float(min(most, max(least, longest + 2)))


def _shown_length(v: Any) -> int:
    v = getattr(v, "value", v)
    if v is None:
        return 0
    if isinstance(v, float):
        return len(f"{v:.2f}")
    if isinstance(v, dt.datetime):
        return len(DATETIME)
    if isinstance(v, dt.date):
        return len(DATE)
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
