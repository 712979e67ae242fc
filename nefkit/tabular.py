"""The flat, one-row-per-administration layout shared by tabular renderers (CSV, Excel).

Columns: ``row`` (the input row number), ``respondent_id``, ``administered_at``, ``session``, the
context columns carried through from the input, then per score its value (column named by score
id) and ``<score>_status`` (complete, prorated or not scorable), empty on an invalid row,
then ``flag_<id>`` per flag (yes, no, or unknown when an answer it needs is missing or
unreadable), on every row, invalid ones included, ``row_status`` (scored or invalid),
``notes`` (why a score is missing, or every problem of an invalid row) and ``instrument`` (id,
version and content hash of the definition used).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # type hints only: the checks import the fixed column names from here
    from .definitions.plan import Plan
    from .results import ChangeRow, Results, ScoredRow

_FLAG = {True: "yes", False: "no", None: "unknown"}
# Text a spreadsheet program takes for a formula: starting with one of these (some programs
# drop a leading tab or carriage return and read the formula after it).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
LEADING = ["row", "respondent_id", "administered_at", "session"]
TRAILING = ["row_status", "notes", "instrument"]


def score_columns(results: Results) -> list[str]:
    return [*LEADING, *results.context_columns, *result_columns(results.plan)]


def result_columns(plan: Plan) -> list[str]:
    """The columns after the context ones: per score its value and status, the flags,
    ``row_status``, ``notes`` and ``instrument``."""
    columns = []
    for step in plan.steps:
        columns += [step.score.id, f"{step.score.id}_status"]
    columns += [f"flag_{step.flag.id}" for step in plan.flags]
    return columns + TRAILING


def csv_cell(value: Any) -> Any:
    """A cell of a CSV file, header or data: text a spreadsheet could take for a formula gets a
    leading apostrophe, so that opening the file can never run one; None is an empty cell."""
    if isinstance(value, str) and value[:1] in FORMULA_START:
        return "'" + value
    return "" if value is None else value


def csv_row(values: Iterable[Any]) -> list[Any]:
    """:func:`csv_cell` of every value, for ``csv.writer`` (which writes None as an empty cell)."""
    return ["'" + v if v.__class__ is str and v[:1] in FORMULA_START else v for v in values]


def outside_text(results: Results) -> list[int]:
    """The positions in :func:`score_record` of the cells that may hold text from outside
    nefkit (the respondent id, context, a score's value such as a band's label, the notes),
    which a CSV file must make formula-safe; the others are numbers, dates or nefkit's words."""
    columns = score_columns(results)
    scores = {step.score.id for step in results.plan.steps}
    outside = {"respondent_id", *results.context_columns, *scores, "notes"}
    return [i for i, name in enumerate(columns) if name in outside]


def display(value: Any) -> Any:
    """Scores as a spreadsheet shows them: yes/no for true/false, numbers and text as they are."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


@lru_cache(maxsize=32)
def _layout(plan: Plan) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The score ids and flag ids of a plan, in column order (read once, not per row)."""
    return tuple(s.score.id for s in plan.steps), tuple(s.flag.id for s in plan.flags)


def score_record(results: Results, row: ScoredRow) -> list[Any]:
    score_ids, flag_ids = _layout(results.plan)
    record: list[Any] = [row.row, row.respondent_id, row.administered_at, row.session]
    context = row.context
    record += [context.get(name) for name in results.context_columns]
    notes = []
    scores = row.scores
    for score_id in score_ids:
        result = scores.get(score_id)
        if result is None:
            record += (None, None)
            continue
        value = result.value
        record += (display(value) if value.__class__ is bool else value, result.status)
        if result.reason:
            notes.append(f"{score_id}: {result.reason}")
    flags = row.flags
    record += [_FLAG[flags[flag_id]] for flag_id in flag_ids]
    notes += [str(problem) for problem in row.problems]
    record += (
        "scored" if not row.problems else "invalid",
        "; ".join(notes),
        results.provenance.instrument_label,
    )
    return record


def change_columns() -> list[str]:
    return [
        "respondent_id",
        "change",
        "score",
        "comparison",
        "from_row",
        "to_row",
        "from_session",
        "to_session",
        "from_date",
        "to_date",
        "before",
        "after",
        "difference",
        "classification",
        "instrument",
    ]


def change_record(results: Results, change: ChangeRow) -> list[Any]:
    return [
        change.respondent_id,
        change.change_id,
        change.score_id,
        change.comparison,
        change.from_row,
        change.to_row,
        change.from_session,
        change.to_session,
        change.from_date,
        change.to_date,
        change.before,
        change.after,
        change.difference,
        change.classification,
        results.provenance.instrument_label,
    ]


def entry_columns(instrument) -> list[str]:
    """The columns ``nefkit score`` reads, in the order a data-entry template offers them."""
    return ["respondent_id", "administered_at", "session", *(item.id for item in instrument.items)]
