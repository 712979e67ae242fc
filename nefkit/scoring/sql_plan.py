"""A scoring plan as SQL: the plan compiler over the rules' SQL (see :mod:`nefkit.sql`).

The same compiled plan serves two masters: the columnar engine (DuckDB, over parsed answers) and
``nefkit sql`` (any dialect, over a table of answers already stored as codes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Optional

from ..definitions import conditions
from ..rules import ChangeRule, ScoringRule
from ..sql import Dialect, SqlBuilder, SqlInput

if TYPE_CHECKING:
    from ..sql import SqlScore


# Columns the compiled plan adds, one set per score (``<prefix>v`` value, ``st`` status, ``a``
# answered count, ``f`` whether the value is a Python float); the reason is an expression.
COLUMN_PARTS = ("v", "st", "a", "f")


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
    """A condition as a SQL boolean with Python's three values (see nefkit/definitions/conditions.py): NULL
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
    condition is FALSE, as Python decides in item order (nefkit/definitions/plan.py). A follow-up whose
    condition reads an earlier follow-up comes in a later layer and sees that one as not asked
    where it was not. A last layer holds each follow-up's value as rules receive it
    (``name("a_" + id)``): NULL where it was not asked, also when it was answered anyway (an
    invalid row, whose flags still read the scores). ``items`` is updated to name both."""
    from ..definitions.checks import item_output

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
    from ..definitions.checks import item_output

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
