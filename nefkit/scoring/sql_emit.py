"""``nefkit sql``: a scoring plan as one SQL query, for a registry to score where its data is.

The query reads a table with one row per administration and one column per item id holding the
answer's code (NULL when unanswered; a multiple-choice answer as an array of codes; a number as
a number; free text as text); other columns pass through. It adds, as the CSV output does, each
score and ``<score>_status``, ``flag_<id>`` (yes, no or unknown), ``row_status`` (scored or
invalid) and ``notes``. A row with a code that is not an answer, a number out of range, or a
follow-up answered although its condition is false is invalid, and its notes say which column
and why, in the Python engine's words (without the row number, which a table lacks, and without
the follow-up's facts). Its scores are NULL; its flags are checked on the other answers, a
value that is not an answer counting as blank, as the Python engine does.

Each step is a ``CROSS JOIN LATERAL`` over the steps before, so the SQL reads in plan order:
answers that are not answers set to NULL, follow-up conditions, then each score's intermediate
columns and values, then the output.
"""

from __future__ import annotations

from .. import __version__
from ..definitions.plan import Plan
from ..definitions.responses import AnswerParser
from ..errors import NefkitError
from ..sql import DIALECTS, Dialect
from . import sql_plan as sqlc

PREFIX = "nefkit_"


def plan_sql(plan: Plan, dialect: str, table: str = "answers") -> str:
    try:
        d = DIALECTS[dialect]
    except KeyError:
        raise NefkitError(
            f"unknown dialect {dialect!r}; use one of {', '.join(DIALECTS)}"
        ) from None
    steps, items, cells = _readable_items(plan, d)
    readable_values = {item_id: columns.value for item_id, columns in items.items()}
    steps += sqlc.follow_up_layers(plan, d, items, lambda stem: d.ident(PREFIX + stem))
    compiled = sqlc.compile_plan(plan, d, items, prefix=f"{PREFIX}s")
    missing = [s.score_id for s in compiled.scores if s.sql is None]
    missing += [f"flag_{flag_id}" for flag_id, condition in compiled.flags if not condition]
    steps += compiled.layers()
    problems = [(cond, note) for _, cond, note in cells]
    problems += _unasked_problems(plan, d, items, readable_values)
    bad = d.ident(f"{PREFIX}invalid")
    steps.append([(bad, "(" + " OR ".join(["FALSE", *(cond for cond, _ in problems)]) + ")")])
    out = _output_columns(compiled, d, bad, problems)
    return _query(plan, d, table, missing, steps, out)


def _readable_items(plan: Plan, d: Dialect):
    """Per item the column to read its answer from: the cell itself, or NULL where the cell is
    not an answer (then in a first layer of columns). Also the cell problems found."""
    steps: list[list[tuple[str, str]]] = []
    items: dict[str, sqlc.ItemColumns] = {}
    cells = _cell_problems(plan, d)
    readable = []
    for item in plan.items:
        value = d.ident(item.id)
        bad = [cond for item_id, cond, _ in cells if item_id == item.id]
        if bad:
            readable.append(
                (
                    d.ident(f"{PREFIX}v_{item.id}"),
                    f"CASE WHEN {' OR '.join(bad)} THEN NULL ELSE {value} END",
                )
            )
            value = readable[-1][0]
        items[item.id] = sqlc.ItemColumns(value, None)
    if readable:
        steps.append(readable)
    return steps, items, cells


def _output_columns(compiled, d: Dialect, bad: str, problems) -> list[tuple[str, str]]:
    """The columns nefkit score writes: each score and its status, the flags (on invalid rows
    too), row_status and notes."""
    out: list[tuple[str, str]] = []
    notes = []
    for score in compiled.scores:
        if score.sql is None:
            continue
        v, st = score.column("v", d), score.column("st", d)
        out.append((d.ident(score.score_id), f"CASE WHEN {bad} THEN NULL ELSE {v} END"))
        out.append(
            (d.ident(f"{score.score_id}_status"), f"CASE WHEN {bad} THEN NULL ELSE {st} END")
        )
        reason = compiled.reason(score)
        notes.append(
            f"CASE WHEN {st} <> 'complete' AND {reason} <> ''"
            f" THEN {d.concat(d.text(score.score_id + ': '), reason)} END"
        )
    for flag_id, condition in compiled.flags:
        if condition:
            out.append((d.ident(f"flag_{flag_id}"), sqlc.flag_text(condition)))
    out.append((d.ident("row_status"), f"CASE WHEN {bad} THEN 'invalid' ELSE 'scored' END"))
    problem_notes = [f"CASE WHEN {cond} THEN {text} END" for cond, text in problems]
    note_list = lambda parts: d.concat_ws("'; '", parts) if parts else "NULL"  # noqa: E731
    out.append(
        (
            d.ident("notes"),
            f"NULLIF(CASE WHEN {bad} THEN {note_list(problem_notes)} ELSE {note_list(notes)} END, '')",
        )
    )
    return out


def _query(plan: Plan, d: Dialect, table: str, missing, steps, out) -> str:
    """One query: a header comment, then a lateral join per layer of columns."""
    instrument = plan.instrument
    lines = [
        f"-- nefkit {__version__}: {instrument.id} {instrument.version} ({instrument.content_hash}),"
        f" scored in {d.name} SQL.",
        f"-- Reads {table}: one row per administration, a column per item id holding the answer's"
        " code (NULL when unanswered).",
        "-- Adds each score and <score>_status, flag_<id>, row_status and notes, as nefkit score"
        " writes them.",
    ]
    if missing:
        lines.append(
            "-- Not in SQL (a rule without a SQL form, or reading a score that has none;"
            f" score them with nefkit): {', '.join(missing)}"
        )
    lines.append(f"SELECT t.*, {PREFIX}out.*")
    lines.append(f"FROM {table} AS t")
    for index, step in enumerate(steps):
        columns = ",\n    ".join(f"{expr} AS {name}" for name, expr in step)
        lines.append(f"CROSS JOIN LATERAL (SELECT\n    {columns}\n) AS {PREFIX}l{index}")
    columns = ",\n    ".join(f"{expr} AS {name}" for name, expr in out)
    lines.append(f"CROSS JOIN LATERAL (SELECT\n    {columns}\n) AS {PREFIX}out;")
    return "\n".join(lines) + "\n"


def _cell_problems(plan: Plan, d: Dialect) -> list[tuple[str, str, str]]:
    """(item id, condition, note) for each way an answer can be no answer, in the Python
    engine's words."""
    out = []
    for item in plan.items:
        col = d.ident(item.id)
        where = d.text(f"column {item.id} (value ")
        if item.type in ("choice", "yes_no"):
            parser = AnswerParser(plan.instrument, item)
            codes = [str(v) for v, _ in parser.choices]
            reason = f"not an answer to {item.id}; expected one of {parser.describe_choices()}"
            out.append(
                (
                    item.id,
                    f"({col} IS NOT NULL AND NOT {d.in_list(col, codes)})",
                    d.concat(where, d.int_text(col), d.text("): " + reason)),
                )
            )
        elif item.type == "number":
            value = d.float_text(d.double(col))
            if item.integer:
                out.append(
                    (
                        item.id,
                        f"({col} IS NOT NULL AND {col} <> FLOOR({col}))",
                        d.concat(where, value, d.text(f"): {item.id} needs a whole number")),
                    )
                )
            limits = []
            if item.min is not None:
                limits.append(f"{col} < {d.number(item.min)}")
            if item.max is not None:
                limits.append(f"{col} > {d.number(item.max)}")
            if limits:
                out.append(
                    (
                        item.id,
                        f"({col} IS NOT NULL AND ({' OR '.join(limits)}))",
                        d.concat(
                            where,
                            value,
                            d.text(f"): {item.id} must lie between {item.min} and {item.max}"),
                        ),
                    )
                )
    return out


def _unasked_problems(plan: Plan, d: Dialect, items, values) -> list[tuple[str, str]]:
    """(condition, note) for each follow-up answered (``values``: its readable value) although
    its condition is false."""
    out = []
    for item, condition in plan.follow_ups:
        col, na = values[item.id], items[item.id].not_asked
        shown = (
            d.int_text(col)
            if item.type in ("choice", "yes_no")
            else f"CAST({col} AS {d.text_type})"
        )
        out.append(
            (
                f"({col} IS NOT NULL AND {na})",
                d.concat(
                    d.text(f"column {item.id} (value "),
                    shown,
                    d.text(f"): answered, but this question is asked only when {condition}"),
                ),
            )
        )
    return out
