"""Parquet and JSON Lines output: the tabular layout (see :mod:`nefkit.tabular`) with native
values (numbers, true/false, blanks as nulls), written by DuckDB.

Results of the DuckDB engine are written by the engine itself (``native``); any other engine's
rows are streamed into a temporary JSON Lines file, then DuckDB reads it with the columns' types
and writes the format, so both paths give the same file."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

from nefkit.documents import Document, Scores
from nefkit.renderers import Renderer, RenderOptions
from nefkit.results import Results, ScoredRow
from nefkit.tabular import change_columns, score_columns

from .engine import _CHANGE_TYPES, _change_record
from .sources import sql_text

_FLAG = {True: "yes", False: "no", None: "unknown"}


class _TypedRenderer(Renderer):
    native = True
    copy_format: str  # DuckDB's COPY format

    writes = (Scores,)

    def write(self, document: Document, path: Path, options: RenderOptions) -> None:
        import duckdb

        [results] = document.results
        names = score_columns(results)
        with tempfile.TemporaryDirectory(prefix="nefkit-typed-") as work:
            rows = Path(work) / "rows.jsonl"
            seen: dict[str, set[type]] = {name: set() for name in results.context_columns}
            with open(rows, "w", encoding="utf-8") as out:
                for row in results.rows:
                    record = _record(results, row)
                    for name in results.context_columns:
                        if row.context.get(name) not in (None, ""):
                            seen[name].add(type(row.context[name]))
                    out.write(json.dumps(dict(zip(names, record)), default=str) + "\n")
            types = _types(results, {name: _context_type(kinds) for name, kinds in seen.items()})
            con = duckdb.connect()
            try:
                _copy(con, rows, types, path, self.copy_format)
                if results.changes:
                    changes = Path(work) / "changes.jsonl"
                    with open(changes, "w", encoding="utf-8") as out:
                        for change in results.changes:
                            record = _change_record(results, change, typed=True)
                            out.write(json.dumps(dict(zip(change_columns(), record))) + "\n")
                    target = path.with_name(f"{path.stem}-changes{path.suffix}")
                    _copy(con, changes, _CHANGE_TYPES, target, self.copy_format)
            finally:
                con.close()
        provenance = path.with_name(f"{path.stem}-provenance.json")
        provenance.write_text(results.provenance.model_dump_json(indent=2) + "\n", encoding="utf-8")


class ParquetRenderer(_TypedRenderer):
    """Scores as a Parquet table, one row per administration, with native types; changes and
    provenance beside it, as the CSV renderer writes them."""

    format = "parquet"
    extensions = (".parquet", ".pq")
    summary = "Scores as a Parquet table, native types; changes and provenance beside it."
    copy_format = "parquet"


class JsonLinesRenderer(_TypedRenderer):
    """Scores as JSON Lines, one object per administration, with native types."""

    format = "jsonl"
    extensions = (".jsonl", ".ndjson")
    summary = "Scores as JSON Lines, one object per administration; changes beside it."
    copy_format = "json"


def _record(results: Results, row: ScoredRow) -> list[Any]:
    """A row of the tabular layout with native values: blanks are nulls, true/false stay so."""
    record: list[Any] = [
        row.row,
        row.respondent_id or None,
        None if row.administered_at is None else str(row.administered_at),
        row.session,
    ]
    record += [row.context.get(name) or None for name in results.context_columns]
    notes = []
    for step in results.plan.steps:
        result = row.scores.get(step.score.id)
        if result is None:  # an invalid row
            record += [None, None]
            continue
        record += [result.value, result.status]
        if result.reason:
            notes.append(f"{step.score.id}: {result.reason}")
    record += [_FLAG[row.flags.get(step.flag.id)] for step in results.plan.flags]
    notes += [str(problem) for problem in row.problems]
    status = "scored" if row.valid else "invalid"
    return [*record, status, "; ".join(notes) or None, results.provenance.instrument_label]


def _context_type(kinds: set[type]) -> str:
    """The column type of a context column from the Python types of its cells (text from a
    CSV, native values from Parquet)."""
    if kinds and kinds <= {bool}:
        return "BOOLEAN"
    if kinds and kinds <= {int}:
        return "BIGINT"
    if kinds and kinds <= {int, float}:
        return "DOUBLE"
    if kinds and kinds <= {dt.date}:
        return "DATE"
    if kinds and kinds <= {dt.datetime}:
        return "TIMESTAMP"
    return "VARCHAR"


def _types(results: Results, context: dict[str, str]) -> dict[str, str]:
    types = {
        "row": "BIGINT",
        "respondent_id": "VARCHAR",
        "administered_at": "VARCHAR",
        "session": "BIGINT",
    }
    types.update(context)
    for step in results.plan.steps:
        output = step.output
        if output.kind == "number":
            value = "BIGINT" if output.integer else "DOUBLE"
        elif output.kind == "boolean":
            value = "BOOLEAN"
        else:
            value = "VARCHAR"
        types[step.score.id] = value
        types[f"{step.score.id}_status"] = "VARCHAR"
    types.update({f"flag_{step.flag.id}": "VARCHAR" for step in results.plan.flags})
    return {**types, "row_status": "VARCHAR", "notes": "VARCHAR", "instrument": "VARCHAR"}


def _copy(con, rows: Path, types: dict[str, str], target: Path, fmt: str) -> None:
    columns = "{" + ", ".join(f"{sql_text(n)}: {sql_text(t)}" for n, t in types.items()) + "}"
    con.execute(
        f"COPY (SELECT * FROM read_json({sql_text(str(rows))}, columns = {columns},"
        f" format = 'newline_delimited')) TO {sql_text(str(target))} (FORMAT {fmt})"
    )
