"""Instrument definitions as Excel workbooks, for people who write questionnaires in a spreadsheet
(in the spirit of XLSForm and REDCap data dictionaries): ``nefkit export-definition ID -o f.xlsx``
writes one, ``nefkit import-definition f.xlsx`` reads it back as the data of a TOML definition,
and the two round-trip: nothing of the definition is lost on the way out and back.

The workbook
============

Every sheet's first row names its columns; the columns may come in any order, and a column left
out is blank in every row. One row per entry; blank rows are skipped. Sheet and column names
are matched ignoring case, spaces and underscores ("Plain population" is plain_population).

- **Read me**: what this says; skipped on import.
- **settings** (key | value): one row per setting: ``id``, ``version``, ``title``,
  ``citation``, ``licence``, ``source``, ``languages`` (comma-separated, first the language the
  texts are written in), ``instructions``, and ``note``, one row per note.
- **choices** (scale | value | label | description): one row per answer of a named scale, in
  the scale's order; the scale's description may be given on any one of its rows.
- **items** (id | text | type | scale | when | optional | min | max | integer | scored | note):
  one row per question, in the order asked. type is choice (the default), yes_no, multiple,
  number or text.
- **scores** (id | label | rule | items | params | description): items comma-separated.
- **flags** (id | label | when | level | action).
- **changes** (id | label | score | rule | params | description).
- **norms** (target | statistic | value | population | plain_population | source | n |
  verified | note).
- **examples** (label | answers | fill | expected | flags).
- **translations** (lang | kind | key | text): the texts in another language. kind is title,
  instructions, item (key: the item id), scale (key: the scale name; one row per label, in the
  scale's order) or yes_no (key: no or yes).

Cells: a blank cell means "not given" (the definition's default: optional no, scored yes,
integer yes, type choice, level warning); but a note row, or a translations row, with a blank
text gives an empty text. yes/no columns take yes, no, true or false. Numbers are Excel numbers
(a whole number is an integer, never 1.0); a decimal that a number cell would change (40.0,
which comes back 40; one with 17 significant digits, which is written with 16; inf) and an
integer beyond 2^53 are written as text, which is read back exactly. params, answers, expected
and flags hold a TOML inline table, e.g. ``{ score = "total", at_least = 10 }``, with straight
quotes. Texts are kept exactly as written, spaces and line breaks included; ids, names and words
(type, level, ...) are trimmed. Formulas are not read: a definition holds values.

Problems
========

:func:`read_definition` collects every problem with the workbook's shape at once (a missing
sheet, an unknown column with a did-you-mean, a params cell that is not an inline table, a word
where a number belongs, a formula) and raises :class:`DefinitionError`, each problem naming its
sheet, row and column. What only the whole definition shows (an unknown scale, ids used twice,
bands with gaps) is found by nefkit's own checks, which name the item or score; the data returned
remembers the row of every entry, and :func:`locate` adds the sheet, row and column to such a
problem.

:func:`write_definition` refuses (with every reason at once) a definition that a workbook cannot
give back unchanged, rather than write something that would come back different: text with
control characters, a carriage return (read back as a line feed), U+FFFE or U+FFFF, more than
32,767 characters, or only spaces (read back as blank); an empty text where blank means "not
given" (a fill, say); a language or a list entry holding a comma; a fill code beyond 2^53.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import tomllib
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nefkit import Instrument, Problem, Translation, __version__
from nefkit.documents import dumps_inline
from nefkit.errors import DefinitionError, NefkitError

READ_ME = "Read me"


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # one of KINDS
    help: str
    required: bool = False  # the sheet must have this column
    words: tuple[str, ...] = ()  # the values a drop-down offers


@dataclass(frozen=True)
class Sheet:
    name: str
    help: str
    columns: tuple[Column, ...]
    required: bool = False

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)


# What a cell of each kind holds, as the Read me sheet says it.
KINDS = {
    "word": "an id, name or word; spaces around it are dropped",
    "text": "text, kept exactly as written",
    "bool": "yes or no (true, false)",
    "int": "a whole number",
    "number": "a number",
    "list": "comma-separated",
    "table": 'a TOML inline table, e.g. { score = "total", at_least = 10 }',
    "fill": "a code (number) or an answer label (text)",
    "any": "as the setting needs",
}
YES_NO = ("yes", "no")
ITEM_TYPES = ("choice", "yes_no", "multiple", "number", "text")
LEVELS = ("risk", "warning", "info")
STATISTICS = ("percent_experienced", "percent_attributed_to_treatment", "mean", "sd")
TRANSLATION_KINDS = ("title", "instructions", "item", "scale", "yes_no")

SETTINGS = {
    "id": ("word", "The instrument's id: lowercase letters, digits, -, _ and ."),
    "version": ("text", "The definition's version, e.g. 1.0.0."),
    "title": ("text", "The full title."),
    "citation": ("text", "The publication to cite."),
    "licence": ("text", "Who may use, copy and adapt it."),
    "source": ("text", "Where the items, answers and scoring come from."),
    "languages": ("list", "Comma-separated, the language of these texts first (default: en)."),
    "instructions": ("text", "Shown to the respondent before the questions."),
    "note": ("text", "A caveat for researchers; one row per note."),
}

SHEETS = (
    Sheet(
        "settings",
        "What the instrument is and where it comes from: one row per setting.",
        (
            Column("key", "word", "The setting: " + ", ".join(SETTINGS) + ".", True),
            Column("value", "any", "Its value.", True),
        ),
        required=True,
    ),
    Sheet(
        "choices",
        "Named answer scales: one row per answer, in the order shown.",
        (
            Column("scale", "word", "The scale's name, used in the items sheet.", True),
            Column("value", "int", "The code stored and scored for this answer.", True),
            Column("label", "text", "The answer as the respondent reads it.", True),
            Column("description", "text", "What the scale asks; on any one row of the scale."),
        ),
    ),
    Sheet(
        "items",
        "The questions, one row each, in the order asked.",
        (
            Column("id", "word", "Lowercase letters, digits and _, starting with a letter.", True),
            Column("text", "text", "The question.", True),
            Column(
                "type",
                "word",
                "choice (blank), yes_no, multiple, number or text.",
                False,
                ITEM_TYPES,
            ),
            Column("scale", "word", "For choice and multiple items: a scale of the choices sheet."),
            Column("when", "text", "Ask only when this condition holds, e.g. neq01 == 1."),
            Column(
                "optional", "bool", "yes: the respondent may skip it (blank: no).", False, YES_NO
            ),
            Column("min", "number", "Number items: the smallest answer allowed."),
            Column("max", "number", "Number items: the largest answer allowed."),
            Column("integer", "bool", "Number items: no for decimals (blank: yes).", False, YES_NO),
            Column(
                "scored",
                "bool",
                "no for questions asked but never scored (blank: yes).",
                False,
                YES_NO,
            ),
            Column("note", "text", "For researchers: provenance, caveats."),
        ),
        required=True,
    ),
    Sheet(
        "scores",
        "Values computed from the answers by a scoring rule, one row each.",
        (
            Column("id", "word", "The score's id.", True),
            Column("label", "text", "Its name in reports.", True),
            Column("rule", "word", "The scoring rule: sum, bands, threshold, ...", True),
            Column("items", "list", "The item ids it reads, comma-separated."),
            Column("params", "table", "The rule's parameters as a TOML inline table."),
            Column("description", "text", "How it is computed, in words."),
        ),
    ),
    Sheet(
        "flags",
        "Alerts raised for one administration when their condition holds.",
        (
            Column("id", "word", "The flag's id.", True),
            Column("label", "text", "What it means, in words.", True),
            Column("when", "text", "The condition, e.g. phq9_9 > 0.", True),
            Column("level", "word", "risk, warning (blank) or info.", False, LEVELS),
            Column("action", "text", "What the clinician should do."),
        ),
    ),
    Sheet(
        "changes",
        "How change in a score between two administrations is classified.",
        (
            Column("id", "word", "The change's id.", True),
            Column("label", "text", "Its name in reports.", True),
            Column("score", "word", "The score id it follows.", True),
            Column("rule", "word", "The change rule, e.g. reliable_change.", True),
            Column("params", "table", "The rule's parameters as a TOML inline table."),
            Column("description", "text", "How it is classified, in words."),
        ),
    ),
    Sheet(
        "norms",
        "Published figures for an item or a score, with their source.",
        (
            Column("target", "word", "The item or score id.", True),
            Column("statistic", "word", ", ".join(STATISTICS) + ".", True, STATISTICS),
            Column("value", "number", "The figure.", True),
            Column("population", "text", "Who it was measured in.", True),
            Column("plain_population", "text", "The population in words a client understands."),
            Column("source", "text", "Where the figure is published.", True),
            Column("n", "int", "How many people."),
            Column(
                "verified",
                "bool",
                "no when the figure was not checked in the source.",
                True,
                YES_NO,
            ),
            Column("note", "text", "Caveats."),
        ),
    ),
    Sheet(
        "examples",
        "Golden cases: answers, and the scores and flags they must give.",
        (
            Column("label", "text", "What the case shows.", True),
            Column("answers", "table", "Item id = code or label, e.g. { phq9_1 = 2 }."),
            Column("fill", "fill", "The answer to every unlisted question that is always asked."),
            Column("expected", "table", 'Score id = value or "not scorable".'),
            Column("flags", "table", 'Flag id = true, false or "unknown".'),
        ),
    ),
    Sheet(
        "translations",
        "The texts in the other languages listed in settings (codes and scoring stay the same).",
        (
            Column("lang", "word", "The language, as listed in settings' languages.", True),
            Column("kind", "word", ", ".join(TRANSLATION_KINDS) + ".", True, TRANSLATION_KINDS),
            Column("key", "word", "item: its id; scale: its name; yes_no: no or yes.", True),
            Column("text", "text", "The text in that language.", True),
        ),
    ),
)
SHEET_MAP = {sheet.name: sheet for sheet in SHEETS}
# The sections that are lists of entries, each read from the sheet of its name.
LISTS = ("items", "scores", "flags", "changes", "norms", "examples")


class SpreadsheetDefinition(dict):
    """Definition data read from a workbook (a plain dict to everyone else), remembering the row
    each part came from: ``rows[("items", 3)]`` is the sheet row of the fourth item,
    ``rows[("settings", "title")]`` that of the title, ``rows[("choice", "impact", 0)]`` that of
    the first answer of the scale "impact", ``rows[("note", 0)]`` that of the first note and
    ``rows[("translations", "de")]`` the rows of the German texts."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rows: dict[tuple, Any] = {}
        self.titles: dict[str, str] = {}  # sheet: its name in the workbook, if different


def where(sheet: str, row: int | None = None, column: str | None = None) -> str:
    text = f'sheet "{sheet}"'
    if row is not None:
        text += f", row {row}"
    if column is not None:
        text += f', column "{column}"'
    return text


def _key(name: Any) -> str:
    """A sheet or column name as matched: case, spaces and underscores ignored."""
    return re.sub(r"[\s_]+", "", str(name)).casefold()


def _suggest(name: str, known: Iterable[str]) -> str:
    known = list(known)
    keyed = {_key(k): k for k in known}
    hint = difflib.get_close_matches(_key(name), list(keyed), n=1, cutoff=0.6)
    return f' (did you mean "{keyed[hint[0]]}"?)' if hint else ""


# Reading -----------------------------------------------------------------------------------

_BLANK = object()
_BAD = object()
_INT = re.compile(r"\s*[+-]?\d+\s*")
_TABLE_PREFIX = "params = "
_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_CURLY = "“”„‟‘’‚‛"


@dataclass
class _Row:
    number: int
    cells: dict[str, Any]  # column name: raw, non-blank value


def read_definition(path: Path) -> SpreadsheetDefinition:
    """The definition data a workbook holds, for nefkit to check; :class:`DefinitionError` with
    every problem of the workbook's shape, each naming its sheet, row and column."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, data_only=False)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, SyntaxError) as e:
        # SyntaxError: XML that does not parse (xml.etree's ParseError)
        raise NefkitError(f"{path}: cannot be opened as an Excel workbook ({e})") from None
    try:
        return _Reader(str(path)).read(book)
    finally:
        book.close()


class _Reader:
    def __init__(self, file: str):
        self.file = file
        self.problems: list[Problem] = []
        self.titles: dict[str, str] = {}  # sheet: its name in the workbook

    def at(self, sheet: str, row: int | None = None, column: str | None = None) -> str:
        """Where in the workbook, with the sheet's name as the workbook spells it."""
        return where(self.titles.get(sheet, sheet), row, column)

    def problem(self, where_: str, message: str) -> None:
        self.problems.append(Problem(file=self.file, where=where_, message=message))

    def read(self, book) -> SpreadsheetDefinition:
        sheets = self.sheets(book)
        tables = {name: self.rows(ws, SHEET_MAP[name]) for name, ws in sheets.items()}
        data = SpreadsheetDefinition()
        data.titles.update(self.titles)
        self.settings(data, tables.get("settings", []))
        scales = self.scales(data, tables.get("choices", []))
        if scales:
            data["scales"] = scales
        for section in LISTS:
            entries = []
            for row in tables.get(section, []):
                data.rows[(section, len(entries))] = row.number
                entries.append(self.entry(SHEET_MAP[section], row))
            if entries:
                data[section] = entries
        translations = self.translations(data, tables.get("translations", []))
        if translations:
            data["translations"] = translations
        if self.problems:
            raise DefinitionError(self.problems)
        return data

    def sheets(self, book) -> dict[str, Any]:
        found: dict[str, Any] = {}
        known = {_key(name): name for name in SHEET_MAP}
        for ws in book.worksheets:
            name = known.get(_key(ws.title))
            if _key(ws.title) == _key(READ_ME):
                continue
            if name is None:
                self.problem(
                    self.at(ws.title),
                    f"unknown sheet{_suggest(ws.title, [*SHEET_MAP, READ_ME])}; a definition"
                    f" workbook has the sheets {', '.join(SHEET_MAP)} (and {READ_ME}, skipped)",
                )
            elif name in found:
                self.problem(
                    self.at(ws.title),
                    f'is a second "{name}" sheet (the first is "{found[name].title}")',
                )
            else:
                found[name] = ws
                self.titles[name] = ws.title
        for sheet in SHEETS:
            if sheet.required and sheet.name not in found:
                self.problem(
                    self.at(sheet.name),
                    f"is missing; add a sheet named {sheet.name} with the columns "
                    + ", ".join(c.name for c in sheet.columns),
                )
        return found

    def rows(self, ws, sheet: Sheet) -> list[_Row]:
        """The sheet's non-blank rows, each cell under its column's name; header problems,
        formulas and error values reported here."""
        lines = ws.iter_rows()
        header = next(lines, ())
        columns: dict[int, str] = {}
        seen: dict[str, int] = {}
        known = {_key(c.name): c.name for c in sheet.columns}
        for index, cell in enumerate(header):
            if _blank(cell.value):
                continue
            title = str(cell.value).strip()
            name = known.get(_key(title))
            if name is None:
                self.problem(
                    self.at(sheet.name, 1, title),
                    f"unknown column{_suggest(title, known.values())}; the columns of"
                    f" {sheet.name} are {', '.join(known.values())}",
                )
                columns[index] = ""  # its cells are not read, and not reported again
            elif name in seen:
                self.problem(
                    self.at(sheet.name, 1, title),
                    f'is a second "{name}" column (the first is column'
                    f" {_letter(seen[name])}); keep one",
                )
                columns[index] = ""
            else:
                seen[name] = index
                columns[index] = name
        present = {name for name in columns.values() if name}
        if not present:
            if not any(not _blank(c.value) for line in lines for c in line):
                return []  # an empty sheet: no entries
            self.problem(
                self.at(sheet.name, 1),
                "the first row must name the columns: " + ", ".join(c.name for c in sheet.columns),
            )
            return []
        missing = [c.name for c in sheet.columns if c.required and c.name not in present]
        if missing:
            self.problem(
                self.at(sheet.name, 1),
                f"has no {', '.join(missing)} column{'s' * (len(missing) > 1)}; the columns of"
                f" {sheet.name} are {', '.join(c.name for c in sheet.columns)}",
            )
        rows = []
        for number, line in enumerate(lines, 2):
            cells: dict[str, Any] = {}
            for index, cell in enumerate(line):
                value = cell.value
                if _blank(value):
                    continue
                name = columns.get(index)
                if name is None:
                    self.problem(
                        f"{self.at(sheet.name, number)}, column {_letter(index)}",
                        "holds a value but its column has no name in the first row",
                    )
                    continue
                if not name:
                    continue
                shown = self.at(sheet.name, number, name)
                if cell.data_type == "f":
                    formula = getattr(value, "text", value)
                    self.problem(shown, f"holds a formula ({formula}); type the value itself")
                elif cell.data_type == "e":
                    self.problem(shown, f"holds the spreadsheet error {value}; type the value")
                else:
                    cells[name] = value
            if cells:
                rows.append(_Row(number, cells))
        return rows

    # One cell as the kind of value its column holds.

    def value(self, sheet: str, row: _Row, column: str, kind: str) -> Any:
        """The cell converted, ``_BLANK`` when empty, ``_BAD`` (reported) when it cannot be."""
        raw = row.cells.get(column, _BLANK)
        if raw is _BLANK:
            return _BLANK
        value, message = convert(kind, raw)
        if message is not None:
            self.problem(self.at(sheet, row.number, column), message)
            return _BAD
        return value

    def entry(self, sheet: Sheet, row: _Row) -> dict[str, Any]:
        entry = {}
        for column in sheet.columns:
            value = self.value(sheet.name, row, column.name, column.kind)
            if value is not _BLANK and value is not _BAD:
                entry[column.name] = value
        return entry

    def settings(self, data: SpreadsheetDefinition, rows: list[_Row]) -> None:
        given: dict[str, Any] = {}
        notes = []
        for row in rows:
            key = self.value("settings", row, "key", "word")
            if key is _BAD:
                continue
            if key is _BLANK:
                self.problem(
                    self.at("settings", row.number, "key"),
                    "is blank; name the setting: " + ", ".join(SETTINGS),
                )
                continue
            name = {_key(k): k for k in SETTINGS}.get(_key(key))
            if name is None:
                self.problem(
                    self.at("settings", row.number, "key"),
                    f"unknown setting '{key}'{_suggest(key, SETTINGS)}; the settings are "
                    + ", ".join(SETTINGS),
                )
                continue
            value = self.value("settings", row, "value", SETTINGS[name][0])
            if name == "note":
                data.rows[("note", len(notes))] = row.number
                # A note row is a note, even an empty one: notes = [""] comes back as it went.
                notes.append("" if value is _BLANK else value)
                continue
            if name in given:
                self.problem(
                    self.at("settings", row.number, "key"),
                    f"'{name}' is given twice (also in row {data.rows[('settings', name)]})",
                )
                continue
            data.rows[("settings", name)] = row.number
            given[name] = value
        for name in SETTINGS:
            if name == "note" and notes:
                data["notes"] = notes
            elif given.get(name, _BLANK) not in (_BLANK, _BAD):
                data[name] = given[name]

    def scales(self, data: SpreadsheetDefinition, rows: list[_Row]) -> dict[str, Any]:
        scales: dict[str, dict[str, Any]] = {}
        described: dict[str, int] = {}
        for row in rows:
            name = self.value("choices", row, "scale", "word")
            if name is _BAD:
                continue
            if name is _BLANK:
                self.problem(
                    self.at("choices", row.number, "scale"),
                    "is blank; which scale is this answer of?",
                )
                continue
            scale = scales.setdefault(name, {})
            description = self.value("choices", row, "description", "text")
            if description not in (_BLANK, _BAD):
                if name in described and scale["description"] != description:
                    self.problem(
                        self.at("choices", row.number, "description"),
                        f"scale '{name}' has a different description in row {described[name]};"
                        " give it on one row only",
                    )
                else:
                    described.setdefault(name, row.number)
                    scale["description"] = description
            choice = self.entry(_CHOICE_SHEET, row)
            choices = scale.setdefault("choices", [])
            data.rows[("choice", name, len(choices))] = row.number
            data.rows.setdefault(("scales", name), []).append(row.number)
            choices.append(choice)
        # Keys in the order a definition writes them.
        return {
            name: {key: scale[key] for key in ("description", "choices") if key in scale}
            for name, scale in scales.items()
        }

    def translations(self, data: SpreadsheetDefinition, rows: list[_Row]) -> dict[str, Any]:
        found: dict[str, dict[str, Any]] = {}
        first: dict[tuple, int] = {}  # where each single text was given
        yes_no: dict[str, dict[str, tuple[str, int]]] = {}
        for row in rows:
            lang = self.value("translations", row, "lang", "word")
            kind = self.value("translations", row, "kind", "word")
            key = self.value("translations", row, "key", "word")
            text = self.value("translations", row, "text", "text")
            if _BAD in (lang, kind, key, text):
                continue
            for column, value in (("lang", lang), ("kind", kind)):
                if value is _BLANK:
                    self.problem(self.at("translations", row.number, column), "is blank")
            if _BLANK in (lang, kind):
                continue
            kind = kind.casefold()
            text = "" if text is _BLANK else text  # the row gives the text: an empty one
            if kind not in TRANSLATION_KINDS:
                self.problem(
                    self.at("translations", row.number, "kind"),
                    f"unknown kind '{kind}'{_suggest(kind, TRANSLATION_KINDS)}; use "
                    + ", ".join(TRANSLATION_KINDS),
                )
                continue
            if kind in ("title", "instructions"):
                if key is not _BLANK:
                    self.problem(
                        self.at("translations", row.number, "key"),
                        f"a {kind} takes no key; leave it blank",
                    )
                    continue
            elif key is _BLANK:
                needs = {"item": "the item id", "scale": "the scale name", "yes_no": "no or yes"}
                self.problem(self.at("translations", row.number, "key"), f"give {needs[kind]}")
                continue
            if kind == "yes_no" and key.casefold() not in YES_NO:
                self.problem(
                    self.at("translations", row.number, "key"),
                    f"is '{key}'; a yes_no row's key is no or yes",
                )
                continue
            data.rows.setdefault(("translations", lang), []).append(row.number)
            target = found.setdefault(lang, {})
            single = (lang, kind, key.casefold() if kind == "yes_no" else key)
            if kind != "scale":
                if single in first:
                    self.problem(
                        self.at("translations", row.number, "key" if key is not _BLANK else "kind"),
                        f"the {lang} {kind}{'' if key is _BLANK else ' ' + key} is given twice"
                        f" (also in row {first[single]})",
                    )
                    continue
                first[single] = row.number
            if kind in ("title", "instructions"):
                target[kind] = text
            elif kind == "item":
                target.setdefault("items", {})[key] = text
            elif kind == "scale":
                target.setdefault("scales", {}).setdefault(key, []).append(text)
            else:
                yes_no.setdefault(lang, {})[key.casefold()] = (text, row.number)
        for lang, words in yes_no.items():
            if set(words) == set(YES_NO):
                found[lang]["yes_no"] = [words["no"][0], words["yes"][0]]
            else:
                (given, (_, number)), *_ = words.items()
                other = "yes" if given == "no" else "no"
                self.problem(
                    self.at("translations", number, "key"),
                    f"the {lang} word for {given} is given but not the one for {other}: give both",
                )
        order = ("title", "instructions", "items", "scales", "yes_no")
        return {
            lang: {key: texts[key] for key in order if key in texts}
            for lang, texts in found.items()
        }


_CHOICE_SHEET = Sheet(
    "choices", "", tuple(c for c in SHEET_MAP["choices"].columns if c.name in ("value", "label"))
)


def convert(kind: str, raw: Any) -> tuple[Any, str | None]:
    """A non-blank cell as a value of ``kind``: (value, None), or (None, what is wrong)."""
    if kind == "any":
        return raw, None
    if isinstance(raw, (dt.datetime, dt.date, dt.time, dt.timedelta)):
        return None, (
            f"is a date or time ({raw}); the spreadsheet took what was typed for one:"
            " format the cell as Text and type it again"
        )
    if isinstance(raw, bool):
        if kind == "bool":
            return raw, None
        return None, f"is {'TRUE' if raw else 'FALSE'}; {_wanted(kind)}"
    if kind == "bool":
        if isinstance(raw, str) and raw.strip().casefold() in ("yes", "true"):
            return True, None
        if isinstance(raw, str) and raw.strip().casefold() in ("no", "false"):
            return False, None
        return None, f"is {raw!r}; write yes or no"
    if kind in ("int", "fill"):
        if isinstance(raw, int):
            return raw, None
        if isinstance(raw, float):
            if math.isfinite(raw) and raw.is_integer():
                return int(raw), None
            return None, f"is {raw!r}; {_wanted(kind)}"
        if isinstance(raw, str) and kind == "fill":
            return raw, None
        if isinstance(raw, str) and _INT.fullmatch(raw):
            return int(raw), None
        return None, f"is {raw!r}; {_wanted(kind)}"
    if kind == "number":
        if isinstance(raw, (int, float)):
            return raw, None
        if isinstance(raw, str):
            if _INT.fullmatch(raw):
                return int(raw), None
            try:
                if "_" not in raw:  # Python reads 1_0 as 10; a spreadsheet user never means it
                    return float(raw), None
            except ValueError:
                pass
        return None, f"is {raw!r}; {_wanted(kind)}"
    # Text of some kind.
    if isinstance(raw, int):
        text = str(raw)
    elif isinstance(raw, float):
        return None, (
            f"is the number {raw!r}; text is needed here: format the cell as Text and type it"
            " again, so that what you typed is kept as it is"
        )
    elif isinstance(raw, str):
        text = raw
    else:
        return None, f"is {raw!r}; {_wanted(kind)}"
    if kind == "word":
        return text.strip(), None
    if kind == "list":
        return [part.strip() for part in text.split(",") if part.strip()], None
    if kind == "table":
        return parse_table(text)
    return text, None


def _wanted(kind: str) -> str:
    return {
        "int": "a whole number is needed here",
        "fill": "a code (a whole number) or an answer label is needed here",
        "number": "a number is needed here",
        "bool": "write yes or no",
    }.get(kind, f"{KINDS[kind]} is needed here")


def parse_table(text: str) -> tuple[dict | None, str | None]:
    """A cell's TOML inline table, read as TOML reads ``params = <text>``."""
    example = 'write it like { score = "total", at_least = 10 }'
    try:
        document = tomllib.loads(_TABLE_PREFIX + text)
    except tomllib.TOMLDecodeError as e:
        message = _POSITION.sub(_shift, str(e))
        curly = [c for c in _CURLY if c in text]
        hint = (
            f"; it has curly quotes ({' '.join(curly)}), which autocorrect makes: TOML needs"
            ' straight ones (")'
            if curly
            else ""
        )
        return None, f"is not a TOML inline table ({message}){hint}; {example}"
    if set(document) != {"params"}:
        return None, f"holds more than one TOML value; {example}"
    value = document["params"]
    if not isinstance(value, dict):
        return None, f"is a single value, not an inline table; {example}"
    return value, None


def _shift(match: re.Match) -> str:
    """Positions in a TOML error counted in the cell, not in ``params = <cell>``."""
    line, column = int(match.group(1)), int(match.group(2))
    if line == 1:
        column = max(column - len(_TABLE_PREFIX), 1)
    return f"at line {line}, character {column}" if line > 1 else f"at character {column}"


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


# Locating nefkit's own problems ------------------------------------------------------------

_ENTITY = re.compile(r'^(item|score|flag|change|norm|example) (?:"(.*)"|#(\d+))$')
_SCALE = re.compile(r'^scale "(.*)"$')
_NUMBERED = re.compile(r"^(?:note|language|choice) #(\d+)$")


def locate(problems: Iterable[Problem], data: Any) -> list[Problem]:
    """nefkit's problems with a definition read from a workbook, each with the sheet, row and
    (where known) column it comes from put first: ``item "neq04" › scale`` becomes
    ``sheet "items", row 14, column "scale" (item "neq04" › scale)``. Problems of data not
    read from a workbook, and those that no row can be found for, are returned unchanged."""
    rows = getattr(data, "rows", None)
    if rows is None:
        return list(problems)
    located = []
    for problem in problems:
        place = _place(problem.where, data, rows)
        for sheet, title in getattr(data, "titles", {}).items():
            if place and place.startswith(f'sheet "{sheet}"'):
                place = where(title) + place[len(where(sheet)) :]
        if place:
            problem = problem.model_copy(update={"where": f"{place} ({problem.where})"})
        located.append(problem)
    return located


def _place(text: str, data: dict, rows: dict) -> str | None:
    parts = text.split(" › ") if text else []
    if not parts:
        return None
    head, rest = parts[0], parts[1:]
    entity = _ENTITY.match(head)
    if entity:
        kind, ident, number = entity.groups()
        section = kind + "s"
        entries = data.get(section) or []
        if number is not None:
            indexes = [int(number) - 1]
        else:
            field = "label" if section == "examples" else "id"
            indexes = [
                i for i, e in enumerate(entries) if isinstance(e, dict) and e.get(field) == ident
            ]
        numbers = [rows[(section, i)] for i in indexes if (section, i) in rows]
        columns = {c.name for c in SHEET_MAP[section].columns}
        column = rest[0] if rest and rest[0] in columns else None
        return _rows_text(section, numbers, column)
    scale = _SCALE.match(head)
    if scale:
        name = scale.group(1)
        numbered = _NUMBERED.match(rest[1]) if len(rest) > 1 and rest[0] == "choices" else None
        numbered = numbered or (_NUMBERED.match(rest[0]) if rest else None)
        if numbered and ("choice", name, int(numbered.group(1)) - 1) in rows:
            index = int(numbered.group(1)) - 1
            after = rest[rest.index(numbered.group(0)) + 1 :]
            column = after[0] if after and after[0] in ("value", "label") else None
            return _rows_text("choices", [rows[("choice", name, index)]], column)
        return _rows_text("choices", rows.get(("scales", name), []), None)
    numbered = _NUMBERED.match(head)
    if numbered and head.startswith("note"):
        number = rows.get(("note", int(numbered.group(1)) - 1))
        return _rows_text("settings", [number] if number else [], "value")
    if head == "languages" or head.startswith("language #"):
        number = rows.get(("settings", "languages"))
        return _rows_text("settings", [number] if number else [], "value")
    if head == "notes":
        return where("settings")
    if head in SETTINGS and ("settings", head) in rows:
        return _rows_text("settings", [rows[("settings", head)]], "value")
    if head in SETTINGS or head == "top level":
        return where("settings")
    if head == "translations":
        lang = rest[0] if rest else None
        numbers = rows.get(("translations", lang), []) if lang else []
        return _rows_text("translations", numbers[:1], None) if numbers else where("translations")
    if head == "items":
        return where("items")
    return None


def _rows_text(sheet: str, numbers: list[int], column: str | None) -> str | None:
    if not numbers:
        return None
    if len(numbers) == 1:
        return where(sheet, numbers[0], column)
    shown = f'sheet "{sheet}", rows {", ".join(map(str, numbers))}'
    return shown + (f', column "{column}"' if column else "")


# Writing -----------------------------------------------------------------------------------

# Beyond this an Excel number loses digits: such integers are written as text.
_EXACT = 2**53
# Characters a workbook's XML cannot carry (a workbook holding them could not be
# opened). Tab and line feed are fine; a carriage return is read back as a line feed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def write_definition(instrument: Instrument, path: Path) -> None:
    """A workbook holding ``instrument`` exactly, for editing and :func:`read_definition`."""
    from .book import open_book

    writer = _Writer(instrument)
    sheets = writer.sheets()
    if writer.problems:
        raise DefinitionError(writer.problems)
    with open_book(path) as book:
        _read_me(book, instrument)
        for sheet in SHEETS:
            _write_sheet(book, sheet, sheets[sheet.name])


class _Writer:
    """The rows of every sheet, as cell values; text a cell cannot give back unchanged is
    collected as problems rather than written."""

    def __init__(self, instrument: Instrument):
        self.instrument = instrument
        self.problems: list[Problem] = []

    def problem(self, at: str, message: str) -> None:
        self.problems.append(Problem(file=self.instrument.id, where=at, message=message))

    def text(self, at: str, value: str | None, kind: str = "text", none_default=False) -> Any:
        """``value`` for a text cell; None for a blank one."""
        from .styles import MAX_CELL_TEXT

        if value is None:
            return None
        if value == "" and none_default:
            self.problem(at, "is empty text, which a blank cell (not given) cannot tell apart")
        bad = _NOT_XML.search(value)
        if bad:
            self.problem(
                at,
                f"holds the character U+{ord(bad.group()):04X}, which an Excel cell cannot hold",
            )
        if "\r" in value:
            self.problem(
                at, "holds a carriage return, which a spreadsheet gives back as a line break"
            )
        if len(value) > MAX_CELL_TEXT:
            self.problem(
                at, f"is {len(value):,} characters long; an Excel cell holds {MAX_CELL_TEXT:,}"
            )
        if value and not value.strip():
            self.problem(at, "is only spaces, which a spreadsheet reads as a blank cell")
        if kind == "word" and value != value.strip():
            self.problem(at, "has spaces around it, which are dropped when it is read back")
        return value

    def words(self, at: str, values: list[str]) -> str:
        for value in values:
            self.text(at, value, "word")
            if "," in value or not value:
                self.problem(at, f"{value!r} cannot be one entry of a comma-separated cell")
        return ", ".join(values)

    def table(self, at: str, value: dict) -> Any:
        if not value:
            return None
        return self.text(at, dumps_inline(value, spread=True))

    @staticmethod
    def number(value: Any) -> Any:
        """Integers as numbers (as text beyond 2^53, which Excel would round); decimals as
        numbers, except those a number cell would give back different: as an integer (40.0),
        rounded (XlsxWriter writes 16 significant digits: 0.30000000000000004 would come back
        0.3), or not at all (inf, nan). Those are written as text, which the reader turns back
        into the same decimal."""
        if value is None:
            return None
        if isinstance(value, int):
            return value if abs(value) <= _EXACT else _AsText(str(value))
        if math.isfinite(value) and not value.is_integer() and float(f"{value:.16g}") == value:
            return value
        return _AsText(repr(value))

    def sheets(self) -> dict[str, list[list[Any]]]:
        inst = self.instrument
        text, words = self.text, self.words
        settings: list[list[Any]] = [
            ["id", text("id", inst.id, "word")],
            ["version", text("version", inst.version)],
            ["title", text("title", inst.title)],
            ["citation", text("citation", inst.citation)],
            ["licence", text("licence", inst.licence)],
            ["source", text("source", inst.source)],
            ["languages", words("languages", inst.languages)],
            ["instructions", text("instructions", inst.instructions)],
        ]
        settings += [["note", text(f"note #{i}", n)] for i, n in enumerate(inst.notes, 1)]

        choices = []
        for name, scale in inst.scales.items():
            at = f'scale "{name}"'
            text(at, name, "word")
            if not name:
                self.problem(at, "an empty scale name cannot be written to a cell")
            for index, choice in enumerate(scale.choices):
                choices.append(
                    [
                        name,
                        self.number(choice.value),
                        text(f"{at} › choice #{index + 1} › label", choice.label),
                        text(f"{at} › description", scale.description) if index == 0 else None,
                    ]
                )

        items = []
        for item in inst.items:
            at = f'item "{item.id}"'
            items.append(
                [
                    item.id,
                    text(f"{at} › text", item.text),
                    item.type,
                    text(f"{at} › scale", item.scale, "word", none_default=True),
                    text(f"{at} › when", item.when, none_default=True),
                    "yes" if item.optional else None,
                    self.number(item.min),
                    self.number(item.max),
                    ("yes" if item.integer else "no")
                    if item.type == "number" or not item.integer
                    else None,
                    None if item.scored else "no",
                    text(f"{at} › note", item.note),
                ]
            )

        scores = [
            [
                s.id,
                text(f'score "{s.id}" › label', s.label),
                text(f'score "{s.id}" › rule', s.rule, "word"),
                words(f'score "{s.id}" › items', s.items),
                self.table(f'score "{s.id}" › params', s.params),
                text(f'score "{s.id}" › description', s.description),
            ]
            for s in inst.scores
        ]
        flags = [
            [
                f.id,
                text(f'flag "{f.id}" › label', f.label),
                text(f'flag "{f.id}" › when', f.when),
                f.level,
                text(f'flag "{f.id}" › action', f.action),
            ]
            for f in inst.flags
        ]
        changes = [
            [
                c.id,
                text(f'change "{c.id}" › label', c.label),
                c.score,
                text(f'change "{c.id}" › rule', c.rule, "word"),
                self.table(f'change "{c.id}" › params', c.params),
                text(f'change "{c.id}" › description', c.description),
            ]
            for c in inst.changes
        ]
        norms = []
        for number, n in enumerate(inst.norms, 1):
            at = f"norm #{number}"
            norms.append(
                [
                    n.target,
                    n.statistic,
                    self.number(n.value),
                    text(f"{at} › population", n.population),
                    text(f"{at} › plain_population", n.plain_population),
                    text(f"{at} › source", n.source),
                    self.number(n.n),
                    "yes" if n.verified else "no",
                    text(f"{at} › note", n.note),
                ]
            )
        examples = []
        for number, e in enumerate(inst.examples, 1):
            at = f"example #{number}"
            fill = e.fill
            if isinstance(fill, str):
                fill = _AsText(text(f"{at} › fill", fill, none_default=True))
            elif fill is not None and abs(fill) > _EXACT:
                self.problem(
                    f"{at} › fill",
                    f"the code {fill} is too large for a spreadsheet number, and as text it"
                    " would be read back as an answer label",
                )
            examples.append(
                [
                    text(f"{at} › label", e.label),
                    self.table(f"{at} › answers", e.answers),
                    fill,
                    self.table(f"{at} › expected", e.expected),
                    self.table(f"{at} › flags", e.flags),
                ]
            )
        translations = []
        for lang, t in inst.translations.items():
            at = f"translations › {lang}"
            text(at, lang, "word")
            if t == Translation():
                self.problem(at, "has no texts: the translations sheet would have no row for it")
            if t.title is not None:
                translations.append([lang, "title", None, text(f"{at} › title", t.title)])
            if t.instructions is not None:
                translations.append(
                    [lang, "instructions", None, text(f"{at} › instructions", t.instructions)]
                )
            for key, question in t.items.items():
                translations.append([lang, "item", key, text(f"{at} › items › {key}", question)])
            for name, labels in t.scales.items():
                text(f"{at} › scales", name, "word")
                if not labels:
                    self.problem(f"{at} › scales › {name}", "has no labels, so no row to write")
                for label in labels:
                    translations.append([lang, "scale", name, text(f"{at} › scales", label)])
            if t.yes_no is not None:
                no, yes = t.yes_no
                translations.append([lang, "yes_no", "no", text(f"{at} › yes_no", no)])
                translations.append([lang, "yes_no", "yes", text(f"{at} › yes_no", yes)])
        return {
            "settings": settings,
            "choices": choices,
            "items": items,
            "scores": scores,
            "flags": flags,
            "changes": changes,
            "norms": norms,
            "examples": examples,
            "translations": translations,
        }


class _AsText(str):
    """A value written as a text cell in a number column (see :meth:`_Writer.number`)."""


# Columns wider than this wrap their text; tables always do, one band a line.
_WRAP_AT = 50


def _write_sheet(book, sheet: Sheet, rows: list[list[Any]]) -> None:
    from .paper import page_setup
    from .styles import width_for, write_text, write_value

    ws, styles = book.sheet(sheet.name), book.styles
    for index, column in enumerate(sheet.columns):
        write_text(ws, styles, 0, index, column.name, ("header",))
    ws.freeze_panes(1, 0)
    widths = []
    for index, column in enumerate(sheet.columns):
        values = [row[index] for row in rows]
        width = width_for(column.name, *values, least=8, most=_WRAP_AT + 10)
        widths.append(width)
        # Typed into later, a text column keeps text as typed: 1.10 stays 1.10, =x stays text.
        typed = "text" if column.kind not in ("int", "number", "fill") else None
        ws.set_column(index, index, width, styles(typed) if typed else None)
        if column.words:
            ws.data_validation(1, index, 1_048_575, index, _drop_down(column))
    for number, row in enumerate(rows, 1):
        for index, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, str):  # a text cell: never a formula or an error
                long = len(value) > widths[index] - 2 or "\n" in value
                write_text(ws, styles, number, index, value, ("text", "wrap" if long else "top"))
            else:
                write_value(ws, styles, number, index, value, ("top",))
    page_setup(ws, widths, header_rows=1)


def _drop_down(column: Column) -> dict[str, Any]:
    return {
        "validate": "list",
        "source": list(column.words),
        "ignore_blank": True,
        "input_title": column.name[:32],
        "input_message": column.help[:255],
        "error_type": "stop",
        "error_title": f"Not a {column.name}"[:32],
        "error_message": f"Choose one of: {', '.join(column.words)}."[:255],
    }


def _read_me(book, instrument: Instrument) -> None:
    from .paper import PROSE

    lines = book.lines(READ_ME, most=PROSE)
    lines.title(f"{instrument.id}: instrument definition")
    lines.note(instrument.title)
    lines.note(
        "Edit the sheets that follow, then turn the workbook back into a definition and check it:"
    )
    lines.pair("import", f"nefkit import-definition this-file.xlsx -o {instrument.id}.toml")
    lines.pair("check", f"nefkit validate --check-examples {instrument.id}.toml")
    lines.heading("How to fill it in")
    for key, text in (
        (
            "columns",
            "The first row of each sheet names its columns; keep these names (case, spaces"
            " and _ do not matter). Columns may be moved; a column left out is blank in every"
            " row.",
        ),
        ("rows", "One row per entry, in order; blank rows are skipped."),
        (
            "blank cells",
            "A blank cell means 'not given': the default (optional: no, scored: yes,"
            " integer: yes, type: choice, level: warning).",
        ),
        ("yes/no", "yes or no (true and false work too)."),
        (
            "numbers",
            "Excel numbers; a whole number is an integer. A decimal that a number cell would"
            " change (40.0, which would come back 40, or one with 17 digits) is written as"
            " text and read back exactly.",
        ),
        ("lists", "languages and a score's items: comma-separated (phq9_1, phq9_2)."),
        (
            "inline tables",
            'params, answers, expected and flags: TOML inline tables, e.g. { score = "total",'
            ' at_least = 10 }, with straight quotes ("), not curly ones.',
        ),
        (
            "texts",
            "Kept exactly as written, line breaks included; text cells stay text (a question"
            " starting with = is not a formula). Formulas are not read: type values.",
        ),
        (
            "translations",
            "The translations sheet holds the texts in the other languages listed in"
            " settings: kind title or instructions (no key), item (key: the item id), scale"
            " (key: the scale name, one row per label in the scale's order) or yes_no (key: no"
            " or yes).",
        ),
        (
            "problems",
            "nefkit import-definition names the sheet, row and column of every problem it"
            " finds in the workbook's shape, then checks the definition as nefkit validate"
            " does.",
        ),
        ("this sheet", "Skipped on import; any other sheet is an error."),
    ):
        lines.pair(key, text)
    lines.heading("Sheets and columns")
    rows = []
    for sheet in SHEETS:
        rows.append([sheet.name, "", sheet.help + (" Required." if sheet.required else "")])
        if sheet.name == "settings":
            for key, (kind, help_) in SETTINGS.items():
                rows.append(["", f"{key} (key)", f"{help_} ({KINDS[kind]})"])
            continue
        for column in sheet.columns:
            need = "; required column" if column.required else ""
            rows.append(["", column.name, f"{column.help} ({KINDS[column.kind]}{need})"])
    lines.table(["sheet", "column", "what it holds"], rows)
    lines.heading("Where this came from")
    lines.pair("instrument", instrument.id)
    lines.pair("version", instrument.version)
    lines.pair("content hash", instrument.content_hash)
    lines.note(
        "Imported again unchanged, this workbook gives a definition with the same content hash."
    )
    lines.pair("nefkit version", __version__)
    lines.write()
