"""Writing scored results to an Excel workbook as they stream past.

Every sheet is streamed to a temporary file of its own (XlsxWriter's ``constant_memory``), so
the Scores and Responses sheets fill side by side while the rows are read once, and memory
stays flat however many rows there are. Summary figures are gathered on the way; the change
scores and the problems are complete once the rows are exhausted, and their sheets (added in
place at the start) are written then.

Sheets per instrument: Scores, Responses, Change (when the instrument defines changes), Summary,
Problems, Codebook, About. With several instruments in one workbook each sheet's name starts with
the instrument id ("phq-9 Scores").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import chain
from math import isfinite
from operator import itemgetter
from pathlib import Path
from typing import Any

from xlsxwriter.worksheet import Worksheet

from nefkit.renderers import RenderOptions
from nefkit.results import Results, ScoredRow
from nefkit.summary import GroupedSummary
from nefkit.tabular import FORMULA_START, change_columns, change_record, score_columns, score_record

from .book import Book, forget_row, open_book
from .paper import LINE, PROSE, fit_row, lines_needed, page_setup
from .report import DETERIORATED, PRIVACY, Lines, codebook_lines, instrument_pairs, summary_lines
from .styles import (
    EXACT,
    MARK,
    SLOW_TEXT,
    Styled,
    alert,
    bold,
    set_widths,
    sheet_title,
    styled,
    write_text,
    write_value,
)

# Rows a sheet holds, its header included (Excel's limit). A table with more rows continues on
# "Scores (2)", "Scores (3)", ...: never cut. Tests lower it to prove the split.
MAX_ROWS = 1_048_576

# Widths of columns whose content is known in kind though not yet seen (characters). The
# header wraps, so a long column name does not widen its column beyond HEADER_MOST.
_WIDTHS = {
    "attention": 36,
    "row": 7,
    "respondent_id": 14,
    "administered_at": 11,
    "session": 8,
    "notes": 60,
    "instrument": 34,
    "reason": 80,
    "value": 20,
    "classification": 22,
    "comparison": 19,
}
HEADER_MOST = 14
# The widest a column is made for the text it turns out to hold (more is cut off on screen).
GROW_MOST = 40
# Text up to this long is written as it is when nothing in it needs neutralising; longer text
# goes through write_text (which cuts it at Excel's limit, with a note).
MAX_PLAIN = 16_383
_STATUS = "not scorable"


class Table:
    """One table streamed over as many sheets as it needs: a header, frozen, filtered, printed
    on every page and with set widths on each part. ``append`` writes the next row, to a new
    part when the current one is full."""

    def __init__(
        self,
        book: Book,
        base: str,
        prefix: str,
        columns: list[str],
        freeze: int,
        widths: list[float],
        wrap: set[str],
    ):
        self.book, self.base, self.prefix = book, base, prefix
        self.columns, self.freeze, self.widths = columns, freeze, widths
        # The columns whose text wraps when it is longer than they are wide.
        self.wrap = [(i, widths[i]) for i, name in enumerate(columns) if name in wrap]
        self.parts: list[list] = []  # [sheet, rows written], in order
        self.row = 0
        # Per column, short text seen and written as it is (nothing to neutralise), and the
        # longest text seen: a column is widened to it at the end (up to GROW_MOST), when
        # XlsxWriter writes the widths.
        self.plain: list[set[str]] = [set() for _ in columns]
        self.longest = [0] * len(columns)
        self.tall: int | None = None  # the last row given a height, while XlsxWriter holds it
        self._new_part()

    def _new_part(self) -> None:
        if self.parts:
            self.parts[-1][1] = self.row
        after = self.parts[-1][0] if self.parts else None
        title = sheet_title(self.base, self.prefix, len(self.parts) + 1, self.book.taken)
        ws = self.ws = self.book.sheet(title, after)
        ws.freeze_panes(1, self.freeze)
        set_widths(ws, self.widths)
        for col, name in enumerate(self.columns):
            write_text(ws, self.book.styles, 0, col, name, ("header",))
        fit_row(
            ws, 0, max(lines_needed(n, w, bold=True) for n, w in zip(self.columns, self.widths))
        )
        self.parts.append([ws, 0])
        self.row = 0
        self.tall = None
        self.write_string, self.write_number = ws.write_string, ws.write_number

    def append(self, values: list) -> None:
        """One row: None and empty text are blank cells; a :class:`Styled` value is written
        with its look. The common cells (text, whole numbers) are written here directly, and
        text seen to be plain is remembered (the same few words fill most cells), so that it
        is checked and measured once. (The one loop over every cell.)"""
        if self.row >= MAX_ROWS - 1:
            self._new_part()
        self.row += 1
        row, ws, styles, plain = self.row, self.ws, self.book.styles, self.plain
        write_string, write_number = self.write_string, self.write_number
        lines = 1
        for col, width in self.wrap:
            v = values[col]
            styled_ = v.__class__ is Styled
            text = v.value if styled_ else v
            if text.__class__ is str and (len(text) > width - 2 or "\n" in text):
                lines = max(lines, lines_needed(text, width, bold(v)))
                values[col] = Styled(text, (*v.names, "wrap") if styled_ else ("wrap",))
        for col, v in enumerate(values):
            t = v.__class__
            if t is str:
                if v in plain[col]:
                    write_string(row, col, v)
                elif v:
                    if v[0] in FORMULA_START or SLOW_TEXT.search(v) or len(v) > MAX_PLAIN:
                        write_text(ws, styles, row, col, v)
                    else:
                        write_string(row, col, v)
                        if len(v) <= 24 and len(plain[col]) < 512:
                            plain[col].add(v)
                    if len(v) > self.longest[col]:
                        self.longest[col] = len(v)
            elif (t is int and -EXACT <= v <= EXACT) or (t is float and isfinite(v)):
                write_number(row, col, v)
            elif v is not None:
                write_value(ws, styles, row, col, v)
        if self.tall is not None:  # written out now that a later row has begun
            forget_row(ws, self.tall)
            self.tall = None
        if lines > 1:
            ws.set_row(row, lines * LINE)
            self.tall = row

    def finish(self) -> list[tuple[str, int]]:
        """Widen the columns whose text is wider than guessed (not those that wrap: their
        rows' heights were worked out from their widths), put a filter on each part's data;
        return (sheet title, rows) per part."""
        self.parts[-1][1] = self.row
        last = len(self.columns) - 1
        wrapped = {col for col, _ in self.wrap}
        for col, width in enumerate(self.widths):
            if col not in wrapped and self.longest[col] + 2 > width:
                self.widths[col] = float(min(self.longest[col] + 2, GROW_MOST))
        for ws, rows in self.parts:
            set_widths(ws, self.widths)
            page_setup(ws, self.widths, header_rows=1)
            ws.autofilter(0, 0, rows, last)
        return [(ws.get_name(), rows) for ws, rows in self.parts]


def write_workbook(batch: Sequence[Results], path: Path, options: RenderOptions) -> None:
    with open_book(path) as book:
        prefix = len(batch) > 1
        writers = [_Sheets(book, r, r.instrument.id if prefix else "") for r in batch]
        for writer in writers:
            writer.write(options)


class _Sheets:
    """The sheets of one instrument's results. All are added at once, so that they sit in
    order; the rows are written in :meth:`write`."""

    def __init__(self, book: Book, results: Results, prefix: str):
        self.book, self.results, self.prefix = book, results, prefix
        self.rows: Iterator[ScoredRow] = iter(results.rows)
        first = next(self.rows, None)
        if first is not None:
            self.rows = chain([first], self.rows)
        plan = results.plan
        # The item columns the data file had (an optional item's column may be absent).
        self.items = list(first.cells) if first is not None else [i.id for i in plan.items]
        # Widths are set with the header, so they come from what a column can hold.
        least = dict(_WIDTHS)
        for step in plan.steps:
            bands = getattr(step.params, "bands", None) or []
            least[step.score.id] = max([8, *(len(band.label) + 2 for band in bands)])
            least[f"{step.score.id}_status"] = len(_STATUS) + 2
        for step in plan.flags:
            least[f"flag_{step.flag.id}"] = len("unknown") + 2
        self.wrap = {"attention", "notes", "value", "reason"}
        for item in plan.items:
            least[item.id] = 40 if item.type == "text" else 8
            if item.type == "text":
                self.wrap.add(item.id)
        # The header row, and the columns that say whose row it is, stay in view when scrolling.
        self.scores = self._table("Scores", ["attention", *score_columns(results)], 3, least)
        self.responses = self._table(
            "Responses",
            ["attention", "row", "respondent_id", "session", "administered_at", *self.items],
            3,
            least,
        )
        self.changes = (
            self._table("Change", ["attention", *change_columns()], 2, least)
            if plan.changes
            else None
        )
        self.summary = self._sheet("Summary")
        self.problems = self._table("Problems", ["row", "column", "value", "reason"], 0, least)
        self.codebook = self._sheet("Codebook")
        self.about = self._sheet("About")

    def _table(self, base: str, columns: list[str], freeze: int, least: dict) -> Table:
        widths = [
            float(max(least.get(name, 10), min(len(name) + 2, HEADER_MOST))) for name in columns
        ]
        return Table(self.book, base, self.prefix, columns, freeze, widths, self.wrap)

    def _sheet(self, base: str) -> Worksheet:
        return self.book.sheet(sheet_title(base, self.prefix, taken=self.book.taken))

    def _lines(self, ws: Worksheet, most: int = 60) -> Lines:
        return Lines(ws, self.book.styles, most)

    def write(self, options: RenderOptions) -> None:
        results = self.results
        by = options.by if options.by in results.context_columns else None
        summary = GroupedSummary(results.plan, by)
        self._stream(summary)
        for change in results.changes:  # complete now that the rows are exhausted
            summary.add_change(change)
        if self.changes is not None:
            self._write_changes()
        self._write_problems()
        tables = [t for t in (self.scores, self.responses, self.changes, self.problems) if t]
        parts = {table.base: table.finish() for table in tables}

        lines = self._lines(self.summary)
        summary_lines(lines, results.plan, summary, by, options.min_cell)
        if options.by is not None and by is None:
            lines.note(f"No breakdown: the data has no column {options.by}.")
        lines.write()
        lines = self._lines(self.codebook)
        codebook_lines(lines, results.plan)
        lines.write()
        self._write_about(options, parts)

    def _stream(self, summary: GroupedSummary) -> None:
        """Every row to Scores and Responses, and into the summary, in one pass (the one loop
        over the rows: a progress report would count them here)."""
        results, plan = self.results, self.results.plan
        columns = self.scores.columns
        flags = [(columns.index(f"flag_{s.flag.id}"), s.flag) for s in plan.flags]
        statuses = {s.score.id: columns.index(f"{s.score.id}_status") for s in plan.steps}
        row_status = columns.index("row_status")
        raw = {name: i for i, name in enumerate(self.responses.columns)}
        items = self.items
        received = _picker(items)
        scores, responses = self.scores, self.responses
        for row in self.rows:
            summary.add(row)
            cells: list[Any] = [None, *score_record(results, row)]
            notice, risk = [], False
            if not row.valid:
                where = ", ".join(sorted({p.column or "row" for p in row.problems}, key=str))
                notice.append(f"invalid: {where}")
                cells[row_status] = alert("invalid", risk=True)
                risk = True
            # Flags raised or unknown are noticed, never passed over as clear, wherever the
            # engine evaluated them: on an invalid row too, where another cell is the problem.
            for index, flag in flags if row.flags else ():
                raised = row.flags.get(flag.id)
                if raised:
                    cells[index] = alert("yes", risk=flag.level == "risk")
                    notice.append(f"{flag.level} flag: {flag.label}")
                    risk = risk or flag.level == "risk"
                elif raised is None:
                    cells[index] = alert("unknown")
                    notice.append(f"{flag.level} flag could not be checked: {flag.label}")
            missing = [sid for sid, r in row.scores.items() if r.status == _STATUS]
            for score_id in missing:
                cells[statuses[score_id]] = alert(_STATUS)
            if missing:
                notice.append(f"{_STATUS}: {', '.join(missing)}")
            if notice:
                cells[0] = _attention("; ".join(notice), risk)
            scores.append(cells)

            given = row.cells
            try:
                answers = received(given)
            except KeyError:  # a row without a column the first row had
                answers = [given.get(item_id) for item_id in items]
            cells = [None, row.row, row.respondent_id, row.session, row.administered_at, *answers]
            if not row.valid:
                cells[0] = _attention(notice[0], True)
                for problem in row.problems:
                    index = raw.get(problem.column)
                    if index is not None and index >= 2:  # a cell as received, not a row number
                        cells[index] = alert(problem.value, risk=True)
            responses.append(cells)

    def _write_changes(self) -> None:
        table = self.changes
        classification = table.columns.index("classification")
        for change in self.results.changes:
            cells: list[Any] = [None, *change_record(self.results, change)]
            if change.classification == DETERIORATED:
                cells[0] = _attention(DETERIORATED, True)
                cells[classification] = alert(DETERIORATED, risk=True)
            table.append(cells)

    def _write_problems(self) -> None:
        table = self.problems
        problems = sorted(self.results.problems, key=lambda p: p.row)
        if not problems:
            table.append(["No problems: every row was read.", None, None, None])
        for problem in problems:
            table.append([problem.row, problem.column, problem.value, problem.reason])

    def _write_about(self, options: RenderOptions, parts: dict[str, list[tuple[str, int]]]) -> None:
        results, provenance = self.results, self.results.provenance
        lines = self._lines(self.about, most=PROSE)
        lines.title(f"{results.instrument.id}: about these results")
        lines.note(PRIVACY)
        lines.heading("Instrument")
        instrument_pairs(lines, results.instrument)
        lines.heading("Scoring")
        for rule, origin in provenance.rules.items():
            lines.pair(f"rule {rule}", origin)
        lines.pair("input file", provenance.input)
        lines.pair("generated at (UTC)", _naive_utc(provenance.generated_at))
        lines.pair("administrations", results.row_count)
        lines.pair("invalid rows", results.invalid_count)
        lines.pair("problems", len(results.problems))
        if options.respondent is not None:
            lines.pair("respondent", f"only {options.respondent}'s administrations")
        lines.heading("Sheets")
        for base, sheets in parts.items():
            total, first = sum(rows for _, rows in sheets), 1
            for title, rows in sheets:
                if base == "Problems" and not results.problems:
                    lines.pair(title, "no problems")
                elif len(sheets) > 1:
                    lines.pair(title, f"rows {first:,} to {first + rows - 1:,} of {total:,}")
                else:
                    lines.pair(title, f"{rows:,} rows")
                first += rows
        lines.pair(self.summary.get_name(), "cohort figures per item, score, change and flag")
        lines.pair(
            self.codebook.get_name(), "what each column means and how each score is computed"
        )
        lines.write()


def _picker(items: list[str]) -> Callable[[Mapping[str, Any]], Sequence[Any]]:
    """A function taking the cells of ``items`` from a row's cells, in order, at C speed."""
    if not items:
        return lambda cells: ()
    get = itemgetter(*items)
    return (lambda cells: (get(cells),)) if len(items) == 1 else get


def _attention(text: str, risk: bool) -> Styled:
    """The attention cell: marked, in the alert's colours."""
    return styled(MARK + text, "risk" if risk else "warn")


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    """Excel has no time zones: the moment in UTC, which the label says."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment
