"""The condition language of instrument definitions, parsed by hand and never ``eval``-ed.

A condition decides whether a follow-up question is asked or a flag is raised::

    neq01 == 1
    phq9_9 > 0 and not answered(phq9_10)
    supports has 9 or group in [1, 2]

Operands on the left are item or score ids; on the right, numbers. ``has`` tests whether a
multiple-choice answer (a tuple of codes) includes a value.

A condition has three values (Kleene's logic): True, False, or None when it is unknown.

- A test of an unanswered item, or of a score that is not scorable (None), is unknown: the
  answer could have made it hold or not.
- A test of a follow-up that was not asked (``NOT_ASKED``) is False: there is nothing to hold.
  So is a comparison with free text, a label or a multiple-choice answer.
- ``answered(x)`` is never unknown: a blank is known not to be answered.
- ``not`` unknown is unknown; ``and`` is False if any operand is False, else unknown if any is
  unknown, else True; ``or`` is True if any operand is True, else unknown if any is unknown,
  else False. So ``x != 1`` and ``not x == 1`` are both unknown for a blank ``x``.

A follow-up is not asked only when its condition is False; a flag is raised when its condition
is True and could not be checked when it is unknown. Each node evaluates one administration
(``evaluate``) or a column batch (``evaluate_batch``).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Optional, Union

from ..errors import NefkitError


class ConditionSyntaxError(NefkitError):
    """A condition that does not follow the grammar; the message says where."""


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_MAX_DEPTH = 50  # nesting beyond this is a mistake, and would exhaust Python's recursion
_KEYWORDS = {"and", "or", "not", "in", "has", "answered"}
_TOKEN = re.compile(
    r"\s*(?:(?P<number>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>==|!=|<=|>=|<|>)|(?P<punct>[()\[\],])|(?P<bad>\S))"
)

Number = Union[int, float]
Truth = Optional[bool]  # True, False, or None: unknown


class _Test:
    """An elementary test of one item or score: unknown when its value is None, else whether
    the value (an answer, NOT_ASKED, a score) satisfies it."""

    ref: str

    def holds(self, value: Any) -> bool:
        raise NotImplementedError

    def evaluate(self, answers: Mapping[str, Any]) -> Truth:
        value = answers.get(self.ref)
        return None if value is None else self.holds(value)

    def evaluate_batch(self, columns: Mapping[str, Sequence[Any]]) -> list[Truth]:
        holds = self.holds
        return _by_value(columns[self.ref], lambda value: None if value is None else holds(value))


@dataclass(frozen=True)
class Compare(_Test):
    ref: str
    op: str
    value: Number

    def holds(self, value: Any) -> bool:
        return isinstance(value, (int, float)) and _COMPARISONS[self.op](value, self.value)

    def __str__(self) -> str:
        return f"{self.ref} {self.op} {_number(self.value)}"


@dataclass(frozen=True)
class In(_Test):
    ref: str
    values: tuple[Number, ...]

    def holds(self, value: Any) -> bool:
        return isinstance(value, (int, float)) and value in self.values

    def __str__(self) -> str:
        return f"{self.ref} in [{', '.join(map(_number, self.values))}]"


@dataclass(frozen=True)
class Has(_Test):
    ref: str
    value: Number

    def holds(self, value: Any) -> bool:
        return isinstance(value, tuple) and self.value in value

    def __str__(self) -> str:
        return f"{self.ref} has {_number(self.value)}"


@dataclass(frozen=True)
class Answered(_Test):
    ref: str

    def holds(self, value: Any) -> bool:
        if isinstance(value, (int, float)):
            return True
        return isinstance(value, (str, tuple)) and len(value) > 0

    # Never unknown: a blank is known not to be answered.
    def evaluate(self, answers: Mapping[str, Any]) -> Truth:
        return self.holds(answers.get(self.ref))

    def evaluate_batch(self, columns: Mapping[str, Sequence[Any]]) -> list[Truth]:
        return _by_value(columns[self.ref], self.holds)

    def __str__(self) -> str:
        return f"answered({self.ref})"


@dataclass(frozen=True)
class Not:
    operand: Condition

    def evaluate(self, answers: Mapping[str, Any]) -> Truth:
        return _not(self.operand.evaluate(answers))

    def evaluate_batch(self, columns: Mapping[str, Sequence[Any]]) -> list[Truth]:
        return list(map(_NOT.__getitem__, self.operand.evaluate_batch(columns)))

    def __str__(self) -> str:
        return f"not {_wrap(self.operand)}"


@dataclass(frozen=True)
class And:
    operands: tuple[Condition, ...]

    def evaluate(self, answers: Mapping[str, Any]) -> Truth:
        return _and(o.evaluate(answers) for o in self.operands)

    def evaluate_batch(self, columns: Mapping[str, Sequence[Any]]) -> list[Truth]:
        return _by_value(list(zip(*(o.evaluate_batch(columns) for o in self.operands))), _and)

    def __str__(self) -> str:
        return " and ".join(_wrap(o) for o in self.operands)


@dataclass(frozen=True)
class Or:
    operands: tuple[Condition, ...]

    def evaluate(self, answers: Mapping[str, Any]) -> Truth:
        return _or(o.evaluate(answers) for o in self.operands)

    def evaluate_batch(self, columns: Mapping[str, Sequence[Any]]) -> list[Truth]:
        return _by_value(list(zip(*(o.evaluate_batch(columns) for o in self.operands))), _or)

    def __str__(self) -> str:
        return " or ".join(_wrap(o) for o in self.operands)


def _by_value(column: Sequence[Any], decide: Callable[[Any], Truth]) -> list[Truth]:
    """``decide`` for each value of a column, called once per distinct value: a column of
    answers (or of operands' truths) holds few, and the look-ups run at C speed. Values equal
    as keys (1, 1.0, True) are decided alike by every test, so sharing a decision is exact."""
    try:
        truth = {value: decide(value) for value in set(column)}
    except TypeError:  # an unhashable value; answers are parsed to hashable ones, but be safe
        return [decide(value) for value in column]
    return list(map(truth.__getitem__, column))


_NOT: dict[Truth, Truth] = {True: False, False: True, None: None}


def _not(value: Truth) -> Truth:
    return None if value is None else not value


def _and(values: Iterable[Truth]) -> Truth:
    result: Truth = True
    for value in values:
        if value is False:
            return False
        if value is None:
            result = None
    return result


def _or(values: Iterable[Truth]) -> Truth:
    result: Truth = False
    for value in values:
        if value is True:
            return True
        if value is None:
            result = None
    return result


Condition = Union[Compare, In, Has, Answered, Not, And, Or]
Test = Union[Compare, In, Has, Answered]


def _number(value: Number) -> str:
    """Digits the grammar reads back: 1e-05 prints as 0.00001."""
    if isinstance(value, int):
        return str(value)
    text = format(Decimal(repr(value)), "f")
    return text if "." in text else text + ".0"  # 1e16 is a float; keep it one when read back


def _wrap(condition: Condition) -> str:
    return f"({condition})" if isinstance(condition, (And, Or)) else str(condition)


def tests(condition: Condition) -> Iterator[Test]:
    """Every elementary test in a condition, for checking what it refers to."""
    if isinstance(condition, Not):
        yield from tests(condition.operand)
    elif isinstance(condition, (And, Or)):
        for operand in condition.operands:
            yield from tests(operand)
    else:
        yield condition


def parse(text: str) -> Condition:
    """Parse a condition, raising :class:`ConditionSyntaxError` that says what was expected."""
    return _Parser(text).parse()


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        for match in _TOKEN.finditer(text):
            kind = match.lastgroup
            if kind == "bad":
                self._fail(f"unexpected character {match.group(kind)!r}", match.start(kind))
            self.tokens.append((kind, match.group(kind), match.start(kind)))
        self.pos = 0
        self.depth = 0

    def _fail(self, message: str, at: int | None = None) -> None:
        if at is None:
            at = self.tokens[self.pos][2] if self.pos < len(self.tokens) else len(self.text)
        raise ConditionSyntaxError(f"{message} at character {at + 1} of {self.text!r}")

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos][:2] if self.pos < len(self.tokens) else None

    def _take(self, kind: str, value: str | None = None, what: str = "") -> str:
        token = self._peek()
        if token is None or token[0] != kind or (value is not None and token[1] != value):
            found = "the end" if token is None else repr(token[1])
            self._fail(f"expected {what or value or kind} but found {found}")
        self.pos += 1
        return token[1]

    def _accept(self, kind: str, value: str) -> bool:
        if self._peek() == (kind, value):
            self.pos += 1
            return True
        return False

    def parse(self) -> Condition:
        if not self.tokens:
            self._fail("empty condition")
        condition = self._or()
        if self._peek() is not None:
            self._fail("expected 'and', 'or' or the end")
        return condition

    def _or(self) -> Condition:
        operands = [self._and()]
        while self._accept("name", "or"):
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def _and(self) -> Condition:
        operands = [self._not()]
        while self._accept("name", "and"):
            operands.append(self._not())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def _not(self) -> Condition:
        negations = 0
        while self._accept("name", "not"):
            negations += 1
            if negations > _MAX_DEPTH:
                self._fail(f"more than {_MAX_DEPTH} 'not's in a row")
        condition = self._atom()
        for _ in range(negations):
            condition = Not(condition)
        return condition

    def _atom(self) -> Condition:
        if self._accept("punct", "("):
            self.depth += 1
            if self.depth > _MAX_DEPTH:
                self._fail(f"more than {_MAX_DEPTH} nested parentheses")
            condition = self._or()
            self._take("punct", ")")
            self.depth -= 1
            return condition
        if self._accept("name", "answered"):
            self._take("punct", "(")
            ref = self._ref()
            self._take("punct", ")")
            return Answered(ref)
        ref = self._ref()
        if self._accept("name", "in"):
            self._take("punct", "[")
            values = [self._number()]
            while self._accept("punct", ","):
                values.append(self._number())
            self._take("punct", "]")
            return In(ref, tuple(values))
        if self._accept("name", "has"):
            return Has(ref, self._number())
        op = self._take("op", what="a comparison (==, !=, <, <=, >, >=), 'in' or 'has'")
        return Compare(ref, op, self._number())

    def _ref(self) -> str:
        token = self._peek()
        if token is not None and token[0] == "name" and token[1] in _KEYWORDS:
            self._fail(f"expected an item id but found the keyword {token[1]!r}")
        return self._take("name", what="an item id")

    def _number(self) -> Number:
        text = self._take("number", what="a number")
        return int(text) if text.lstrip("-").isdigit() else float(text)
