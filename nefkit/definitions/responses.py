"""Turning raw cells into answers, and saying exactly why a cell is not a valid answer.

An answer may be given as its code or its label ("Several days" means 1, in any letter case). A
number stored as 1.0 by a spreadsheet is the code 1; 1.5 is not. A blank is a missing answer,
never a zero. Nothing else is guessed: a cell that is not an answer is a problem, not a blank.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from itertools import repeat
from typing import Any

from ..rules import Value
from .instrument import Instrument, Item

_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")


class CellError(ValueError):
    """A cell that is not a valid answer; the message says why in plain words."""


def _blank(cell: Any) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _integral(cell: Any) -> int | None:
    """An int from 3, 3.0, "3" or " 3 "; None if the cell is not a whole number."""
    if isinstance(cell, bool):
        return None
    if isinstance(cell, int):
        return cell
    if isinstance(cell, float):
        return int(cell) if cell.is_integer() else None
    if isinstance(cell, str):
        text = cell.strip()
        if re.fullmatch(r"[-+]?\d+", text):
            return int(text)
        if re.fullmatch(r"[-+]?\d+\.0*", text):
            return int(float(text))
    return None


class AnswerParser:
    """Parses one item's cells. ``fast`` maps the common exact cells straight to answers."""

    def __init__(self, instrument: Instrument, item: Item):
        self.item = item
        self.choices = instrument.choices(item)
        self.codes = {value for value, _ in self.choices}
        self.labels = {label.casefold(): value for value, label in self.choices}
        # Only text keys: 1, 1.0 and True hash alike, and True is not an answer to most items.
        self.fast: dict[Any, Value] = {None: None, "": None}
        if item.type in ("choice", "yes_no"):
            for value, label in self.choices:
                self.fast.update({str(value): value, label: value})
        self.parse: Callable[[Any], Value] = {
            "choice": self._choice,
            "yes_no": self._choice,
            "multiple": self._multiple,
            "number": self._number,
            "text": self._text,
        }[item.type]

    def describe_choices(self) -> str:
        return ", ".join(f"{value} = {label}" for value, label in self.choices)

    def _code(self, cell: Any) -> int:
        if isinstance(cell, bool) and self.item.type == "yes_no":
            return int(cell)
        code = _integral(cell)
        if code is None and isinstance(cell, str):
            code = self.labels.get(cell.strip().casefold())
        if code is None or code not in self.codes:
            raise CellError(
                f"not an answer to {self.item.id}; expected one of {self.describe_choices()}"
            )
        return code

    def _choice(self, cell: Any) -> Value:
        if _blank(cell):
            return None
        return self._code(cell)

    def _multiple(self, cell: Any) -> Value:
        if _blank(cell):
            return None
        if isinstance(cell, (list, tuple)):
            parts = list(cell)
        else:
            text = str(cell).strip()
            if text.casefold() in self.labels:  # one label, which may itself hold a comma
                return (self.labels[text.casefold()],)
            # Semicolons or bars separate answers when present, so labels may contain commas.
            separator = next((s for s in ";|" if s in text), ",")
            parts = [part.strip() for part in text.split(separator)]
        codes = sorted({self._code(part) for part in parts if not _blank(part)})
        return tuple(codes)

    def _number(self, cell: Any) -> Value:
        if _blank(cell):
            return None
        item = self.item
        if isinstance(cell, bool):
            raise CellError(f"{item.id} needs a number")
        if isinstance(cell, (int, float)):
            number = cell
        else:
            text = str(cell).strip()
            if _DECIMAL_COMMA.match(text):
                text = text.replace(",", ".")
            try:
                number = float(text)
            except ValueError:
                raise CellError(f"{item.id} needs a number") from None
        if not math.isfinite(number):
            raise CellError(f"{item.id} needs a finite number")
        if item.integer:
            if number != int(number):
                raise CellError(f"{item.id} needs a whole number")
            number = int(number)
        if (item.min is not None and number < item.min) or (
            item.max is not None and number > item.max
        ):
            raise CellError(f"{item.id} must lie between {item.min} and {item.max}")
        return number

    def _text(self, cell: Any) -> Value:
        if _blank(cell):
            return None
        return cell if isinstance(cell, str) else str(cell)


_MISS = object()


def parse_column(
    parser: AnswerParser, cells: list[Any]
) -> tuple[list[Value], list[tuple[int, str]]]:
    """Parse a column of cells: the answers, and (index, reason) for every cell that is not one.
    The common cells take one dictionary look-up each; the rest go through ``parser.parse``."""
    fast = parser.fast
    try:
        values = list(map(fast.get, cells, repeat(_MISS)))
    except TypeError:  # an unhashable cell, e.g. a list from JSON
        values = [
            fast.get(cell, _MISS) if isinstance(cell, (str, type(None))) else _MISS
            for cell in cells
        ]
    errors: list[tuple[int, str]] = []
    if _MISS not in values:
        return values, errors
    for index, value in enumerate(values):
        if value is _MISS:
            try:
                values[index] = parser.parse(cells[index])
            except CellError as e:
                values[index] = None
                errors.append((index, str(e)))
    return values, errors


def parse_session(cell: Any) -> int | None:
    if _blank(cell):
        return None
    number = _integral(cell)
    if number is None or number < 0:
        raise CellError("a session is a whole number (0, 1, 2, ...)")
    return number


def parse_when(cell: Any) -> dt.date | dt.datetime | None:
    """A date or date-time: a spreadsheet date, or ISO 8601 text such as 2026-03-01 or
    2026-03-01T14:30."""
    if _blank(cell):
        return None
    if isinstance(cell, (dt.date, dt.datetime)):
        return cell
    text = str(cell).strip()
    try:
        return dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
    except ValueError:
        raise CellError(
            "a date is written year-month-day, e.g. 2026-03-01 (or 2026-03-01T14:30)"
        ) from None
