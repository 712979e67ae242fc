"""The SQL a scoring rule writes: dialects, and the builder and data types of ``to_sql``.

A rule that can be written in SQL implements ``to_sql(params, inputs, sql)`` (see
:meth:`nefkit.ScoringRule.to_sql`): it receives one :class:`SqlInput` per input, in ``inputs()``
order, and a :class:`SqlBuilder` for the dialect at hand, and returns a :class:`SqlScore` whose
expressions reproduce ``compute`` exactly: the value, its status, the reason in the same words,
how many inputs were answered, and whether Python would hold the value as a float (so that 9
prints as ``9`` and 9.0 as ``9.0``, as the Python engine prints them).

Every expression is SQL text for the builder's dialect; nothing here imports a database driver.
The builder offers the dialect's helpers as its own methods (``sql.half_up(x)``), so a rule
writes one expression for DuckDB, PostgreSQL, Spark and Trino.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class SqlInput:
    """One input of a rule, as SQL expressions over the row.

    ``value`` is NULL when the input is unanswered or was not asked; ``missing`` is TRUE exactly
    when Python would hold None (unanswered), ``not_asked`` when it would hold NOT_ASKED.
    ``is_float`` is TRUE when Python would hold a float rather than an int. ``kind`` is the
    input's :class:`nefkit.rules.Output` kind (number, label, boolean, text, codes).
    """

    id: str
    value: str
    missing: str
    not_asked: str = "FALSE"
    is_float: str = "FALSE"
    kind: str = "number"


@dataclass(frozen=True)
class SqlScore:
    """A score as SQL expressions: ``value`` (NULL exactly when not scorable), ``status``
    ('complete', 'prorated' or 'not scorable'), ``reason`` ('' when there is none, else the
    words ``compute`` uses; it is evaluated only where the status is not 'complete', so a
    complete score has no reason), ``answered`` (an integer) and ``is_float`` (TRUE when
    ``compute`` would return a Python float)."""

    value: str
    status: str
    reason: str = "''"
    answered: str = "0"
    is_float: str = "FALSE"


class Dialect:
    """What differs between SQL engines, in the few places a scoring plan needs."""

    name = "ansi"
    text_type = "VARCHAR"
    double_type = "DOUBLE"

    def ident(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def text(self, value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    def number(self, value) -> str:
        """A literal that is exactly the Python number: ints as digits, floats as doubles."""
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, int):
            return str(value)
        return f"CAST({self.text(repr(float(value)))} AS {self.double_type})"

    def double(self, expr: str) -> str:
        return f"CAST({expr} AS {self.double_type})"

    def bigint(self, expr: str) -> str:
        return f"CAST({expr} AS BIGINT)"

    def int_text(self, expr: str) -> str:
        return f"CAST(CAST({expr} AS BIGINT) AS {self.text_type})"

    def float_text(self, expr: str) -> str:
        """A double as Python's repr would write it, for the common values scores take."""
        return (
            f"(CASE WHEN {expr} = FLOOR({expr}) AND ABS({expr}) < 1e16"
            f" THEN {self.int_text(expr)} || '.0' ELSE CAST({expr} AS {self.text_type}) END)"
        )

    def number_text(self, expr: str, is_float: str) -> str:
        if is_float == "FALSE":
            return self.int_text(expr)
        if is_float == "TRUE":
            return self.float_text(expr)
        return f"(CASE WHEN {is_float} THEN {self.float_text(expr)} ELSE {self.int_text(expr)} END)"

    def concat(self, *parts: str) -> str:
        return "(" + " || ".join(parts) + ")"

    def concat_ws(self, separator: str, parts: Sequence[str]) -> str:
        """concat_ws, which skips NULLs, in groups small enough for PostgreSQL (at most 100
        arguments to a function)."""
        if len(parts) <= 90:
            return f"concat_ws({separator}, {', '.join(parts)})"
        groups = [
            f"NULLIF({self.concat_ws(separator, parts[k : k + 90])}, '')"
            for k in range(0, len(parts), 90)
        ]
        return self.concat_ws(separator, groups)

    def _missing(self, builder, named, name):
        count = builder.let(builder.count([cond for cond, _ in named]), name)
        return count, builder.names(self.join_names(named), f"{count} > 0")

    def in_list(self, expr: str, values: Sequence[str]) -> str:
        """``expr IN (values)`` with IN's NULL semantics, as equalities: DuckDB turns a long IN
        list into a join, which does not keep the rows in file order."""
        return "(" + " OR ".join(f"{expr} = {v}" for v in values) + ")"

    def join_names(self, named: Sequence[tuple[str, str]]) -> str:
        """', '-separated names whose condition holds, in order ('' when none)."""
        if not named:
            return "''"
        cases = [f"CASE WHEN {cond} THEN {self.text(name)} END" for cond, name in named]
        return "COALESCE(" + self.concat_ws("', '", cases) + ", '')"

    def first_names(self, joined: str, n: int) -> str:
        """The first ``n`` names of a ', '-separated list."""
        return f"array_to_string(list_slice(string_split({joined}, ', '), 1, {n}), ', ')"

    def half_up(self, expr: str) -> str:
        return f"(CASE WHEN {expr} >= 0 THEN FLOOR({expr} + 0.5) ELSE -FLOOR(-({expr}) + 0.5) END)"

    def list_contains(self, array: str, value: str) -> str:
        return f"list_contains({array}, {value})"

    def list_length(self, array: str) -> str:
        return f"len({array})"


class DuckDB(Dialect):
    name = "duckdb"

    def _missing(self, builder, named, name):
        """One bit per name in a let column; the names are picked from a list only where a
        reason needs them. A CASE per name costs DuckDB time on every batch of rows, even
        where no row takes it."""
        if not named or len(named) > 62:
            return super()._missing(builder, named, name)
        bits = builder.let(
            builder.sum(
                [
                    f"(CASE WHEN {cond} THEN {1 << k} ELSE 0 END)"
                    for k, (cond, _) in enumerate(named)
                ]
            ),
            name + "bits",
        )
        names = "[" + ", ".join(self.text(n) for _, n in named) + "]"
        picked = f"array_to_string(list_filter({names}, lambda x, i: (({bits} >> (i - 1)) & 1) = 1), ', ')"
        return f"bit_count({bits})", builder.names(picked, f"{bits} <> 0")

    def float_text(self, expr: str) -> str:
        # DuckDB prints doubles as Python's repr does (shortest round-trip digits, '9.0').
        return f"CAST({expr} AS VARCHAR)"


class Postgres(Dialect):
    name = "postgres"
    text_type = "TEXT"
    double_type = "DOUBLE PRECISION"

    def first_names(self, joined: str, n: int) -> str:
        return f"array_to_string((string_to_array({joined}, ', '))[1:{n}], ', ')"

    def list_contains(self, array: str, value: str) -> str:
        return f"({value} = ANY({array}))"

    def list_length(self, array: str) -> str:
        return f"COALESCE(cardinality({array}), 0)"


class Spark(Dialect):
    name = "spark"
    text_type = "STRING"

    def ident(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def text(self, value: str) -> str:
        # Spark SQL reads backslash escapes inside string literals.
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def concat(self, *parts: str) -> str:
        return "concat(" + ", ".join(parts) + ")"

    def first_names(self, joined: str, n: int) -> str:
        return f"array_join(slice(split({joined}, ', '), 1, {n}), ', ')"

    def list_contains(self, array: str, value: str) -> str:
        return f"array_contains({array}, {value})"

    def list_length(self, array: str) -> str:
        return f"size({array})"


class Trino(Dialect):
    name = "trino"

    def first_names(self, joined: str, n: int) -> str:
        return f"array_join(slice(split({joined}, ', '), 1, {n}), ', ')"

    def list_contains(self, array: str, value: str) -> str:
        return f"contains({array}, {value})"

    def list_length(self, array: str) -> str:
        return f"cardinality({array})"


DIALECTS: dict[str, Dialect] = {d.name: d for d in (DuckDB(), Postgres(), Spark(), Trino())}


class SqlBuilder:
    """Handed to ``to_sql``: the dialect's helpers, and ``let`` for an intermediate column that
    several of the score's expressions use (computed once, before them). A ``let`` expression
    reads the inputs only, not another ``let``."""

    def __init__(self, dialect: Dialect, prefix: str, known: Optional[dict[str, str]] = None):
        self.dialect = dialect
        self.prefix = prefix
        self.lets: list[tuple[str, str]] = []
        self.lists: list[tuple[str, str]] = []  # see names()
        # Expressions already a column (of this or an earlier score), by their SQL text: the
        # scores of one instrument often share them (the NEQ rules' tallies of missing answers).
        self.known = {} if known is None else known

    def __getattr__(self, name):
        return getattr(self.dialect, name)

    def let(self, expr: str, name: str = "") -> str:
        if expr in self.known:
            return self.known[expr]
        column = self.dialect.ident(f"{self.prefix}{name or 'x'}{len(self.lets)}")
        self.lets.append((column, expr))
        self.known[expr] = column
        return column

    def names(self, joined: str, where: str) -> str:
        """A column of names joined by ', ', built only where ``where`` holds ('' elsewhere),
        after the ``let`` columns (it may read them), for the reasons: the reasons of several
        scores often name the same missing answers, and DuckDB builds such a list in an
        expression once for each time the expression holds it, for few rows but at a cost on
        every batch of rows."""
        guarded = f"(CASE WHEN {where} THEN {joined} ELSE '' END)"
        if guarded in self.known:
            return self.known[guarded]
        column = self.dialect.ident(f"{self.prefix}names{len(self.lists)}")
        self.lists.append((column, guarded))
        self.known[guarded] = column
        return column

    def missing(self, named: Sequence[tuple[str, str]], name: str = "miss") -> tuple[str, str]:
        """(how many, their names joined by ', ') of the (condition, name) pairs whose condition
        holds, in order: the count as a ``let`` column, the names as an expression to use only
        where they are needed (a reason)."""
        return self.dialect._missing(self, named, name)

    def sum(self, terms: Sequence[str]) -> str:
        """Terms added left to right from 0, as Python's ``total += value`` does (the order
        matters for floats)."""
        return "(" + " + ".join(["0", *terms]) + ")"

    def count(self, conditions: Sequence[str]) -> str:
        return self.sum([f"(CASE WHEN {c} THEN 1 ELSE 0 END)" for c in conditions])

    def any(self, conditions: Sequence[str]) -> str:
        real = [c for c in conditions if c != "FALSE"]
        if not real:
            return "FALSE"
        return "(" + " OR ".join(real) + ")"

    def missing_reason(self, names: str, count: str, expected: str, allowed: int, many: bool):
        """``missing_reason`` of nefkit_rules in SQL: ``names`` is the ', '-joined list of
        missing inputs, ``count`` their number; ``many`` when more than five can be missing."""
        # ``names`` appears once: DuckDB hoists a repeated subexpression out of its CASE and
        # would build every row's list of names, not only the unscorable rows'.
        shown = names
        if many:
            shown = self.concat(
                self.first_names(names, 5),
                f"(CASE WHEN {count} > 5 THEN {self.text(', …')} ELSE '' END)",
            )
        limit = "every answer is needed" if allowed == 0 else f"at most {allowed} may be missing"
        return self.concat(
            self.int_text(count),
            "' of '",
            self.int_text(expected),
            "' answers missing ('",
            shown,
            self.text(f"); {limit}"),
        )
