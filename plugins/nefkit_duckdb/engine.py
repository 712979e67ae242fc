"""The columnar engine: a scoring plan run on DuckDB over CSV, JSON Lines or Parquet.

It produces what the Python engine produces, cell for cell: the same rows, scores, statuses,
flags, notes and change scores, and the same problems with the same row numbers and words.

How:

1. **Source** (:mod:`nefkit_duckdb.sources`): the file as a relation of raw cells, read by
   DuckDB, streaming.
2. **Parse**: every item cell becomes an answer in SQL when it is a code, an exact label, or
   plain ASCII text (any letter case, spaces, ``1.0``); anything else (other whitespace, other
   scripts, JSON booleans and floats, multiple-choice and number items) is parsed by a Python
   function DuckDB calls for that cell alone, running the very parser the Python engine uses.
   An unreadable cell becomes a sentinel, so every row knows whether it is valid.
3. **Score**: the compiled plan (:mod:`nefkit.scoring.sql_plan`): follow-up conditions, every
   score's ``to_sql``, flags; reasons only where a status is not 'complete'.
4. **Invalid rows** are rare and their notes must read exactly as the Python engine writes
   them, so DuckDB hands each one (its raw cells) to the Python engine's own row checker, which
   returns the notes and records the problems.
5. **Output**: CSV, Parquet and JSON Lines are written by DuckDB (``COPY``), streaming; any
   other format (JSON, XLSX, HTML, text) gets :class:`ScoredRow` objects fetched in batches.
   Change scores are computed in SQL over the scored rows.

Row numbers: DuckDB numbers the rows of a CSV or JSON Lines file on one thread only. So a
regular file is cut into as many pieces as DuckDB has threads, at record boundaries the first
read of the file counted (:func:`nefkit_duckdb.sources.scan`); each piece is read, numbered,
scored and written on a thread of its own, and the pieces are joined in order. Where change
scores need the scored rows again, or the output is Parquet, or the scan could not count a CSV
file's records (too many quotes to follow), a CSV file is scored in two parallel passes
instead: every line is scored into a temporary Parquet file in file order (with whether it has
content at all), then Parquet's row positions give the row numbers, lines without content are
dropped and invalid rows get their notes; a JSON Lines file is read on one thread. Parquet
input knows its row positions and is read in parallel; normalised files are read on one
thread.

Memory stays bounded: DuckDB streams the file through the query; what must be held (the scored
rows of an instrument with change scores, sorted per respondent) lives in a temporary database
on disk with a memory limit (``NEFKIT_DUCKDB_MEMORY``, default 768MB; ``NEFKIT_DUCKDB_THREADS``
sets the threads). Not much lower: rows written in file order from several threads wait for
memory there (Parquet to CSV, 1M NEQ-20 rows: 3.3 s at 768MB, 5.1 s at 512MB).

Rules without ``to_sql`` run in Python: rows are fetched in batches and ``compute_batch`` runs on
them (the output then goes through the renderers, also for CSV; Parquet and JSON Lines output are
refused). Change scores over such a score are computed in SQL as any other, from a table of its
values that the batches fill.
"""

from __future__ import annotations

import csv
import datetime as dt
import inspect
import json
import os
import re
import shutil
import tempfile
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import count
from pathlib import Path
from typing import Any, Optional

from nefkit import Plan
from nefkit.engines import (
    AnswerParser,
    CellError,
    Columns,
    Engine,
    Progress,
    Workload,
    parse_session,
    parse_when,
    respondent_text,
    score_rows,
)
from nefkit.engines import sql_plan as sqlc
from nefkit.errors import NefkitError, RuleFailed
from nefkit.readers import Reader
from nefkit.results import (
    SHOWN_ROWS,
    CellProblem,
    ChangeRow,
    FlagTally,
    Provenance,
    Results,
    RowSample,
    ScoredRow,
)
from nefkit.rules import NOT_ASKED, ScoreValue
from nefkit.sql import DIALECTS
from nefkit.tabular import change_columns, csv_cell, score_columns

from .progress import QueryProgress, enable
from .sources import INTEGERS, WS, copy_bytes, open_source, parquet_header, sql_text

BATCH = 8192
# The cost model for --engine auto (seconds), fitted to benchmarks/auto_engine.py on the reference
# machine (2 cores); per row relative to CSV for the other formats (benchmarks/engines.py).
START, PER_ROW, PER_ITEM, PER_CHANGE_ROW = 0.45, 1.5e-6, 0.04e-6, 4e-6
FORMAT_COST = {"csv": 1.0, "parquet": 0.7, "jsonl": 1.8}
# Each row made a Python object, for a renderer that reads rows (a workbook, a report): more
# than the row engine spends scoring it, so such outputs go to the row engine where it may.
ROW_OBJECT, ROW_OBJECT_ITEM = 22e-6, 0.31e-6
# The shares of a file's writing that the progress bar gives each stage, as they were measured
# (1M NEQ-20 rows, 300,000 PHQ-9 rows): scoring into a temporary file or table is 85 % of the
# scoring, writing from it the rest; with change scores, the scoring is half the work,
# computing the changes a quarter and writing them a quarter.
FIRST_PASS, SCORING_WITH_CHANGES, CHANGES_COMPUTED = 0.85, 0.5, 0.75


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ascii(column: str) -> str:
    return f"regexp_full_match({column}, '[ -~]*')"


def _neutral(expr: str) -> str:
    """A text a spreadsheet would take for a formula gets a leading apostrophe: the SQL form of
    :func:`nefkit.tabular.csv_cell` (=, +, -, @, tab or carriage return)."""
    return (
        f"(CASE WHEN (ascii({expr}) = 61 OR ascii({expr}) = 43 OR ascii({expr}) = 45"
        f" OR ascii({expr}) = 64 OR ascii({expr}) = 9 OR ascii({expr}) = 13)"
        f" THEN '''' || {expr} ELSE {expr} END)"
    )


class _Udfs:
    """Python functions DuckDB calls for the cells SQL cannot decide; each is the Python
    engine's own parser."""

    def __init__(self, con):
        self.con = con
        self.count = count()

    def add(
        self, name: str, fn, params: Sequence[str], returns: str, side_effects: bool = False
    ) -> str:
        full = f"nefkit_{name}_{next(self.count)}"

        def wrapper(*args):
            return fn(*args)

        # DuckDB checks the number of parameters against the function's signature.
        wrapper.__signature__ = inspect.Signature(
            [
                inspect.Parameter(f"a{k}", inspect.Parameter.POSITIONAL_ONLY)
                for k in range(len(params))
            ]
        )
        self.con.create_function(
            full,
            wrapper,
            [_type(p) for p in params],
            _type(returns),
            null_handling="special",
            side_effects=side_effects,
        )
        return full


def _cleanup(con, workdir: Path) -> None:
    try:
        con.close()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _type(name: str):
    import duckdb

    return duckdb.sqltype(name)


class ColumnarResults(Results):
    """Results whose rows come from DuckDB. ``write_native`` writes CSV, Parquet or JSON Lines
    in DuckDB; iterating ``rows`` gives :class:`ScoredRow` objects for any other renderer."""

    engine: "ColumnarEngine"

    def write_native(self, format: str, path: Path) -> bool:
        return self.engine.write_native(self, Path(path), format)


class ColumnarEngine:
    def __init__(self, plan: Plan, source_path: Path, fmt: str, reader, progress=None):
        import duckdb

        self.plan = plan
        self.path = source_path
        self.format = fmt
        self.workdir = Path(tempfile.mkdtemp(prefix="nefkit-duckdb-"))
        self.con = duckdb.connect(str(self.workdir / "work.duckdb"))
        # The temporary database goes when the results do (or when Python exits).
        self._cleanup = weakref.finalize(self, _cleanup, self.con, self.workdir)
        self.memory = os.environ.get("NEFKIT_DUCKDB_MEMORY", "768MB")
        self.con.execute(f"SET memory_limit = {sql_text(self.memory)}")
        self.con.execute(f"SET temp_directory = {sql_text(str(self.workdir / 'spill'))}")
        self.con.execute("SET preserve_insertion_order = true")
        if os.environ.get("NEFKIT_DUCKDB_THREADS"):
            self.con.execute(f"SET threads = {int(os.environ['NEFKIT_DUCKDB_THREADS'])}")
        self.progress: Optional[Progress] = progress
        self.watch = QueryProgress(progress, reader.count_rows(source_path) if progress else None)
        if self.watch.active:
            enable(self.con)
        self.udf = _Udfs(self.con)
        self.problems: dict[int, list[CellProblem]] = {}
        if fmt == "parquet":
            header = [name for name, _ in parquet_header(self.con, source_path)]
        else:
            table = reader.read(source_path)
            header = list(table.columns)
            table.rows.close()
        self.columns = Columns(plan, header, str(source_path))
        self.header = header
        self.reader = reader
        with self._memory():
            self.source = open_source(self.con, source_path, fmt, header, self.workdir, reader)
        self.parsers = {item.id: AnswerParser(plan.instrument, item) for item in plan.items}
        self.d = DIALECTS["duckdb"]
        self._build()

    def close(self) -> None:
        self._cleanup()

    # -----------------------------------------------------------------------------------------
    # The query

    def _cell(self, index: int):
        return self.source.cells[index]

    def _build(self) -> None:
        plan, cols = self.plan, self.columns
        parse: list[str] = []  # parse layer columns
        bad_items = []
        for item in plan.items:
            index = cols.items.get(item.id)
            if index is None:
                parse.append(f"NULL AS {_q('p_' + item.id)}")
                bad = "FALSE"
            else:
                expr, bad = self._parse_item(item, self._cell(index))
                parse.append(f"{expr} AS {_q('p_' + item.id)}")
            bad_items.append(bad.replace("{p}", _q("p_" + item.id)))
        reserved = cols.reserved
        rid = self._respondent(self._cell(reserved["respondent_id"]))
        parse.append(f"{rid} AS __rid")
        if reserved["session"] is not None:
            parse.append(f"{self._session(self._cell(reserved['session']))} AS __ses")
        else:
            parse.append("CAST(NULL AS BIGINT) AS __ses")
        if reserved["administered_at"] is not None:
            parse.append(f"{self._when(self._cell(reserved['administered_at']))} AS __when")
        else:
            parse.append("CAST(NULL AS VARCHAR) AS __when")
        shape = "FALSE"
        if self.source.normalised and self.source.format == "csv":
            width = len(self.header)
            shape = f"(__len < {width} OR __extra)"
        # Layer 2: values, not-asked flags, validity.
        values = []
        item_sql: dict[str, sqlc.ItemColumns] = {}
        for item in plan.items:
            p = _q("p_" + item.id)
            v = _q("v_" + item.id)
            if item.type == "number":
                values.append(
                    f"(CASE WHEN {p} IS NULL OR {p} = 'e' THEN NULL ELSE CAST({p}[3:] AS DOUBLE) END) AS {v}"
                )
                values.append(f"COALESCE({p}[1] = 'f', FALSE) AS {_q('f_' + item.id)}")
                is_float = _q("f_" + item.id)
            elif item.type == "multiple":
                values.append(
                    f"(CASE WHEN {p} IS NULL OR {p} = 'e' THEN NULL WHEN {p} = 'v:' THEN []::INTEGER[]"
                    f" ELSE list_transform(string_split({p}[3:], ','), lambda x: CAST(x AS INTEGER)) END) AS {v}"
                )
                is_float = "FALSE"
            elif item.type == "text":
                values.append(f"{p} AS {v}")
                is_float = "FALSE"
            else:
                sentinel = self._sentinel(item)
                values.append(f"NULLIF({p}, {sentinel}) AS {v}")
                is_float = "FALSE"
            item_sql[item.id] = sqlc.ItemColumns(v, None, is_float)
        tests = [shape, *[b for b in bad_items if b != "FALSE"]]
        tests += ["__rid = ''", "__ses = -1", "__when = 'e'"]
        bad_cells = "COALESCE(" + " OR ".join(tests) + ", FALSE)"
        # Follow-ups: not asked where the condition is false, in layers (see nefkit/definitions/plan.py).
        asked = sqlc.follow_up_layers(plan, self.d, item_sql, _q)
        unasked_answers = [
            f"({item_sql[item.id].not_asked} AND {_q('v_' + item.id)} IS NOT NULL)"
            for item, _ in plan.follow_ups
        ]
        self.item_sql = item_sql
        compiled = sqlc.compile_plan(plan, self.d, item_sql)
        self.compiled = compiled

        def compose(src: str, lean: bool) -> str:
            query = f"SELECT *, {', '.join(parse)} FROM ({src})"
            query = f"SELECT *, {', '.join(values)}, ({bad_cells}) AS __badcell FROM ({query})"
            for layer in asked:
                columns = ", ".join(f"{expr} AS {name}" for name, expr in layer)
                query = f"SELECT *, {columns} FROM ({query})"
            bad = " OR ".join(["__badcell", *unasked_answers])
            query = f"SELECT *, ({bad}) AS __bad FROM ({query})"
            if lean:
                # From here on only invalid rows need their raw cells (for their notes), as one
                # list; carrying ~60 columns through every later step costs more than scoring.
                query = f"SELECT *, (CASE WHEN __bad THEN {self._raw_pack()} END) AS __raw FROM ({query})"
                context = {f"c{index}" for _, index in self.columns.context}
                drop = [c.column for c in self.source.cells if c.column not in context]
                drop += [_q("p_" + item.id) for item in plan.items]
                query = f"SELECT * EXCLUDE ({', '.join(drop)}) FROM ({query})"
            for layer in compiled.layers():
                cols_sql = ", ".join(f"{expr} AS {name}" for name, expr in layer)
                query = f"SELECT *, {cols_sql} FROM ({query})"
            # Reasons, only where a status is not 'complete', in one layer (a layer per
            # reason cost more than the subexpressions DuckDB shares between them).
            reasons = [
                f"(CASE WHEN {s.column('st', self.d)} <> 'complete' THEN {compiled.reason(s)} END)"
                f" AS {self._reason(s)}"
                for s in compiled.scores
                if s.sql is not None
            ]
            if reasons:
                query = f"SELECT *, {', '.join(reasons)} FROM ({query})"
            return query

        self.compose = compose  # the scoring query over a relation of raw cells
        self.scored_query = compose(self.source.relation, lean=False)
        self.parallel_query = (
            compose(self.source.parallel, lean=True) if self.source.parallel else None
        )
        self._history = None
        self.notes_udf = self._notes_udf()
        self.flag_tally = FlagTally()
        self.tally_udf = self._tally_udf()

    def _raw_pack(self) -> str:
        """An invalid row's raw cells as one list of text (cast back by ``_raw_unpack``; a
        struct of the typed cells would cost DuckDB its parallelism here)."""
        return "[" + ", ".join(f"CAST({c.native} AS VARCHAR)" for c in self.source.cells) + "]"

    def _raw_unpack(self) -> list[str]:
        return [
            f"__raw[{k + 1}]"
            if c.sql_type == "VARCHAR"
            else f"CAST(__raw[{k + 1}] AS {c.sql_type})"
            for k, c in enumerate(self.source.cells)
        ]

    def _reason(self, score) -> str:
        return _q(score.prefix + "r")

    def _sentinel(self, item) -> int:
        codes = [v for v, _ in self.plan.instrument.choices(item)]
        return min(codes, default=0) - 1

    def _parse_item(self, item, cell) -> tuple[str, str]:
        """(parse expression, badness test with {p} for the parsed column)."""
        parser = self.parsers[item.id]
        c = cell.text
        if item.type in ("choice", "yes_no"):
            sentinel = self._sentinel(item)
            codes = [str(v) for v, _ in parser.choices]
            if cell.sql_type in INTEGERS:  # Parquet's integer columns: no text to parse
                n = cell.native
                return (
                    f"(CASE WHEN {n} IS NULL THEN NULL WHEN {self.d.in_list(n, codes)}"
                    f" THEN CAST({n} AS INTEGER) ELSE {sentinel} END)"
                ), f"{{p}} = {sentinel}"
            udf = self.udf.add(
                f"choice_{len(item.id)}",
                self._choice_fn(parser, cell, sentinel),
                [cell.sql_type],
                "INTEGER",
            )
            fast = " ".join(
                f"WHEN {c} = {sql_text(key)} THEN {value}"
                for key, value in parser.fast.items()
                if isinstance(key, str) and key
            )
            labels = {}
            for value, label in parser.choices:
                labels.setdefault(label.casefold(), value)
            label_map = " ".join(f"WHEN {sql_text(k)} THEN {v}" for k, v in labels.items())
            t = f"trim({c})"
            integral = f"TRY_CAST(regexp_extract({t}, '^[-+]?[0-9]+') AS HUGEINT)"
            ascii_path = (
                f"(CASE WHEN {t} = '' THEN NULL"
                f" WHEN regexp_full_match({t}, '[-+]?[0-9]+(\\.0*)?') THEN"
                f" (CASE WHEN {self.d.in_list(integral, codes)} THEN CAST({integral} AS INTEGER)"
                f" ELSE {sentinel} END)"
                f" ELSE (CASE lower({t}) {label_map} ELSE {sentinel} END) END)"
            )
            expr = (
                f"(CASE WHEN {cell.plain} THEN (CASE WHEN {c} IS NULL OR {c} = '' THEN NULL {fast}"
                f" WHEN {_ascii(c)} THEN {ascii_path} ELSE {udf}({cell.native}) END)"
                f" ELSE {udf}({cell.native}) END)"
            )
            if cell.plain == "TRUE":
                expr = (
                    f"(CASE WHEN {c} IS NULL OR {c} = '' THEN NULL {fast}"
                    f" WHEN {_ascii(c)} THEN {ascii_path} ELSE {udf}({cell.native}) END)"
                )
            return expr, f"{{p}} = {sentinel}"
        if item.type == "text":
            udf = self.udf.add("text", self._text_fn(parser, cell), [cell.sql_type], "VARCHAR")
            blank = f"({c} IS NULL OR {c} = '' OR regexp_full_match({c}, '{WS}+'))"
            expr = f"(CASE WHEN {cell.plain} THEN (CASE WHEN {blank} THEN NULL ELSE {c} END) ELSE {udf}({cell.native}) END)"
            return expr, "FALSE"
        # number and multiple: parsed in Python, encoded as 'i:5', 'f:2.5', 'v:1,3' or 'e'
        fn = self._encoded_fn(parser, cell, item.type)
        udf = self.udf.add(item.type, fn, [cell.sql_type], "VARCHAR")
        expr = f"(CASE WHEN {cell.native} IS NULL THEN NULL ELSE {udf}({cell.native}) END)"
        return expr, "{p} = 'e'"

    @staticmethod
    def _choice_fn(parser, cell, sentinel):
        convert, parse = cell.convert, parser.parse

        def fn(value):
            try:
                answer = parse(convert(value))
            except CellError:
                return sentinel
            return answer

        return fn

    @staticmethod
    def _text_fn(parser, cell):
        convert, parse = cell.convert, parser.parse

        def fn(value):
            return parse(convert(value))

        return fn

    @staticmethod
    def _encoded_fn(parser, cell, kind):
        convert, parse = cell.convert, parser.parse

        def fn(value):
            try:
                answer = parse(convert(value))
            except CellError:
                return "e"
            if answer is None:
                return None
            if kind == "multiple":
                return "v:" + ",".join(map(str, answer))
            return ("f:" if isinstance(answer, float) else "i:") + repr(answer)

        return fn

    def _respondent(self, cell) -> str:
        udf = self.udf.add(
            "respondent", lambda v: respondent_text(cell.convert(v)), [cell.sql_type], "VARCHAR"
        )
        c = cell.text
        # An id that starts and ends with a printable ASCII character other than a space (most
        # do) has nothing to strip; only the others need the regular expression.
        stripped = (
            f"(CASE WHEN ascii({c}) BETWEEN 33 AND 126 AND ascii({c}[-1:]) BETWEEN 33 AND 126"
            f" THEN {c} WHEN regexp_matches({c}, '^{WS}|{WS}$') THEN"
            f" regexp_replace({c}, '^{WS}+|{WS}+$', '', 'g') ELSE {c} END)"
        )
        if cell.plain == "TRUE":
            return f"COALESCE({stripped}, '')"
        return (
            f"(CASE WHEN {cell.plain} THEN COALESCE({stripped}, '') ELSE {udf}({cell.native}) END)"
        )

    def _session(self, cell) -> str:
        """The session as BIGINT; -1 for a cell that is not a session number."""

        def fn(value):
            try:
                session = parse_session(cell.convert(value))
            except CellError:
                return -1
            return session if session is None or session < 2**62 else -1

        udf = self.udf.add("session", fn, [cell.sql_type], "BIGINT")
        c = cell.text
        t = f"trim({c})"
        ascii_path = (
            f"(CASE WHEN {t} = '' THEN NULL WHEN regexp_full_match({t}, '[-+]?[0-9]{{1,17}}(\\.0*)?')"
            f" THEN (CASE WHEN CAST(regexp_extract({t}, '^[-+]?[0-9]+') AS BIGINT) >= 0"
            f" THEN CAST(regexp_extract({t}, '^[-+]?[0-9]+') AS BIGINT) ELSE -1 END)"
            f" WHEN regexp_full_match({t}, '[-+]?[0-9]+(\\.0*)?') THEN {udf}({cell.native}) ELSE -1 END)"
        )
        text = (
            f"(CASE WHEN {c} IS NULL OR {c} = '' THEN NULL WHEN {_ascii(c)} THEN {ascii_path}"
            f" ELSE {udf}({cell.native}) END)"
        )
        if cell.plain == "TRUE":
            return text
        return f"(CASE WHEN {cell.plain} THEN {text} ELSE {udf}({cell.native}) END)"

    def _when(self, cell) -> str:
        """The date as the Python engine prints it ('2026-03-01' or '2026-03-01 14:30:00');
        'e' for a cell that is not a date."""

        def fn(value):
            try:
                when = parse_when(cell.convert(value))
            except CellError:
                return "e"
            return None if when is None else str(when)

        udf = self.udf.add("when", fn, [cell.sql_type], "VARCHAR")
        c = cell.text
        date = (
            f"(CASE WHEN regexp_full_match({c}, '[1-9][0-9]{{3}}-[0-9]{{2}}-[0-9]{{2}}')"
            f" AND TRY_CAST({c} AS DATE) IS NOT NULL THEN {c} ELSE {udf}({cell.native}) END)"
        )
        if cell.sql_type == "DATE":
            return f"CAST({cell.native} AS VARCHAR)"
        text = f"(CASE WHEN {c} IS NULL OR {c} = '' THEN NULL ELSE {date} END)"
        if cell.plain == "TRUE":
            return text
        return f"(CASE WHEN {cell.plain} THEN {text} ELSE {udf}({cell.native}) END)"

    def _notes_udf(self) -> str:
        """The notes of an invalid row, from the Python engine's own checks; the problems are
        kept for the report."""
        plan, columns = self.plan, self.columns
        parsers = self.parsers
        problems = self.problems

        def fn(bad, number, length, extra, *values):
            if not bad:  # DuckDB may evaluate a CASE branch for rows that do not take it
                return None
            row = self.source.raw_row(list(values), length, extra)
            [scored] = score_rows(plan, [(number, row)], columns, parsers)
            problems[number] = scored.problems
            return "; ".join(str(p) for p in scored.problems)

        cells = self.source.cells
        params = ["BOOLEAN", "BIGINT", "BIGINT", "BOOLEAN", *(c.sql_type for c in cells)]
        return self.udf.add("notes", fn, params, "VARCHAR", side_effects=True)

    def _tally_udf(self) -> str:
        """Tells ``flag_tally`` the flags of a row DuckDB writes (see ``_tallied``) and returns
        the row's status unchanged."""
        flag_ids = [step.flag.id for step in self.plan.flags]
        states = {"yes": True, "no": False, "unknown": None}

        def fn(number, status, *flags):
            # The tally skips rows with nothing to tell: DuckDB may evaluate a CASE branch for
            # rows that do not take it.
            shown = {f: states[v] for f, v in zip(flag_ids, flags)}
            self.flag_tally.add_flags(number, shown, status != "invalid")
            return status

        params = ["BIGINT", "VARCHAR", *(["VARCHAR"] * len(flag_ids))]
        return self.udf.add("tally", fn, params, "VARCHAR", side_effects=True)

    def _tallied(self, query: str, columns: list[tuple[str, str]]) -> str:
        """``query`` (output columns ``o0``, ``o1``, ...) with its flags told to ``flag_tally``
        where one could not be checked or is raised on an invalid row: the rows ``nefkit
        score`` warns about, few, counted as the file is written."""
        names = [name for name, _ in columns]
        flags = [_q(f"o{names.index('flag_' + step.flag.id)}") for step in self.plan.flags]
        if not flags:
            return query
        k = names.index("row_status")
        status = _q(f"o{k}")
        unknown = " OR ".join(f"{f} = 'unknown'" for f in flags)
        raised = " OR ".join(f"{f} = 'yes'" for f in flags)
        call = f"{self.tally_udf}(o0, {status}, {', '.join(flags)})"
        tallied = (
            f"(CASE WHEN {unknown} OR ({status} = 'invalid' AND ({raised})) THEN {call}"
            f" ELSE {status} END) AS {status}"
        )
        select = [tallied if i == k else _q(f"o{i}") for i in range(len(names))]
        return f"SELECT {', '.join(select)} FROM ({query})"

    def _notes_call(self) -> str:
        length = "__len" if self.source.normalised and self.source.format == "csv" else "NULL"
        extra = "__extra" if length != "NULL" else "NULL"
        natives = ", ".join(c.native for c in self.source.cells)
        return f"{self.notes_udf}(__bad, __row, {length}, {extra}, {natives})"

    # -----------------------------------------------------------------------------------------
    # Output columns

    def output_columns(self, typed: bool) -> list[tuple[str, str]]:
        """(name, expression) of the tabular layout; text formatted as the CSV renderer writes
        it, or, with ``typed``, native values for Parquet and JSON Lines."""
        d = self.d
        out: list[tuple[str, str]] = [("row", "__row")]
        rid = "NULLIF(__rid, '')"
        out.append(("respondent_id", rid if typed else _neutral(rid)))
        when = "(CASE WHEN __when = 'e' THEN NULL ELSE __when END)"
        out.append(("administered_at", when))
        ses = "(CASE WHEN __ses = -1 THEN NULL ELSE __ses END)"
        out.append(("session", ses if typed else f"CAST({ses} AS VARCHAR)"))
        for name, index in self.columns.context:
            cell = self._cell(index)
            out.append((name, self._context(cell, typed)))
        notes = []
        complete = []
        for score in self.compiled.scores:
            v, st, f = (score.column(p, d) for p in ("v", "st", "f"))
            if score.kind == "number":
                # Native numbers print as Python prints them: DuckDB writes a BIGINT's digits
                # and a DOUBLE's shortest round-trip form ('9.0'), as repr does.
                if typed:
                    kind = "BIGINT" if self._integer_score(score.score_id) else "DOUBLE"
                    value = f"CAST({v} AS {kind})"
                elif score.sql.is_float == "TRUE":
                    value = f"CAST({v} AS DOUBLE)"
                elif score.sql.is_float == "FALSE":
                    value = f"CAST({v} AS BIGINT)"
                else:
                    value = d.number_text(v, f)
            elif score.kind == "boolean" and not typed:
                value = f"(CASE WHEN {v} THEN 'yes' WHEN NOT {v} THEN 'no' END)"
            elif typed:
                value = v
            else:
                value = _neutral(f"CAST({v} AS VARCHAR)")
            out.append((score.score_id, f"(CASE WHEN __bad THEN NULL ELSE {value} END)"))
            out.append((f"{score.score_id}_status", f"(CASE WHEN __bad THEN NULL ELSE {st} END)"))
            reason = self._reason(score)
            notes.append(
                f"(CASE WHEN {reason} <> '' THEN {sql_text(score.score_id + ': ')} || {reason} END)"
            )
            complete.append(f"{st} = 'complete'")
        for flag_id, condition in self.compiled.flags:  # on invalid rows too
            out.append((f"flag_{flag_id}", sqlc.flag_text(condition)))
        out.append(("row_status", "(CASE WHEN __bad THEN 'invalid' ELSE 'scored' END)"))
        valid_notes = d.concat_ws("'; '", notes) if notes else "NULL"
        all_complete = " AND ".join(complete) or "TRUE"
        note = (
            f"(CASE WHEN __bad THEN {self._notes_call()} WHEN {all_complete} THEN NULL"
            f" ELSE NULLIF({valid_notes}, '') END)"
        )
        # Notes start with a score id or "row", never with a formula's first character.
        out.append(("notes", note))
        out.append(("instrument", sql_text(self.instrument_label)))
        return out

    def _integer_score(self, score_id: str) -> bool:
        step = next(s for s in self.plan.steps if s.score.id == score_id)
        return step.output.integer

    def _context(self, cell, typed: bool) -> str:
        if typed and self.source.format == "parquet":
            return cell.native

        def fn(value):
            value = cell.convert(value)
            return None if value is None else str(value)

        udf = self.udf.add("context", fn, [cell.sql_type], "VARCHAR")
        text = f"(CASE WHEN {cell.plain} THEN {cell.text} ELSE {udf}({cell.native}) END)"
        if cell.plain == "TRUE":
            text = cell.text
        if typed:
            return f"NULLIF({text}, '')"
        neutral = f"(CASE WHEN {cell.is_text_type} THEN {_neutral(text)} ELSE {text} END)"
        if cell.is_text_type == "TRUE":
            neutral = _neutral(text)
        return f"NULLIF({neutral}, '')"

    @property
    def instrument_label(self) -> str:
        i = self.plan.instrument
        return f"{i.id} {i.version} {i.content_hash[:19]}"

    # -----------------------------------------------------------------------------------------
    # Running

    def results(self) -> ColumnarResults:
        plan = self.plan
        provenance = Provenance.of(plan, str(self.path))
        results = ColumnarResults(
            plan.instrument, plan, [name for name, _ in self.columns.context], iter(()), provenance
        )
        results.engine = self
        results.rows = self._rows(results)
        return results

    def _materialise(self) -> str:
        """The scored rows as a table, when change scores need a second look at them."""
        if not getattr(self, "_table", None):
            self.con.execute(f"CREATE TABLE scored AS {self._with_notes()}")
            self._table = "scored"
        return self._table

    def _with_notes(self, scored: Optional[str] = None) -> str:
        return (
            f"SELECT *, (CASE WHEN __bad THEN {self._notes_call()} END) AS __notes"
            f" FROM ({scored or self.scored_query})"
        )

    def _normalise(self) -> bool:
        """After DuckDB failed to read the file directly (broken quoting or encoding, ragged
        rows), read it through nefkit's reader instead; that raises the Python engine's error
        for a file that cannot be read at all. False when there is nothing left to try."""
        from .sources import normalise_csv, normalise_jsonl

        if self.source.normalised or self.format not in ("csv", "jsonl"):
            return False
        normalise = normalise_csv if self.format == "csv" else normalise_jsonl
        self.source = normalise(self.path, self.header, self.workdir, self.reader)
        self.con.execute("DROP TABLE IF EXISTS scored")
        self._table = None
        self._build()
        return True

    def write_native(self, results: ColumnarResults, path: Path, fmt: str) -> bool:
        import duckdb

        with self._memory():
            try:
                return self._write_native(results, path, fmt)
            except duckdb.OutOfMemoryException:
                raise
            except duckdb.Error:
                if not self._normalise():
                    raise
                return self._write_native(results, path, fmt)

    @contextmanager
    def _memory(self):
        """DuckDB's running out of memory said in words, with what to do: not a file that
        DuckDB cannot read (which the engine would read again through nefkit's reader)."""
        import duckdb

        try:
            yield
        except duckdb.OutOfMemoryException:
            raise NefkitError(
                f"DuckDB ran out of memory (its limit is {self.memory}); set a higher limit,"
                " e.g. NEFKIT_DUCKDB_MEMORY=4GB, or fewer threads, NEFKIT_DUCKDB_THREADS=1"
            ) from None

    def _write_native(self, results: ColumnarResults, path: Path, kind: str) -> bool:
        # Only where every score is SQL: a score computed in Python reaches DuckDB through the
        # rows, which the renderer writes.
        if kind not in ("csv", "parquet", "jsonl") or not self.compiled.complete:
            return False
        typed = kind != "csv"
        names = score_columns(results)
        self.problems.clear()
        self.flag_tally = FlagTally()
        columns = self.output_columns(typed)
        pieces = None if self.plan.changes else self.source.pieces(self._threads(), self.workdir)
        if pieces and len(pieces) > 1 and kind == "parquet":
            pieces = None  # Parquet files do not join end to end
        scoring = SCORING_WITH_CHANGES if self.plan.changes else 1.0  # its share of the work
        if pieces:
            rows = self._copy_pieces(pieces, columns, names, path, kind, scoring)
        else:
            first = scoring * FIRST_PASS  # scored into a file or a table, then written from it
            if self.parallel_query:
                with self.watch.watching([self.con], 0.0, first):
                    query = self._scored_in_parallel(columns)
            elif self.plan.changes:
                with self.watch.watching([self.con], 0.0, first):
                    query = f"SELECT {self._select(columns)} FROM {self._materialise()}"
            else:
                first = 0.0
                query = f"SELECT {self._select(columns)} FROM ({self._with_notes()})"
            with self.watch.watching([self.con], first, scoring):
                rows = self._copy(self._tallied(query, columns), names, path, kind)
        results.row_count = rows
        results.invalid_count = len(self.problems)
        results.flag_tally = self.flag_tally
        results.problems = [p for number in sorted(self.problems) for p in self.problems[number]]
        results.rows = iter(())
        stem = path.with_name(path.stem)
        provenance = path.with_name(f"{path.stem}-provenance.json")
        provenance.write_text(results.provenance.model_dump_json(indent=2) + "\n", encoding="utf-8")
        if self.plan.changes:
            changes, problems, results.change_gaps = self.changes()
            self.watch.report(CHANGES_COMPUTED)  # several queries: not polled
            results.changes = changes
            results.problems.extend(problems)
            target = path.with_name(f"{stem.name}-changes{path.suffix}")
            with self.watch.watching([self.con], CHANGES_COMPUTED, 1.0):
                self._write_changes(results, target, kind)
            if not changes:  # counted while written: as the Python engine, no empty file
                target.unlink()
        return True

    def _scored_in_parallel(self, columns: list[tuple[str, str]]) -> str:
        """Score every line in parallel into a temporary Parquet file, in file order; return the
        query that numbers its rows (Parquet knows each row's position, in parallel too), drops
        the lines without content, and words the notes of invalid rows."""
        d = self.d
        notes_call = self._notes_call()
        keep = []
        for k, (_, expr) in enumerate(columns):
            if k == 0:  # the row number, known only afterwards
                continue
            keep.append(f"{expr.replace(notes_call, 'NULL')} AS {_q(f'o{k}')}")
        keep += ["__content", "__bad", "__raw"]
        if self.plan.changes:
            keep += ["__rid", "__ses", "__when"]
            for s in self.compiled.scores:
                if s.score_id in {c.change.score for c in self.plan.changes}:
                    keep += [s.column("v", d), s.column("f", d)]
        scored = self.workdir / "scored.parquet"
        self.con.execute(
            f"COPY (SELECT {', '.join(keep)} FROM ({self.parallel_query}))"
            f" TO {sql_text(str(scored))} (FORMAT parquet, COMPRESSION uncompressed, ROW_GROUP_SIZE 32768)"
        ).fetchall()
        numbered = (
            f"(SELECT CAST(file_row_number + 2 AS BIGINT) AS __row, *"
            f" FROM read_parquet({sql_text(str(scored))}, file_row_number = true) WHERE __content)"
        )
        self._history = numbered
        raw = ", ".join(self._raw_unpack())
        bad_notes = f"{self.notes_udf}(__bad, __row, NULL, NULL, {raw})"
        select = []
        for k, (name, expr) in enumerate(columns):
            column = _q(f"o{k}")
            if k == 0:
                select.append(f"__row AS {column}")
            elif name == "notes" and notes_call in expr:
                select.append(f"(CASE WHEN __bad THEN {bad_notes} ELSE {column} END) AS {column}")
            else:
                select.append(column)
        return f"SELECT {', '.join(select)} FROM {numbered}"

    def _select(self, columns: list[tuple[str, str]]) -> str:
        """The output columns over the scored rows with their notes (``_with_notes``)."""
        notes = self._notes_call()
        return ", ".join(
            f"{expr.replace(notes, '__notes')} AS {_q(f'o{k}')}"
            for k, (_, expr) in enumerate(columns)
        )

    def _threads(self) -> int:
        return int(self.con.execute("SELECT current_setting('threads')").fetchone()[0])

    def _copy_pieces(
        self,
        pieces: list[str],
        columns: list[tuple[str, str]],
        names: list[str],
        path: Path,
        kind: str,
        share: float,
    ) -> int:
        """Score every piece of the file on a thread of its own: the first straight into
        ``path``, each other one into a file then appended to it, in order; ``share``: the
        part of the work this is, for the progress shown."""
        from concurrent.futures import ThreadPoolExecutor

        select = self._select(columns)
        queries = [
            self._tallied(
                f"SELECT {select} FROM ({self._with_notes(self.compose(piece, lean=False))})",
                columns,
            )
            for piece in pieces
        ]
        bodies = [path] + [self.workdir / f"out{k}" for k in range(1, len(queries))]
        cursors = [self.con.cursor() for _ in queries]
        if self.watch.active:
            for cursor in cursors:
                enable(cursor)

        def run(k: int) -> int:
            return self._copy(queries[k], names, bodies[k], kind, cursors[k], header=not k)

        threads = self._threads()
        if len(queries) > 1:
            # One thread per query: more would make DuckDB hold rows back to write them in
            # order (peak memory then grows with the file: 1.1 GB at 10M rows).
            self.con.execute("SET threads = 1")
        try:
            with (
                self.watch.watching(cursors, 0.0, share),
                ThreadPoolExecutor(len(queries)) as pool,
            ):
                rows = sum(pool.map(run, range(len(queries))))
        finally:
            self.con.execute(f"SET threads = {threads}")
        for body in bodies[1:]:
            copy_bytes(body, path, append=True)
            body.unlink()
        return rows

    def _copy(
        self, query: str, names: list[str], path: Path, kind: str, con=None, header: bool = True
    ) -> int:
        """The rows of ``query`` (columns ``o0``, ``o1``, ... to be named ``names``) into
        ``path``; for CSV with the header unless ``header`` is false. ``con``: a cursor of
        one's own, for a thread."""
        con = con or self.con
        target = sql_text(str(path))
        renamed = ", ".join(f"{_q(f'o{k}')} AS {_q(name)}" for k, name in enumerate(names))
        if kind != "csv":
            fmt = "parquet" if kind == "parquet" else "json"
            done = con.execute(
                f"COPY (SELECT {renamed} FROM ({query})) TO {target} (FORMAT {fmt})"
            ).fetchall()
            return int(done[0][0])
        options = (
            "FORMAT csv, DELIMITER ',', QUOTE '\"', ESCAPE '\"', NEW_LINE '\\r\\n', COMMENT ''"
        )
        plain = all(re.fullmatch(r"[A-Za-z0-9_ .]+", n) for n in names)
        if plain or not header:
            # The header as the CSV renderer writes it: plain names need no quoting.
            done = con.execute(
                f"COPY (SELECT {renamed} FROM ({query})) TO {target} ({options}, HEADER {str(header).lower()})"
            ).fetchall()
            return int(done[0][0])
        # Unusual column names: the header by Python's csv module, then the rows.
        body = path.with_name(path.name + ".body")
        done = con.execute(
            f"COPY ({query}) TO {sql_text(str(body))} ({options}, HEADER false)"
        ).fetchall()
        with open(path, "w", encoding="utf-8", newline="") as out:
            csv.writer(out).writerow([csv_cell(name) for name in names])
        copy_bytes(body, path, append=True)
        body.unlink()
        return int(done[0][0])

    # -----------------------------------------------------------------------------------------
    # Rows for the renderers

    def _rows(self, results: ColumnarResults) -> Iterator[ScoredRow]:
        with self._memory():
            yield from self._scored_rows(results)

    def _scored_rows(self, results: ColumnarResults) -> Iterator[ScoredRow]:
        plan = self.plan
        self.problems.clear()
        items = [item.id for item in plan.items]
        natives = [c.native for c in self.source.cells]
        select = self._select_columns()
        sql_scores = [s for s in self.compiled.scores if s.sql is not None]
        sql_flags = [flag_id for flag_id, condition in self.compiled.flags if condition]
        batches = self._batches(select, plan.changes)
        width = len(natives)
        n_items = len(items)
        context = self.columns.context
        item_index = self.columns.items
        kinds = {s.score_id: s.kind for s in self.compiled.scores}
        kept = self._python_change_scores()
        if kept:
            columns = ", ".join(f"sv{k} DOUBLE, sf{k} BOOLEAN" for k, _ in kept)
            self.con.execute(f"CREATE OR REPLACE TABLE python_scores (__row BIGINT, {columns})")
        for batch in batches:
            valid_rows = []
            out = []
            for record in batch:
                number, bad, rid, ses, when, length, extra = record[:7]
                raw = self.source.raw_row(list(record[7 : 7 + width]), length, extra)
                if bad:
                    [row] = score_rows(plan, [(number, raw)], self.columns, self.parsers)
                    out.append(row)
                    continue
                base = 7 + width
                answers = {}
                for k, item_id in enumerate(items):
                    value = record[base + k]
                    if record[base + n_items + k]:
                        value = NOT_ASKED
                    elif isinstance(value, list):
                        value = tuple(value)
                    elif isinstance(value, float) and item_id in item_index:
                        item = plan.instrument.item_map[item_id]
                        if item.type == "number":
                            value = _number(value, raw[item_index[item_id]], self.parsers[item_id])
                    answers[item_id] = value
                cells = {i: raw[p] for i, p in item_index.items()}
                row = ScoredRow(
                    row=number,
                    respondent_id=rid or None,
                    administered_at=None if when is None else parse_when(when),
                    session=ses,
                    context={name: raw[index] for name, index in context},
                    answers=answers,
                    cells=cells,
                )
                position = base + 2 * n_items
                for s in sql_scores:
                    value, status, reason, answered, is_float = record[position : position + 5]
                    position += 5
                    row.scores[s.score_id] = ScoreValue(
                        _score_value(value, is_float, kinds[s.score_id]), status, answered, reason
                    )
                row.flags.update(zip(sql_flags, record[position : position + len(sql_flags)]))
                valid_rows.append(row)
                out.append(row)
            self._python_scores(valid_rows)
            if kept and valid_rows:
                self._keep_python_scores(valid_rows, kept)
            for row in out:
                results.row_count += 1
                results.flag_tally.add(row)
                if row.problems:
                    results.invalid_count += 1
                    results.problems.extend(row.problems)
                yield row
            if self.progress:
                self.progress(results.row_count)
        if plan.changes:
            changes, problems, results.change_gaps = self.changes()
            results.changes = list(changes)
            results.problems.extend(problems)

    def _select_columns(self) -> list[str]:
        """What a ScoredRow is built from: row facts, raw cells, answers, not-asked flags, every
        score's five parts, the flags' conditions (NULL: could not be checked)."""
        d = self.d
        items = [item.id for item in self.plan.items]
        select = ["__row", "__bad", "__rid", "__ses", "__when"]
        select += (
            ["__len", "__extra"]
            if self.source.normalised and self.source.format == "csv"
            else ["NULL", "NULL"]
        )
        select += [c.native for c in self.source.cells]
        select += [_q("v_" + i) for i in items]
        select += [f"COALESCE({self.item_sql[i].not_asked or 'FALSE'}, FALSE)" for i in items]
        for s in self.compiled.scores:
            if s.sql is not None:
                v, st, a, f = (s.column(p, d) for p in sqlc.COLUMN_PARTS)
                select += [v, st, f"COALESCE({self._reason(s)}, '')", a, f]
        select += [condition for _, condition in self.compiled.flags if condition]
        return select

    def _batches(self, select: list[str], changes) -> Iterator[list[tuple]]:
        """The selected columns in batches; if DuckDB cannot read the file after all, the rest
        comes from the normalised file (rows already given are skipped)."""
        import duckdb

        last = 0
        for attempt in range(2):
            cursor = self.con.cursor()
            try:
                source = self._materialise() if changes else f"({self._with_notes()})"
                cursor.execute(f"SELECT {', '.join(select)} FROM {source} WHERE __row > {last}")
                while batch := cursor.fetchmany(BATCH):
                    last = batch[-1][0]
                    yield batch
                return
            except duckdb.OutOfMemoryException:
                raise
            except duckdb.Error:
                if attempt or not self._normalise():
                    raise
                select = self._select_columns()

    def _python_scores(self, rows: list[ScoredRow]) -> None:
        """Scores (and the flags reading them) whose rule has no SQL form, by ``compute_batch``
        over the batch, in plan order."""
        if self.compiled.complete or not rows:
            return
        plan = self.plan
        values: dict[str, list] = {i.id: [r.answers[i.id] for r in rows] for i in plan.items}
        for step, compiled in zip(plan.steps, self.compiled.scores):
            if compiled.sql is not None:
                values[step.score.id] = [r.scores[step.score.id].value for r in rows]
                continue
            try:
                results = plan.compute(step, [values[i] for i in step.inputs])
            except RuleFailed as failed:
                if failed.index is not None:
                    failed.row = f"row {rows[failed.index].row}"
                raise
            for row, result in zip(rows, results):
                row.scores[step.score.id] = result
            values[step.score.id] = [r.value for r in results]
        for step, (flag_id, condition) in zip(plan.flags, self.compiled.flags):
            if not condition:
                for row, state in zip(rows, step.condition.evaluate_batch(values)):
                    row.flags[flag_id] = state
        # keep the plan's flag order
        order = [s.flag.id for s in plan.flags]
        for row in rows:
            row.flags = {f: row.flags[f] for f in order}

    # -----------------------------------------------------------------------------------------
    # Change scores

    def _change_scores(self) -> list[str]:
        """The scores change rules compare, in the order of the change query's ``sv0``,
        ``sv1``, ... columns."""
        return sorted({c.change.score for c in self.plan.changes})

    def _python_change_scores(self) -> list[tuple[int, str]]:
        """(position among ``_change_scores``, id) of those computed in Python, whose values
        exist only in the rows given to the renderers."""
        python = {s.score_id for s in self.compiled.scores if s.sql is None}
        return [(k, s) for k, s in enumerate(self._change_scores()) if s in python]

    def _keep_python_scores(self, rows: list[ScoredRow], kept: list[tuple[int, str]]) -> None:
        """The values of change scores computed in Python, into the table ``python_scores``
        that the change query joins (in DuckDB, so that memory stays bounded)."""
        columns = [[row.row for row in rows]]
        for _, score_id in kept:
            values = [row.scores[score_id].value for row in rows]
            columns += [values, [isinstance(v, float) for v in values]]
        unnest = ", ".join("unnest(?)" for _ in columns)
        self.con.execute(f"INSERT INTO python_scores SELECT {unnest}", columns)

    def _change_query(self) -> tuple[str, list]:
        d = self.d
        table = self._history or self._materialise()
        scores = self._change_scores()
        compiled = {s.score_id: s for s in self.compiled.scores}
        kept = dict(self._python_change_scores())
        if kept:
            table = f"{table} LEFT JOIN python_scores USING (__row)"
        picks = []
        for k, score_id in enumerate(scores):
            s = compiled[score_id]
            if k in kept:
                picks.append(f"sv{k}, sf{k}")
            else:
                picks.append(f"{s.column('v', d)} AS sv{k}, {s.column('f', d)} AS sf{k}")
        key = "TRY_CAST(__when AS TIMESTAMP)"
        history = (
            f"SELECT __row, __rid, (CASE WHEN __ses = -1 THEN NULL ELSE __ses END) AS ses,"
            f" (CASE WHEN __when = 'e' THEN NULL ELSE __when END) AS wtext,"
            f" {key} AS wkey, {', '.join(picks)} FROM {table} WHERE NOT __bad"
        )
        return history, scores

    def changes(self) -> tuple[list[ChangeRow], list[CellProblem], dict[str, RowSample]]:
        """Baseline to latest and session to session, as the Python engine orders and words
        them; the problems that stop them; and per change the administrations (of respondents
        with two or more) without the score it compares."""
        con = self.con
        history, scores = self._change_query()
        con.execute(f"CREATE OR REPLACE VIEW h AS {history}")
        con.execute(
            "CREATE OR REPLACE TABLE groups AS SELECT __rid, count(*) AS n, count(ses) AS ns,"
            " count(wkey) AS nw, min(__row) AS first_row,"
            " string_agg(CAST(__row AS VARCHAR), ', ' ORDER BY __row) AS rows"
            " FROM h GROUP BY __rid HAVING count(*) >= 2"
        )
        con.execute(
            "CREATE OR REPLACE TABLE ordered AS SELECT h.*, g.first_row,"
            " (CASE WHEN g.ns = g.n THEN 'session' ELSE 'administered_at' END) AS by_,"
            " row_number() OVER (PARTITION BY h.__rid ORDER BY"
            " (CASE WHEN g.ns = g.n THEN CAST(ses AS DOUBLE) END),"
            " (CASE WHEN g.ns <> g.n THEN wkey END), h.__row) AS pos"
            " FROM h JOIN groups g USING (__rid) WHERE g.ns = g.n OR g.nw = g.n"
        )
        problems: list[tuple[int, CellProblem]] = []
        for rid, n, rows, first in con.execute(
            "SELECT __rid, n, rows, first_row FROM groups WHERE ns < n AND nw < n"
        ).fetchall():
            problems.append(
                (
                    first,
                    CellProblem(
                        first,
                        "session",
                        None,
                        f"respondent {rid} has {n} administrations (rows {rows}) but not every one has a session or an administered_at, so their order and change scores are unknown",
                    ),
                )
            )
        con.execute(
            "CREATE OR REPLACE TABLE clashes AS SELECT __rid, arg_min(prev, pos) AS a, arg_min(__row, pos) AS b,"
            " any_value(by_) AS by_, any_value(first_row) AS first_row FROM ("
            " SELECT *, lag(__row) OVER w AS prev,"
            " (CASE WHEN by_ = 'session' THEN CAST(lag(ses) OVER w AS DOUBLE) = CAST(ses AS DOUBLE)"
            " ELSE lag(wkey) OVER w = wkey END) AS same"
            " FROM ordered WINDOW w AS (PARTITION BY __rid ORDER BY pos)) WHERE same GROUP BY __rid"
        )
        for rid, a, b, by, first in con.execute(
            "SELECT __rid, a, b, by_, first_row FROM clashes"
        ).fetchall():
            problems.append(
                (
                    first,
                    CellProblem(
                        b,
                        by,
                        None,
                        f"respondent {rid} has two administrations with the same {by} (rows {a} and {b}), so their order and change scores are unknown",
                    ),
                )
            )
        problems.sort(key=lambda p: p[0])
        gaps = {}
        for step in self.plan.changes:
            k = scores.index(step.change.score)
            count, first = con.execute(
                f"SELECT count(*), list_slice(list(__row ORDER BY __row), 1, {SHOWN_ROWS})"
                f" FROM h JOIN groups USING (__rid) WHERE sv{k} IS NULL"
            ).fetchone()
            if count:
                gaps[step.change.id] = RowSample(count, first)
        changes = _LazyChanges(self, scores)
        return changes, [p for _, p in problems], gaps

    def change_rows_query(self, scores: list[str]) -> str:
        """Each change step's pairs: the first and the last administration with a value, and
        each one with the one before it; from window functions over each respondent's
        series (a self-join of the series held it all in memory: out of memory at 10M rows)."""

        def pick(n: str) -> str:
            return f"(CASE WHEN kind = 0 THEN f_{n} ELSE p_{n} END)"

        parts = []
        carried = (
            ("__row", "row"),
            ("ses", "ses"),
            ("wtext", "date"),
            ("val", "val"),
            ("isf", "isf"),
        )
        for index, step in enumerate(self.plan.changes):
            k = scores.index(step.change.score)
            windows = ", ".join(
                f"first_value({c}) OVER w AS f_{n}, lag({c}) OVER w AS p_{n}" for c, n in carried
            )
            series = (
                f"SELECT __rid, first_row, pos, __row, ses, wtext, sv{k} AS val, sf{k} AS isf"
                f" FROM ordered WHERE sv{k} IS NOT NULL"
                " AND __rid NOT IN (SELECT __rid FROM clashes)"
            )
            windowed = (
                f"SELECT *, row_number() OVER w AS k, count(*) OVER (PARTITION BY __rid) AS m,"
                f" {windows} FROM ({series}) WINDOW w AS (PARTITION BY __rid ORDER BY pos)"
            )
            # Each row twice: as the last of its series (kind 0, from the first) and as the
            # one after the one before it (kind 1).
            pairs = (
                "SELECT __rid, first_row, kind, (CASE WHEN kind = 0 THEN 0 ELSE k - 1 END) AS k,"
                f" {pick('row')} AS from_row, __row AS to_row, {pick('ses')} AS from_ses,"
                f" ses AS to_ses, {pick('date')} AS from_date, wtext AS to_date,"
                f" {pick('val')} AS before, val AS after, {pick('isf')} AS bf, isf AS af"
                f" FROM (SELECT *, unnest([0, 1]) AS kind FROM ({windowed}))"
                " WHERE (kind = 0 AND k = m AND m >= 2) OR (kind = 1 AND k >= 2)"
            )
            parts.append(
                f"SELECT b.*, {index} AS step, {sql_text(step.change.id)} AS change_id,"
                f" {sql_text(step.change.score)} AS score_id, {self._classify(step)} AS classification"
                f" FROM ({pairs}) b"
            )
        return " UNION ALL ".join(parts) + " ORDER BY first_row, step, kind, k"

    def _classify(self, step) -> str:
        """The change step's classification in SQL over ``b.before`` and ``b.after``; "NULL"
        for a rule without a SQL form, which classifies in Python."""
        return sqlc.change_sql(step.rule, step.params, "b.before", "b.after", self.d) or "NULL"

    def _change_columns(self, typed: bool) -> list[str]:
        """The change layout (``change_columns``) over ``change_rows_query``: as the CSV
        renderer writes it, or typed as ``_CHANGE_TYPES``."""
        d = self.d
        comparison = "(CASE WHEN kind = 0 THEN 'baseline to latest' ELSE 'session to session' END)"
        label = sql_text(self.instrument_label)
        if typed:
            return [
                "__rid",
                "change_id",
                "score_id",
                comparison,
                "from_row",
                "to_row",
                "from_ses",
                "to_ses",
                "from_date",
                "to_date",
                "CAST(before AS DOUBLE)",
                "CAST(after AS DOUBLE)",
                "CAST(after AS DOUBLE) - CAST(before AS DOUBLE)",
                "classification",
                label,
            ]
        difference = (
            f"(CASE WHEN bf OR af THEN {d.float_text('CAST(after AS DOUBLE) - CAST(before AS DOUBLE)')}"
            f" ELSE {d.int_text('CAST(after AS BIGINT) - CAST(before AS BIGINT)')} END)"
        )
        return [
            _neutral("__rid"),
            "change_id",
            "score_id",
            comparison,
            "CAST(from_row AS VARCHAR)",
            "CAST(to_row AS VARCHAR)",
            "CAST(from_ses AS VARCHAR)",
            "CAST(to_ses AS VARCHAR)",
            "from_date",
            "to_date",
            d.number_text("before", "bf"),
            d.number_text("after", "af"),
            difference,
            _neutral("classification"),
            label,
        ]

    def _write_changes(self, results, path: Path, kind: str) -> None:
        import duckdb

        query = results.changes.query
        if all(self._classify(step) != "NULL" for step in self.plan.changes):
            # In DuckDB, as the Python path below would write them: about 1 µs a row
            # instead of 10.
            columns = ", ".join(
                f"{expr} AS {_q(f'o{k}')}"
                for k, expr in enumerate(self._change_columns(typed=kind != "csv"))
            )
            query = f"SELECT {columns} FROM ({query})"
            try:
                rows = self._copy(query, change_columns(), path, kind)
            except duckdb.OutOfMemoryException:
                # Sorted rows written in order from several threads wait in memory; one
                # thread needs less (1M pairs at an 80MB limit: two threads ran out, one not).
                threads = self._threads()
                if threads == 1:
                    raise
                self.con.execute("SET threads = 1")
                try:
                    rows = self._copy(query, change_columns(), path, kind)
                finally:
                    self.con.execute(f"SET threads = {threads}")
            results.changes.count = rows
            return
        if kind == "csv":
            with open(path, "w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(change_columns())
                for change in results.changes:
                    writer.writerow(_change_record(results, change))
            return
        rows = [
            dict(zip(change_columns(), _change_record(results, c, typed=True)))
            for c in results.changes
        ]
        temp = self.workdir / "changes.jsonl"
        with open(temp, "w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
        fmt = "parquet" if kind == "parquet" else "json"
        cols = (
            "{"
            + ", ".join(f"{sql_text(name)}: {sql_text(t)}" for name, t in _CHANGE_TYPES.items())
            + "}"
        )
        self.con.execute(
            f"COPY (SELECT * FROM read_json({sql_text(str(temp))}, columns = {cols}, format = 'newline_delimited'))"
            f" TO {sql_text(str(path))} (FORMAT {fmt})"
        )


_CHANGE_TYPES = {
    "respondent_id": "VARCHAR",
    "change": "VARCHAR",
    "score": "VARCHAR",
    "comparison": "VARCHAR",
    "from_row": "BIGINT",
    "to_row": "BIGINT",
    "from_session": "BIGINT",
    "to_session": "BIGINT",
    "from_date": "VARCHAR",
    "to_date": "VARCHAR",
    "before": "DOUBLE",
    "after": "DOUBLE",
    "difference": "DOUBLE",
    "classification": "VARCHAR",
    "instrument": "VARCHAR",
}


def _change_record(results, change: ChangeRow, typed: bool = False) -> list:
    from nefkit.tabular import change_record

    record = change_record(results, change)
    if typed:
        return [str(v) if isinstance(v, (dt.date, dt.datetime)) else v for v in record]
    return [csv_cell(v) for v in record]


class _LazyChanges(Sequence):
    """Change rows read from DuckDB when they are looked at."""

    def __init__(self, engine: ColumnarEngine, scores: list[str]):
        self.engine = engine
        self.query = engine.change_rows_query(scores)
        self._rows: Optional[list[ChangeRow]] = None
        self.count: Optional[int] = None  # known once they are written

    def _load(self) -> list[ChangeRow]:
        if self._rows is None:
            plan = self.engine.plan
            steps = plan.changes
            rows = []
            cursor = self.engine.con.cursor()
            cursor.execute(self.query)
            while batch := cursor.fetchmany(BATCH):
                for r in batch:
                    (
                        rid,
                        _,
                        kind,
                        _,
                        frm,
                        to,
                        fs,
                        ts,
                        fd,
                        td,
                        before,
                        after,
                        bf,
                        af,
                        step,
                        cid,
                        sid,
                        cls,
                    ) = r
                    step_ = steps[step]
                    before = before if bf else int(before)
                    after = after if af else int(after)
                    if cls is None:
                        cls = plan.classify(step_, before, after)
                    rows.append(
                        ChangeRow(
                            rid,
                            cid,
                            sid,
                            "baseline to latest" if kind == 0 else "session to session",
                            frm,
                            to,
                            fs,
                            ts,
                            None if fd is None else parse_when(fd),
                            None if td is None else parse_when(td),
                            before,
                            after,
                            cls,
                        )
                    )
            self._rows = rows
        return self._rows

    def __len__(self) -> int:
        if self._rows is not None:
            return len(self._rows)
        if self.count is None:  # counted without building a million rows to say how many
            count = f"SELECT count(*) FROM ({self.query})"
            self.count = self.engine.con.execute(count).fetchone()[0]
        return self.count

    def __getitem__(self, index):
        return self._load()[index]

    def __iter__(self):
        return iter(self._load())

    def __setitem__(self, index, value):
        self._load()[index] = value


def _number(value: float, cell, parser) -> Any:
    """A number answer as the Python parser holds it (int or float)."""
    try:
        return parser.parse(cell)
    except CellError:
        return value


def _score_value(value, is_float, kind):
    if value is None:
        return None
    if kind == "number":
        return float(value) if is_float else int(value)
    if kind == "boolean":
        return bool(value)
    return value


class DuckDBEngine(Engine):
    name = "duckdb"
    summary = "The scoring plan as SQL in DuckDB: for large CSV, JSON Lines and Parquet files."
    formats = ("csv", "jsonl", "parquet")

    def cost(self, work: Workload) -> float:
        """Starting (importing DuckDB, the plan as SQL, a database) plus the rows, per item
        and per row of a plan with change scores, and each row made a Python object when the
        output is rendered from rows; fitted to benchmarks/auto_engine.py."""
        per_row = PER_ROW + PER_ITEM * work.items + PER_CHANGE_ROW * work.changes
        cost = START + work.rows * per_row * FORMAT_COST.get(work.format, 1.0)
        if work.rendered:
            cost += work.rows * (ROW_OBJECT + ROW_OBJECT_ITEM * work.items)
        return cost

    def score(
        self, plan: Plan, data: Path, reader: Reader, progress: Optional[Progress] = None
    ) -> ColumnarResults:
        import duckdb

        results = ColumnarEngine(plan, Path(data), reader.format, reader, progress).results()
        results.provenance.engine = f"DuckDB {duckdb.__version__}"
        return results
