"""A scoring plan as SQL: dialects, the contract rules compile to, and the plan compiler.

A rule that can be written in SQL implements ``to_sql(params, inputs, sql)`` (see
:meth:`nefkit.rules.ScoringRule.to_sql`): it receives one :class:`SqlInput` per input, in
``inputs()`` order, and an :class:`SqlBuilder` for the dialect at hand, and returns a
:class:`SqlScore` whose expressions reproduce ``compute`` exactly: the value, its status, the
reason in the same words, how many inputs were answered, and whether Python would hold the value
as a float (so that 9 prints as ``9`` and 9.0 as ``9.0``, as the Python engine prints them).

The same compiled plan serves two masters: the columnar engine (DuckDB, over parsed answers) and
``nefkit sql`` (any dialect, over a table of answers already stored as codes).

Nothing here imports a database driver.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Optional

from .. import conditions
from ..rules import ChangeRule, ScoringRule

# Columns the compiled plan adds, one set per score (``<prefix>v`` value, ``st`` status, ``a``
# answered count, ``f`` whether the value is a Python float); the reason is an expression.
COLUMN_PARTS = ("v", "st", "a", "f")


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

    def missing(self, builder, named, name):
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

    def missing(self, builder, named, name):
        """One bit per name in a let column; the names are picked from a list only where a
        reason needs them. A CASE per name costs DuckDB time on every batch of rows, even
        where no row takes it."""
        if not named or len(named) > 62:
            return super().missing(builder, named, name)
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
        return self.dialect.missing(self, named, name)

    def sum(self, terms: Sequence[str]) -> str:
        """Terms added left to right from 0, as Python's ``total += value`` does (the order
        matters for floats)."""
        return "(" + " + ".join(["0", *terms]) + ")"

    def count(self, conditions_: Sequence[str]) -> str:
        return self.sum([f"(CASE WHEN {c} THEN 1 ELSE 0 END)" for c in conditions_])

    def any(self, conditions_: Sequence[str]) -> str:
        real = [c for c in conditions_ if c != "FALSE"]
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


# ---------------------------------------------------------------------------------------------
# Conditions


@dataclass(frozen=True)
class SqlRef:
    """What a condition sees of an item or score: its value (NULL when Python would hold None
    or NOT_ASKED), its kind, and when it was not asked (a follow-up's not-asked column)."""

    value: str
    kind: str  # number, boolean, label, text, codes
    not_asked: str = "FALSE"


def condition_sql(condition: conditions.Condition, refs: Mapping[str, SqlRef], d: Dialect) -> str:
    """A condition as a SQL boolean with Python's three values (see nefkit/conditions.py): NULL
    where Python's is None (unknown). SQL's NOT, AND and OR are Kleene's already; each test is
    FALSE for a follow-up not asked, NULL for a value Python holds as None, else never NULL."""
    if isinstance(condition, conditions.Not):
        return f"(NOT {condition_sql(condition.operand, refs, d)})"
    if isinstance(condition, (conditions.And, conditions.Or)):
        joiner = " AND " if isinstance(condition, conditions.And) else " OR "
        return "(" + joiner.join(condition_sql(o, refs, d) for o in condition.operands) + ")"
    ref = refs[condition.ref]
    if isinstance(condition, conditions.Answered):
        answered = f"({ref.value} IS NOT NULL)"
        if ref.kind == "codes":
            answered = f"COALESCE({d.list_length(ref.value)} > 0, FALSE)"
        return answered if ref.not_asked == "FALSE" else f"(NOT {ref.not_asked} AND {answered})"
    return _known(ref, _test_sql(condition, ref, d))


def _test_sql(condition: conditions.Test, ref: SqlRef, d: Dialect) -> str:
    """A comparison, ``in`` or ``has`` of a value that is there."""
    numeric = ref.value if ref.kind == "number" else None
    if ref.kind == "boolean":
        numeric = f"CAST({ref.value} AS INTEGER)"
    if isinstance(condition, conditions.Compare):
        if numeric is None:
            return "FALSE"
        return (
            f"{numeric} {'=' if condition.op == '==' else condition.op} {d.number(condition.value)}"
        )
    if isinstance(condition, conditions.In):
        if numeric is None:
            return "FALSE"
        return d.in_list(numeric, [d.number(v) for v in condition.values])
    if isinstance(condition, conditions.Has):
        if ref.kind != "codes":
            return "FALSE"
        return d.list_contains(ref.value, d.number(condition.value))
    raise TypeError(f"unknown condition {condition!r}")


def _known(ref: SqlRef, test: str) -> str:
    """FALSE when the ref was not asked, NULL (unknown) when its value is NULL, else ``test``."""
    asked = "" if ref.not_asked == "FALSE" else f"WHEN {ref.not_asked} THEN FALSE "
    return f"(CASE {asked}WHEN {ref.value} IS NULL THEN NULL ELSE COALESCE({test}, FALSE) END)"


def flag_text(condition: str) -> str:
    """'yes', 'no' or 'unknown', as the tabular layout writes a flag, from its condition."""
    return f"(CASE WHEN {condition} THEN 'yes' WHEN NOT {condition} THEN 'no' ELSE 'unknown' END)"


# ---------------------------------------------------------------------------------------------
# The plan compiler


@dataclass
class CompiledScore:
    score_id: str
    kind: str  # the score's Output kind
    prefix: str  # its columns are <prefix>v, <prefix>st, ...
    lets: list[tuple[str, str]]
    sql: Optional[SqlScore]  # None: the rule has no SQL form
    inputs: tuple[str, ...] = ()
    lists: list[tuple[str, str]] = field(default_factory=list)  # SqlBuilder.names

    def column(self, part: str, d: Dialect) -> str:
        return d.ident(f"{self.prefix}{part}")


@dataclass
class CompiledPlan:
    """The plan's scores and flags as layers of SELECT columns over a row of item columns."""

    dialect: Dialect
    scores: list[CompiledScore] = field(default_factory=list)
    # Flag id and its condition as a three-valued SQL boolean ('' when computed in Python).
    flags: list[tuple[str, str]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether every score compiled (no Python fallback needed)."""
        return all(s.sql is not None for s in self.scores)

    def layers(self) -> list[list[tuple[str, str]]]:
        """(column, expression) lists, each computed over the columns of the layers before.

        Scores are computed level by level (a score reading another comes after it): first the
        ``let`` columns of the level's scores, then their value, status, answered count and
        float flag, with the lists of names their reasons use. Few wide layers run much faster
        than many narrow ones. Reasons are not columns: :meth:`reason` gives the expression,
        for the rows that need one.
        """
        level: dict[str, int] = {}
        for score in self.scores:
            if score.sql is None:  # left for Python, as is every score reading it
                continue
            level[score.score_id] = 1 + max(
                (level[i] for i in score.inputs if i in level), default=-1
            )
        out: list[list[tuple[str, str]]] = []
        for depth in range(max(level.values(), default=-1) + 1):
            scores = [s for s in self.scores if level.get(s.score_id) == depth]
            lets = [let for s in scores for let in s.lets]
            if lets:
                out.append(lets)
            out.append(
                [
                    (s.column(part, self.dialect), expr)
                    for s in scores
                    for part, expr in zip(
                        COLUMN_PARTS,
                        (s.sql.value, s.sql.status, s.sql.answered, s.sql.is_float),
                    )
                ]
                + [names for s in scores for names in s.lists]
            )
        return out

    def reason(self, score: CompiledScore) -> str:
        """The score's reason, over the columns of the last layer. The columnar engine asks
        for it only where the status is not 'complete'."""
        return score.sql.reason


@dataclass(frozen=True)
class ItemColumns:
    """How the compiler finds an item in the row: its value column, its not-asked column (or
    None when it is never a follow-up) and whether its numbers are Python floats."""

    value: str
    not_asked: Optional[str]
    is_float: str = "FALSE"


def follow_up_layers(
    plan, d: Dialect, items: dict[str, ItemColumns], name: Callable[[str], str]
) -> list[list[tuple[str, str]]]:
    """The not-asked column of every follow-up (``name("na_" + id)``): TRUE exactly where its
    condition is FALSE, as Python decides in item order (nefkit/plan.py). A follow-up whose
    condition reads an earlier follow-up comes in a later layer and sees that one as not asked
    where it was not. A last layer holds each follow-up's value as rules receive it
    (``name("a_" + id)``): NULL where it was not asked, also when it was answered anyway (an
    invalid row, whose flags still read the scores). ``items`` is updated to name both."""
    from ..checks import item_output

    refs = {
        item.id: SqlRef(items[item.id].value, item_output(plan.instrument, item).kind)
        for item in plan.items
    }
    layers: list[list[tuple[str, str]]] = []
    depth: dict[str, int] = {}
    for item, condition in plan.follow_ups:
        gates = [depth[t.ref] for t in conditions.tests(condition) if t.ref in depth]
        depth[item.id] = level = 1 + max(gates, default=-1)
        if level == len(layers):
            layers.append([])
        na = name("na_" + item.id)
        layers[level].append((na, f"COALESCE(NOT {condition_sql(condition, refs, d)}, FALSE)"))
        refs[item.id] = replace(refs[item.id], not_asked=na)
    asked = []
    for item, _ in plan.follow_ups:
        value, na = items[item.id].value, refs[item.id].not_asked
        asked.append((name("a_" + item.id), f"(CASE WHEN {na} THEN NULL ELSE {value} END)"))
        items[item.id] = replace(items[item.id], value=asked[-1][0], not_asked=na)
    return layers + ([asked] if asked else [])


def compile_plan(
    plan, d: Dialect, items: Mapping[str, ItemColumns], prefix: str = "s"
) -> CompiledPlan:
    """Compile every score and flag. A score whose rule has no SQL form (or one that depends
    on it) is left for Python (``sql`` None), as are flags that read such a score."""
    compiled = CompiledPlan(d)
    inputs: dict[str, SqlInput] = {}
    refs: dict[str, SqlRef] = {}
    outputs = {}
    from ..checks import item_output

    for item in plan.items:
        cols = items[item.id]
        out = item_output(plan.instrument, item)
        outputs[item.id] = out
        na = cols.not_asked or "FALSE"
        inputs[item.id] = SqlInput(
            item.id,
            cols.value,
            f"({cols.value} IS NULL AND NOT {na})" if na != "FALSE" else f"({cols.value} IS NULL)",
            na,
            cols.is_float,
            out.kind,
        )
        refs[item.id] = SqlRef(cols.value, out.kind, na)
    python_only: set[str] = set()
    known: dict[str, str] = {}
    for index, step in enumerate(plan.steps):
        score_prefix = f"{prefix}{index}_"
        builder = SqlBuilder(d, score_prefix, known)
        sql = None
        if not any(i in python_only for i in step.inputs):
            to_sql = getattr(step.rule, "to_sql", None)
            sql = to_sql(step.params, [inputs[i] for i in step.inputs], builder) if to_sql else None
        entry = CompiledScore(
            step.score.id,
            step.output.kind,
            score_prefix,
            builder.lets,
            sql,
            step.inputs,
            builder.lists,
        )
        compiled.scores.append(entry)
        if sql is None:
            python_only.add(step.score.id)
        value = entry.column("v", d)
        inputs[step.score.id] = SqlInput(
            step.score.id,
            value,
            f"({value} IS NULL)",
            "FALSE",
            entry.column("f", d),
            step.output.kind,
        )
        refs[step.score.id] = SqlRef(value, step.output.kind)
    for step in plan.flags:
        python = any(r in python_only for r in step.refs)
        compiled.flags.append(
            (step.flag.id, "" if python else condition_sql(step.condition, refs, d))
        )
    return compiled


def change_sql(rule: ChangeRule, params, before: str, after: str, d: Dialect) -> Optional[str]:
    to_sql = getattr(rule, "to_sql", None)
    return to_sql(params, before, after, SqlBuilder(d, "c_")) if to_sql else None


def score_rule_has_sql(rule: ScoringRule) -> bool:
    return type(rule).to_sql is not ScoringRule.to_sql
