"""An Excel data-entry template for one instrument, which ``nefkit score`` reads back as it is.

The first sheet, "Entry", is what the XLSX reader reads: its header is exactly the columns
``nefkit score`` expects (respondent_id, administered_at, session, then every item id in the
definition's order), and each column checks what is typed into it: a drop-down of the answer
labels for choice and yes/no questions (labels, because nefkit reads "Several days" as 1), whole
or decimal numbers within the item's range, a session number of 0 or more, a date. Selecting a
cell shows the question. The Codebook and About sheets say what the columns mean and where the
instrument comes from.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from xlsxwriter.utility import xl_col_to_name

from nefkit import Instrument, Item, Plan

from .book import Book, open_book
from .paper import PROSE, page_setup
from .report import PRIVACY, Lines, codebook_lines, instrument_pairs
from .styles import width_for, write_row, write_text

FIXED = ("respondent_id", "administered_at", "session")
# Excel's limits: an inline list of choices, an input or error message, and their titles.
MAX_LIST = 255
MAX_MESSAGE = 255
MAX_TITLE = 32
LAST_ROW = 1_048_575  # counted from 0


def write_template(plan: Plan, path: Path) -> None:
    """The entry sheet, and the codebook beside it (which describes the plan's scores)."""
    instrument = plan.instrument
    with open_book(path) as book:
        entry = book.sheet("Entry")
        columns = [*FIXED, *(item.id for item in instrument.items)]
        for col, name in enumerate(columns):
            write_text(entry, book.styles, 0, col, name, ("header",))
        entry.freeze_panes(1, 1)
        lists = _Lists(book)
        widths = []
        for col, name in enumerate(columns):
            item = instrument.item_map.get(name) if name not in FIXED else None
            labels = [label for _, label in instrument.choices(item)] if item is not None else []
            widths.append(width_for(name, *labels, least=12, most=40))
            check = _fixed_check(name) if item is None else _item_check(instrument, item, lists)
            entry.data_validation(1, col, LAST_ROW, col, check)
            style = _column_style(name, item)
            entry.set_column(col, col, widths[-1], book.styles(style) if style else None)
        page_setup(entry, widths, header_rows=1)

        lines = book.lines("Codebook")
        codebook_lines(lines, plan)
        lines.write()
        _about(book.lines("About", most=PROSE), instrument)
        lists.finish()


def _column_style(name: str, item: Item | None) -> str | None:
    """Text format where a typed value must stay as typed: respondent ids keep leading zeros
    (007), and free text starting with = is never taken for a formula."""
    if name == "respondent_id" or (item is not None and item.type == "text"):
        return "text"
    if name == "administered_at":
        return "date"
    return None


def _fixed_check(name: str) -> dict[str, Any]:
    if name == "respondent_id":
        return _check(
            {"validate": "any"},
            "respondent_id",
            "A pseudonym the clinic chose for the client (e.g. C001), never a name. "
            "One row per administration.",
        )
    if name == "administered_at":
        return _check(
            {
                "validate": "date",
                "criteria": "between",
                "minimum": dt.date(1900, 1, 1),
                "maximum": dt.date(9999, 12, 31),
            },
            "administered_at",
            "The date of the administration, e.g. 2026-03-01. May be left blank.",
            "A date, such as 2026-03-01.",
        )
    return _check(
        {"validate": "integer", "criteria": ">=", "value": 0},
        "session",
        "The session number: 0, 1, 2, ... Change scores follow the session order.",
        "A session is a whole number: 0, 1, 2, ...",
    )


def _item_check(instrument: Instrument, item: Item, lists: _Lists) -> dict[str, Any]:
    question = item.text + (f" (Asked only when {item.when}.)" if item.when else "")
    choices = instrument.choices(item)
    if item.type in ("choice", "yes_no"):
        labels = [label for _, label in choices]
        inline = '"' + ",".join(labels) + '"'
        fits = len(inline) <= MAX_LIST and not any("," in lb or '"' in lb for lb in labels)
        return _check(
            {"validate": "list", "source": labels if fits else lists.range(item.id, labels)},
            item.id,
            question,
            f"Choose one of the answers in the list: {'; '.join(labels)}.",
        )
    if item.type == "number":
        kind = "whole number" if item.integer else "number"
        within = f" from {item.min}" if item.min is not None else ""
        within += f" to {item.max}" if item.max is not None else ""
        return _check(
            {
                "validate": "integer" if item.integer else "decimal",
                "criteria": "between",
                "minimum": -1e300 if item.min is None else item.min,
                "maximum": 1e300 if item.max is None else item.max,
            },
            item.id,
            question,
            f"A {kind}{within}.",
        )
    if item.type == "multiple":
        answers = "; ".join(f"{code} = {label}" for code, label in choices)
        question += f" Several answers: codes or labels separated by ; (e.g. 1; 3). {answers}"
    return _check({"validate": "any"}, item.id, question)


def _check(
    rule: dict[str, Any], title: str, prompt: str, error: str | None = None
) -> dict[str, Any]:
    """``rule`` with the column's question shown when a cell is selected, and a blank allowed."""
    rule = {
        **rule,
        "ignore_blank": True,
        "input_title": _fit(title, MAX_TITLE),
        "input_message": _fit(prompt, MAX_MESSAGE),
        "show_error": error is not None,
    }
    if error is not None:
        rule["error_type"] = "stop"
        rule["error_title"] = _fit(f"Not an answer to {title}", MAX_TITLE)
        rule["error_message"] = _fit(error, MAX_MESSAGE)
    return rule


def _fit(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


class _Lists:
    """A hidden last sheet, "Lists", of the answer lists too long (or with commas) for an inline
    drop-down: one column per distinct list, which drop-downs refer to by range."""

    TITLE = "Lists"

    def __init__(self, book: Book):
        self.book = book
        self.columns: dict[tuple[str, ...], str] = {}  # labels: the range that holds them
        self.names: list[str] = []

    def range(self, name: str, labels: list[str]) -> str:
        key = tuple(labels)
        if key not in self.columns:
            self.names.append(name)
            letter = xl_col_to_name(len(self.columns))
            self.columns[key] = f"='{self.TITLE}'!${letter}$2:${letter}${len(labels) + 1}"
        return self.columns[key]

    def finish(self) -> None:
        if not self.columns:
            return
        sheet = self.book.sheet(self.TITLE)
        sheet.hide()
        lists = list(self.columns)
        styles = self.book.styles
        write_row(sheet, styles, 0, self.names)
        for row in range(max(len(labels) for labels in lists)):
            write_row(sheet, styles, row + 1, [lb[row] if row < len(lb) else None for lb in lists])


def _about(lines: Lines, instrument: Instrument) -> None:
    lines.title(f"{instrument.id}: data-entry template")
    lines.note(PRIVACY)
    lines.heading("How to fill it in")
    for key, text in (
        (
            "rows",
            "One row per administration on the Entry sheet, from row 2. Keep the header row as it is: nefkit reads the columns by these names.",
        ),
        ("respondent_id", "A pseudonym the clinic chose (e.g. C001), never a name."),
        ("administered_at", "The date, e.g. 2026-03-01 (may be blank)."),
        ("session", "0, 1, 2, ...: change scores compare sessions in this order."),
        (
            "answers",
            "Choose each answer from the drop-down; where there is none, the question (shown when you select a cell) says what to enter. A blank is a missing answer, never a zero.",
        ),
        (
            "follow-ups",
            "Answer a follow-up question only when its condition holds (Codebook, 'asked when'); otherwise leave it blank.",
        ),
        ("then", f"nefkit score {instrument.id} this-file.xlsx -o scores.xlsx"),
    ):
        lines.pair(key, text)
    if instrument.instructions:
        lines.pair("instructions to respondents", instrument.instructions)
    lines.heading("Instrument")
    instrument_pairs(lines, instrument)
    lines.write()
