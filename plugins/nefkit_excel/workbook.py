"""Writing scored results to an Excel workbook as they stream past.

openpyxl's write-only mode gives each sheet its own temporary file, so the Scores and Responses
sheets fill side by side while the rows are read once, and memory stays flat however many rows
there are. Summary figures are gathered on the way; the change scores and the problems are
complete once the rows are exhausted, and their sheets (created in place at the start) are
written then.

Sheets per instrument: Scores, Responses, Change (when the instrument defines changes), Summary,
Problems, Codebook, About. With several instruments in one workbook each sheet's name starts with
the instrument id ("phq-9 Scores").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from itertools import chain
from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils import get_column_letter

from nefkit.renderers import RenderOptions
from nefkit.results import Results, ScoredRow
from nefkit.summary import GroupedSummary
from nefkit.tabular import change_columns, change_record, score_columns, score_record

from .report import DETERIORATED, PRIVACY, Lines, codebook_lines, instrument_pairs, summary_lines
from .styles import MARK, Rows, alert, header, set_widths, sheet_title, width_for

# Rows a sheet holds, its header included (Excel's limit). A table with more rows continues on
# "Scores (2)", "Scores (3)", ...: never cut. Tests lower it to prove the split.
MAX_ROWS = 1_048_576

# Widths of columns whose content is known in kind though not yet seen (characters).
_WIDTHS = {
    "attention": 40,
    "row": 7,
    "respondent_id": 14,
    "administered_at": 17,
    "session": 8,
    "notes": 60,
    "instrument": 34,
    "reason": 80,
    "value": 20,
    "classification": 22,
    "comparison": 19,
}
_STATUS = "not scorable"


class Table:
    """One table streamed over as many sheets as it needs: a header, frozen, filtered and with
    set widths on each. ``cells(values)`` converts the next row for the sheet it goes to (the
    current one, or a new one when that is full), ``ws`` is that sheet (for styled cells), and
    ``append`` writes the row."""

    def __init__(
        self,
        book: Workbook,
        base: str,
        prefix: str,
        taken: set,
        columns: list[str],
        freeze: str,
        widths: list[float],
    ):
        self.book, self.base, self.prefix, self.taken = book, base, prefix, taken
        self.columns, self.freeze, self.widths = columns, freeze, widths
        self.parts: list[list] = []  # [sheet, rows written], in order
        self._new_part()

    def _new_part(self) -> None:
        index = self.book.index(self.ws) + 1 if self.parts else None
        title = sheet_title(self.base, self.prefix, len(self.parts) + 1, self.taken)
        self.ws = self.book.create_sheet(title, index)
        self.ws.freeze_panes = self.freeze
        set_widths(self.ws, self.widths)
        self.ws.append(header(self.ws, self.columns))
        self.convert = Rows(self.ws)
        self.parts.append([self.ws, 0])

    def cells(self, values: list) -> list:
        if self.parts[-1][1] >= MAX_ROWS - 1:
            self._new_part()
        return self.convert(values)

    def append(self, cells: list) -> None:
        part = self.parts[-1]
        part[0].append(cells)
        part[1] += 1

    def finish(self) -> list[tuple[str, int]]:
        """Put a filter on each part's data; return (sheet title, rows) per part."""
        last = get_column_letter(len(self.columns))
        for ws, rows in self.parts:
            ws.auto_filter.ref = f"A1:{last}{rows + 1}"
        return [(ws.title, rows) for ws, rows in self.parts]


def write_workbook(batch: Sequence[Results], path: Path, options: RenderOptions) -> None:
    book = Workbook(write_only=True)
    try:
        taken: set[str] = set()
        prefix = len(batch) > 1
        writers = [_Sheets(book, r, r.instrument.id if prefix else "", taken) for r in batch]
        for writer in writers:
            writer.write(options)
        book.save(path)
    except BaseException:
        _abandon(book)
        raise


def _abandon(book: Workbook) -> None:
    """Close every sheet's stream after a failure (reading the data, say), so that none is left
    for the garbage collector to close later, where its error would surface in unrelated code.
    openpyxl removes the sheets' temporary files when Python exits."""
    for ws in book.worksheets:
        try:
            if not ws.closed:
                ws.close()
        except Exception:  # the failure being raised is the one to report
            continue


class _Sheets:
    """The sheets of one instrument's results. All are created at once, so that they sit in
    order; the rows are written in :meth:`write`."""

    def __init__(self, book: Workbook, results: Results, prefix: str, taken: set):
        self.book, self.results, self.prefix, self.taken = book, results, prefix, taken
        self.rows: Iterator[ScoredRow] = iter(results.rows)
        first = next(self.rows, None)
        if first is not None:
            self.rows = chain([first], self.rows)
        plan = results.plan
        # The item columns the data file had (an optional item's column may be absent).
        self.items = list(first.cells) if first is not None else [i.id for i in plan.items]
        # Widths must be set before the first row, so they come from what a column can hold.
        least = dict(_WIDTHS)
        for step in plan.steps:
            bands = getattr(step.params, "bands", None) or []
            least[step.score.id] = max([8, *(len(band.label) for band in bands)])
            least[f"{step.score.id}_status"] = len(_STATUS)
        for item in plan.items:
            least[item.id] = 40 if item.type == "text" else 8
        # The header row, and the columns that say whose row it is, stay in view when scrolling.
        self.scores = self._table("Scores", ["attention", *score_columns(results)], "D2", least)
        self.responses = self._table(
            "Responses",
            ["attention", "row", "respondent_id", "session", "administered_at", *self.items],
            "D2",
            least,
        )
        self.changes = (
            self._table("Change", ["attention", *change_columns()], "C2", least)
            if plan.changes
            else None
        )
        self.summary = self._sheet("Summary")
        self.problems = self._table("Problems", ["row", "column", "value", "reason"], "A2", least)
        self.codebook = self._sheet("Codebook")
        self.about = self._sheet("About")

    def _table(self, base: str, columns: list[str], freeze: str, least: dict) -> Table:
        widths = [width_for(name, least=least.get(name, 10)) for name in columns]
        return Table(self.book, base, self.prefix, self.taken, columns, freeze, widths)

    def _sheet(self, base: str):
        return self.book.create_sheet(sheet_title(base, self.prefix, taken=self.taken))

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

        lines = Lines(self.summary)
        summary_lines(lines, results.plan, summary, by, options.min_cell)
        if options.by is not None and by is None:
            lines.note(f"No breakdown: the data has no column {options.by}.")
        lines.write()
        lines = Lines(self.codebook)
        codebook_lines(lines, results.plan)
        lines.write()
        self._write_about(options, parts)

    def _stream(self, summary: GroupedSummary) -> None:
        """Every row to Scores and Responses, and into the summary, in one pass."""
        results, plan = self.results, self.results.plan
        columns = self.scores.columns
        flags = [(columns.index(f"flag_{s.flag.id}"), s.flag) for s in plan.flags]
        statuses = {s.score.id: columns.index(f"{s.score.id}_status") for s in plan.steps}
        row_status = columns.index("row_status")
        raw = {name: i for i, name in enumerate(self.responses.columns)}
        items = self.items
        scores, responses = self.scores, self.responses
        for row in self.rows:
            summary.add(row)
            cells = scores.cells([None, *score_record(results, row)])
            ws, notice, risk = scores.ws, [], False
            if not row.valid:
                where = ", ".join(sorted({p.column or "row" for p in row.problems}, key=str))
                notice.append(f"invalid: {where}")
                cells[row_status] = alert(ws, "invalid", risk=True)
                risk = True
            # Flags raised or unknown are noticed, never passed over as clear, wherever the
            # engine evaluated them: on an invalid row too, where another cell is the problem.
            for index, flag in flags if row.flags else ():
                raised = row.flags.get(flag.id)
                if raised:
                    cells[index] = alert(ws, "yes", risk=flag.level == "risk")
                    notice.append(f"{flag.level} flag: {flag.id}")
                    risk = risk or flag.level == "risk"
                elif raised is None:
                    cells[index] = alert(ws, "unknown")
                    notice.append(f"{flag.level} flag could not be checked: {flag.id}")
            missing = [sid for sid, r in row.scores.items() if r.status == _STATUS]
            for score_id in missing:
                cells[statuses[score_id]] = alert(ws, _STATUS)
            if missing:
                notice.append(f"{_STATUS}: {', '.join(missing)}")
            if notice:
                cells[0] = alert(ws, MARK + "; ".join(notice), risk=risk)
            scores.append(cells)

            given = row.cells
            cells = responses.cells(
                [
                    None,
                    row.row,
                    row.respondent_id,
                    row.session,
                    row.administered_at,
                    *[given.get(item_id) for item_id in items],
                ]
            )
            if not row.valid:
                ws = responses.ws
                cells[0] = alert(ws, MARK + notice[0], risk=True)
                for problem in row.problems:
                    index = raw.get(problem.column)
                    if index is not None and index >= 2:  # a cell as received, not a row number
                        shown = "" if problem.value is None else problem.value
                        cells[index] = alert(ws, shown, risk=True)
            responses.append(cells)

    def _write_changes(self) -> None:
        table = self.changes
        classification = table.columns.index("classification")
        for change in self.results.changes:
            cells = table.cells([None, *change_record(self.results, change)])
            if change.classification == DETERIORATED:
                cells[0] = alert(table.ws, MARK + DETERIORATED, risk=True)
                cells[classification] = alert(table.ws, DETERIORATED, risk=True)
            table.append(cells)

    def _write_problems(self) -> None:
        table = self.problems
        problems = sorted(self.results.problems, key=lambda p: p.row)
        if not problems:
            table.append(table.cells(["No problems: every row was read."]))
        for problem in problems:
            table.append(table.cells([problem.row, problem.column, problem.value, problem.reason]))

    def _write_about(self, options: RenderOptions, parts: dict[str, list[tuple[str, int]]]) -> None:
        results, provenance = self.results, self.results.provenance
        lines = Lines(self.about, most=100)
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
        lines.pair(self.summary.title, "cohort figures per item, score, change and flag")
        lines.pair(self.codebook.title, "what each column means and how each score is computed")
        lines.write()


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    """Excel has no time zones: the moment in UTC, which the label says."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment
