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

from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from nefkit import Instrument, Item, Plan

from .report import PRIVACY, Lines, codebook_lines, instrument_pairs
from .styles import DATE, header, row_values, set_widths, width_for

FIXED = ("respondent_id", "administered_at", "session")
# Excel's limits: an inline list of choices, an input or error message, and their titles.
MAX_LIST = 255
MAX_MESSAGE = 255
MAX_TITLE = 32
LAST_ROW = 1_048_576


def write_template(plan: Plan, path: Path) -> None:
    """The entry sheet, and the codebook beside it (which describes the plan's scores)."""
    instrument = plan.instrument
    book = Workbook()
    entry = book.active
    entry.title = "Entry"
    columns = [*FIXED, *(item.id for item in instrument.items)]
    entry.append(header(entry, columns))
    entry.freeze_panes = "B2"
    lists = _Lists(book)
    widths = []
    for index, name in enumerate(columns, 1):
        letter = get_column_letter(index)
        item = instrument.item_map.get(name) if name not in FIXED else None
        labels = [label for _, label in instrument.choices(item)] if item is not None else []
        widths.append(width_for(name, *labels, least=12, most=40))
        check = _fixed_check(name) if item is None else _item_check(instrument, item, lists)
        check.sqref = f"{letter}2:{letter}{LAST_ROW}"
        entry.add_data_validation(check)
        number_format = _column_format(name, item)
        if number_format is not None:
            entry.column_dimensions[letter].number_format = number_format
    set_widths(entry, widths)

    lines = Lines(book.create_sheet("Codebook"))
    codebook_lines(lines, plan)
    lines.write()
    _about(Lines(book.create_sheet("About"), most=100), instrument)
    lists.finish()
    book.save(path)


def _column_format(name: str, item: Item | None) -> str | None:
    """Text format where a typed value must stay as typed: respondent ids keep leading zeros
    (007), and free text starting with = is never taken for a formula."""
    if name == "respondent_id" or (item is not None and item.type == "text"):
        return "@"
    if name == "administered_at":
        return DATE
    return None


def _fixed_check(name: str) -> DataValidation:
    if name == "respondent_id":
        return _check(
            None,
            "respondent_id",
            "A pseudonym the clinic chose for the client (e.g. C001), never a name. "
            "One row per administration.",
        )
    if name == "administered_at":
        return _check(
            DataValidation(
                type="date",
                operator="between",
                formula1="DATE(1900,1,1)",
                formula2="DATE(9999,12,31)",
            ),
            "administered_at",
            "The date of the administration, e.g. 2026-03-01. May be left blank.",
            "A date, such as 2026-03-01.",
        )
    return _check(
        DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0"),
        "session",
        "The session number: 0, 1, 2, ... Change scores follow the session order.",
        "A session is a whole number: 0, 1, 2, ...",
    )


def _item_check(instrument: Instrument, item: Item, lists: _Lists) -> DataValidation:
    question = item.text + (f" (Asked only when {item.when}.)" if item.when else "")
    choices = instrument.choices(item)
    if item.type in ("choice", "yes_no"):
        labels = [label for _, label in choices]
        inline = '"' + ",".join(labels) + '"'
        fits = len(inline) <= MAX_LIST and not any("," in lb or '"' in lb for lb in labels)
        return _check(
            DataValidation(type="list", formula1=inline if fits else lists.range(item.id, labels)),
            item.id,
            question,
            f"Choose one of the answers in the list: {'; '.join(labels)}.",
        )
    if item.type == "number":
        kind = "whole number" if item.integer else "number"
        low = "-1E+300" if item.min is None else str(item.min)
        high = "1E+300" if item.max is None else str(item.max)
        within = f" from {item.min}" if item.min is not None else ""
        within += f" to {item.max}" if item.max is not None else ""
        return _check(
            DataValidation(
                type="whole" if item.integer else "decimal",
                operator="between",
                formula1=low,
                formula2=high,
            ),
            item.id,
            question,
            f"A {kind}{within}.",
        )
    if item.type == "multiple":
        answers = "; ".join(f"{code} = {label}" for code, label in choices)
        question += f" Several answers: codes or labels separated by ; (e.g. 1; 3). {answers}"
    return _check(None, item.id, question)


def _check(
    rule: DataValidation | None, title: str, prompt: str, error: str | None = None
) -> DataValidation:
    """``rule`` (or "any value") with the column's question shown when a cell is selected."""
    rule = rule or DataValidation()
    rule.allow_blank = True
    rule.showInputMessage = True
    rule.promptTitle = _fit(title, MAX_TITLE)
    rule.prompt = _fit(prompt, MAX_MESSAGE)
    if error is not None:
        rule.showErrorMessage = True
        rule.errorStyle = "stop"
        rule.errorTitle = _fit(f"Not an answer to {title}", MAX_TITLE)
        rule.error = _fit(error, MAX_MESSAGE)
    return rule


def _fit(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


class _Lists:
    """A hidden last sheet, "Lists", of the answer lists too long (or with commas) for an inline
    drop-down: one column per distinct list, which drop-downs refer to by range."""

    TITLE = "Lists"

    def __init__(self, book: Workbook):
        self.book = book
        self.columns: dict[tuple[str, ...], str] = {}  # labels: the range that holds them
        self.names: list[str] = []

    def range(self, name: str, labels: list[str]) -> str:
        key = tuple(labels)
        if key not in self.columns:
            self.names.append(name)
            letter = get_column_letter(len(self.columns) + 1)
            self.columns[key] = (
                f"{quote_sheetname(self.TITLE)}!${letter}$2:${letter}${len(labels) + 1}"
            )
        return self.columns[key]

    def finish(self) -> None:
        if not self.columns:
            return
        sheet = self.book.create_sheet(self.TITLE)
        sheet.sheet_state = "hidden"
        lists = list(self.columns)
        sheet.append(row_values(sheet, self.names))
        for row in range(max(len(labels) for labels in lists)):
            sheet.append(row_values(sheet, [lb[row] if row < len(lb) else None for lb in lists]))


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
