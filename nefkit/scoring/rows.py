"""Scoring a table of administrations: read, check every cell, score in batches, stream out.

Every input row comes out, scored or marked invalid with every reason. Memory stays flat as rows
stream past, except for what change scores need: a few numbers per administration of an
instrument that defines changes.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections import defaultdict
from collections.abc import Callable, Iterator
from itertools import islice, repeat
from pathlib import Path
from typing import Any, Optional

from ..definitions.plan import Plan
from ..definitions.responses import AnswerParser, CellError, parse_column, parse_session, parse_when
from ..engines import Engine, Progress, Workload
from ..errors import NefkitError, RuleFailed
from ..readers import Reader, Table, Unreadable
from ..results import CellProblem, ChangeRow, Provenance, Results, RowSample, RowView, ScoredRow
from ..tabular import LEADING, result_columns

RESERVED = ("respondent_id", "administered_at", "session")
CHUNK = 4096


class Columns:
    """Where each needed column sits in the table's header, checked before any row is read."""

    def __init__(self, plan: Plan, header: list[str], path: str):
        names = [str(c).strip().lstrip("\ufeff") for c in header]
        folded = [n.casefold() for n in names]
        duplicates = sorted({n for n in names if folded.count(n.casefold()) > 1})
        if duplicates:
            raise NefkitError(f"{path}: the header repeats the column(s) {', '.join(duplicates)}")
        position = {name: i for i, name in enumerate(folded)}
        if "respondent_id" not in position:
            raise NefkitError(
                f"{path}: there is no respondent_id column (one row per administration, identified by respondent_id)"
            )
        self.reserved = {name: position.get(name) for name in RESERVED}
        self.items = {item.id: position[item.id] for item in plan.items if item.id in position}
        known = {*RESERVED, *self.items}
        self.context = [(names[i], i) for i, name in enumerate(folded) if name not in known]
        missing = [item for item in plan.items if item.id not in self.items]
        unknown = [name for name, _ in self.context]
        errors = []
        for item in missing:
            near = difflib.get_close_matches(item.id, unknown, n=1, cutoff=0.8)
            if near:
                errors.append(
                    f"column '{near[0]}' looks like item '{item.id}'; rename it to '{item.id}'"
                )
        required = [item.id for item in missing if not item.optional]
        if required:
            errors.append(
                f"no column for: {', '.join(required)} (columns are named after item ids; see nefkit show {plan.instrument.id})"
            )
        # Carried through, a context column beside an output column of the same name would
        # leave two of one name, the input's first; in any letter case, since spreadsheets,
        # statistics programs and DuckDB (which renames the second) do not tell them apart.
        own = {name.casefold(): name for name in [*LEADING, *result_columns(plan)]}
        clashes = [name for name in unknown if name.casefold() in own]
        if clashes:
            theirs = [own[name.casefold()] for name in clashes]
            case = ", letter case aside" if theirs != clashes else ""
            errors.append(
                f"the column(s) {', '.join(clashes)} share a name with column(s) that nefkit adds"
                f" to its output ({', '.join(theirs)}{case}), which would then hold two of one"
                " name; rename them in the file"
            )
        if errors:
            raise NefkitError(f"{path}: " + "; ".join(errors))
        self.missing_optional = [item.id for item in missing if item.optional]
        # Each column as problems name it: an item's id or a reserved name, else as written.
        self.names = [f if f in known else n for n, f in zip(names, folded)]
        self.width = len(names)


def respondent_text(cell: Any) -> str:
    """A respondent id cell as text: a spreadsheet's 17.0 is "17"; blank is ""."""
    if isinstance(cell, float) and cell.is_integer():
        cell = int(cell)
    return "" if cell is None else str(cell).strip()


def score_table(
    plan: Plan,
    table: Table,
    progress: Optional[Callable[[int], None]] = None,
) -> Results:
    """Score every row of ``table``; the returned results stream as they are iterated."""
    columns = Columns(plan, table.columns, table.path)
    provenance = Provenance.of(plan, table.path)
    results = Results(
        plan.instrument, plan, [name for name, _ in columns.context], iter(()), provenance
    )
    results.rows = _stream(plan, table, columns, results, progress)
    return results


def _stream(
    plan: Plan, table: Table, columns: Columns, results: Results, progress
) -> Iterator[ScoredRow]:
    parsers = {item.id: AnswerParser(plan.instrument, item) for item in plan.items}
    history: dict[str, list[tuple]] = defaultdict(list)
    change_scores = sorted({c.change.score for c in plan.changes})
    rows_iter = iter(table.rows)
    while chunk := list(islice(rows_iter, CHUNK)):
        for scored in score_rows(plan, chunk, columns, parsers):
            results.row_count += 1
            results.flag_tally.add(scored)
            if scored.problems:
                results.invalid_count += 1
                results.problems.extend(scored.problems)
            elif change_scores:
                values = tuple(scored.scores[s].value for s in change_scores)
                history[scored.respondent_id].append(
                    (scored.row, scored.session, scored.administered_at, values)
                )
            yield scored
        if progress:
            progress(results.row_count)
    if change_scores:
        results.changes, problems = _changes(plan, history, change_scores, results.change_gaps)
        results.problems.extend(problems)


def score_rows(plan: Plan, chunk, columns: Columns, parsers) -> list[ScoredRow]:
    """Rows, given as (number, cells) pairs, checked cell by cell and scored together; each
    comes out with its problems in the words every engine must use."""
    numbers = [number for number, _ in chunk]
    table, problems = _columns(chunk, columns)
    answers: dict[str, list] = {}
    raw: dict[str, list] = {}
    for item_id, index in columns.items.items():
        raw[item_id] = column = table[index]
        values, errors = parse_column(parsers[item_id], column)
        for i, reason in errors:
            problems[i].append(CellProblem(numbers[i], item_id, column[i], reason))
        answers[item_id] = values
    meta = _row_facts(numbers, table, columns, problems)
    for item in plan.items:  # an optional item without a column is blank throughout
        answers.setdefault(item.id, [None] * len(chunk))
    unreadable = [bool(p) for p in problems]
    for i, item_id, reason in plan.apply_conditions(answers):
        # A follow-up of an unreadable answer would only repeat that problem.
        if not unreadable[i]:
            problems[i].append(CellProblem(numbers[i], item_id, raw[item_id][i], reason))
    # Every row is scored from the answers that could be read (a bad cell is blank), so that
    # a problem elsewhere in the row never hides a flag; an invalid row keeps only its flags.
    try:
        scores, flags = plan.score_columns(dict(answers))
    except RuleFailed as failed:
        if failed.index is not None:
            failed.row = f"row {numbers[failed.index]}"
        raise
    names = [name for name, _ in columns.context]
    contexts = zip(*(table[index] for _, index in columns.context)) if names else repeat(())
    score_values = zip(*scores.values()) if scores else repeat(())
    flag_rows = zip(*flags.values()) if flags else repeat(())
    out = []
    for i, ((respondent, when, session), context, row_scores, row_flags) in enumerate(
        zip(meta, contexts, score_values, flag_rows)
    ):
        # Positional, in the fields' order: this runs for every row of a large file.
        out.append(
            ScoredRow(
                numbers[i],
                respondent or None,
                when,
                session,
                dict(zip(names, context)) if names else {},
                RowView(answers, i),
                RowView(raw, i),  # the cells as read
                {} if problems[i] else dict(zip(scores, row_scores)),
                dict(zip(flags, row_flags)),
                problems[i],
            )
        )
    return out


def _columns(chunk, columns: Columns) -> tuple[list[list], list[list[CellProblem]]]:
    """The chunk's cells as columns, each as long as the chunk and as many as the header has,
    and each row's problems so far: a broken line (too few cells, or data past the last
    column) and cells the reader could not give a value for, which are blank from here on so
    that no other problem is reported for them."""
    width = columns.width
    rows = [row for _, row in chunk]
    problems: list[list[CellProblem]] = [[] for _ in chunk]
    for i in [i for i, row in enumerate(rows) if len(row) != width]:
        number, row = chunk[i]
        # Trailing empty cells are harmless; a short row or extra data means a broken line.
        if len(row) < width or any(c not in (None, "") for c in row[width:]):
            problems[i].append(
                CellProblem(
                    number,
                    "",
                    None,
                    f"the row has {len(row)} cells but the header has {width} columns",
                )
            )
        rows[i] = (list(row) + [None] * width)[:width]
    table = [list(column) for column in zip(*rows)] if rows else [[] for _ in range(width)]
    for k, column in enumerate(table):
        if Unreadable in map(type, column):  # rare; the test runs at C speed
            for i, cell in enumerate(column):
                if type(cell) is Unreadable:
                    problems[i].append(
                        CellProblem(chunk[i][0], columns.names[k], cell.value, cell.reason)
                    )
                    column[i] = None
    return table, problems


def _row_facts(numbers: list[int], table: list[list], columns: Columns, problems) -> list[tuple]:
    """(respondent id, administered_at, session) of each row, each problem added to the row's."""
    reserved = columns.reserved
    respondents = list(map(respondent_text, table[reserved["respondent_id"]]))
    facts = []
    for i, respondent in enumerate(respondents):
        # Reported as blank unless its cell was already reported as unreadable.
        if not respondent and not any(p.column == "respondent_id" for p in problems[i]):
            problems[i].append(
                CellProblem(numbers[i], "respondent_id", None, "the respondent_id is blank")
            )
        facts.append([respondent, None, None])
    for slot, name, parse in ((2, "session", parse_session), (1, "administered_at", parse_when)):
        index = reserved[name]
        if index is None:
            continue
        for i, cell in enumerate(table[index]):
            try:
                facts[i][slot] = parse(cell)
            except CellError as e:
                problems[i].append(CellProblem(numbers[i], name, cell, str(e)))
    return [tuple(f) for f in facts]


def _order_key(entry: tuple, by: str):
    _, session, when, _ = entry
    if by == "session":
        return session
    return when if isinstance(when, dt.datetime) else dt.datetime.combine(when, dt.time())


def _changes(
    plan: Plan, history, change_scores, gaps: dict[str, RowSample]
) -> tuple[list[ChangeRow], list[CellProblem]]:
    """The change rows, and the problems that stop them; ``gaps`` gets, per change, each
    administration (of a respondent with two or more) without the score it compares."""
    changes: list[ChangeRow] = []
    problems: list[CellProblem] = []
    for respondent, entries in history.items():
        if len(entries) < 2:
            continue
        for step in plan.changes:
            k = change_scores.index(step.change.score)
            for entry in entries:
                if entry[3][k] is None:
                    gaps.setdefault(step.change.id, RowSample()).add(entry[0])
        if all(e[1] is not None for e in entries):
            by = "session"
        elif all(e[2] is not None for e in entries):
            by = "administered_at"
        else:
            rows = ", ".join(str(e[0]) for e in entries)
            problems.append(
                CellProblem(
                    entries[0][0],
                    "session",
                    None,
                    f"respondent {respondent} has {len(entries)} administrations (rows {rows}) but not every one has a session or an administered_at, so their order and change scores are unknown",
                )
            )
            continue
        entries = sorted(entries, key=lambda e: _order_key(e, by))
        keys = [_order_key(e, by) for e in entries]
        clashes = [(a, b) for a, b, ka, kb in zip(entries, entries[1:], keys, keys[1:]) if ka == kb]
        if clashes:
            a, b = clashes[0]
            problems.append(
                CellProblem(
                    b[0],
                    by,
                    None,
                    f"respondent {respondent} has two administrations with the same {by} (rows {a[0]} and {b[0]}), so their order and change scores are unknown",
                )
            )
            continue
        for step in plan.changes:
            k = change_scores.index(step.change.score)
            series = [e for e in entries if e[3][k] is not None]
            if len(series) < 2:
                continue
            pairs = [("baseline to latest", series[0], series[-1])]
            pairs += [("session to session", a, b) for a, b in zip(series, series[1:])]
            for comparison, a, b in pairs:
                before, after = a[3][k], b[3][k]
                changes.append(
                    ChangeRow(
                        respondent,
                        step.change.id,
                        step.change.score,
                        comparison,
                        a[0],
                        b[0],
                        a[1],
                        b[1],
                        a[2],
                        b[2],
                        before,
                        after,
                        _classify(plan, step, a[0], b[0], before, after),
                    )
                )
    return changes, problems


def _classify(plan: Plan, step, row_a: int, row_b: int, before, after) -> str:
    try:
        return plan.classify(step, before, after)
    except RuleFailed as failed:
        failed.row = f"rows {row_a} and {row_b}"
        raise


# The row engine's cost for --engine auto, fitted to benchmarks/auto_engine.py on the reference
# machine (2 cores): seconds per row, per item read in each row, and per row of a plan with
# change scores (kept per respondent, sorted and compared at the end).
PER_ROW, PER_ITEM, PER_CHANGE_ROW = 12e-6, 0.3e-6, 10e-6
# Change scores keep each administration's scores in memory until the last row (about 300
# bytes a row): auto sends a larger file with change scores to another engine, if one reads it,
# unless the output is written row by row (a workbook, a report), where DuckDB holds more
# (612 MB against 363 MB at 300,000 PHQ-9 rows to JSON, benchmarks/auto_engine.py).
CHANGE_ROWS = 200_000


class RowEngine(Engine):
    """nefkit's own engine and the reference the others are tested against; always there."""

    name = "python"
    summary = "The reference engine: rows in batches, in Python, from any format a reader reads."

    def cost(self, work: Workload) -> Optional[float]:
        if work.changes and work.rows > CHANGE_ROWS and not work.rendered:
            return None
        return work.rows * (PER_ROW + PER_ITEM * work.items + PER_CHANGE_ROW * work.changes)

    def score(
        self, plan: Plan, data: Path, reader: Reader, progress: Optional[Progress] = None
    ) -> Results:
        return score_table(plan, reader.read(data), progress)
