"""The condition language of ``when = "..."``: grammar, three-valued evaluation (in Python and in
SQL), printing and errors."""

from __future__ import annotations

import builtins
import operator
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nefkit.definitions.conditions import (
    And,
    Answered,
    Compare,
    ConditionSyntaxError,
    Has,
    In,
    Not,
    Or,
    parse,
)
from nefkit.definitions.conditions import tests as elementary_tests
from nefkit.errors import NefkitError
from nefkit.rules import NOT_ASKED

# --------------------------------------------------------------------------------------------
# Parsing


@pytest.mark.parametrize(
    "text, expected",
    [
        ("x == 1", Compare("x", "==", 1)),
        ("x != 1", Compare("x", "!=", 1)),
        ("x < 1", Compare("x", "<", 1)),
        ("x <= 1", Compare("x", "<=", 1)),
        ("x > 1", Compare("x", ">", 1)),
        ("x >= 1", Compare("x", ">=", 1)),
        ("x>=1", Compare("x", ">=", 1)),
        ("  phq9_9   >   0  ", Compare("phq9_9", ">", 0)),
        ("x > -2", Compare("x", ">", -2)),
        ("x == 2.5", Compare("x", "==", 2.5)),
        ("x in [1]", In("x", (1,))),
        ("group in [1, 2, -3]", In("group", (1, 2, -3))),
        ("x in [1,2.5]", In("x", (1, 2.5))),
        ("supports has 9", Has("supports", 9)),
        ("answered(group_tried)", Answered("group_tried")),
        ("answered ( x )", Answered("x")),
        ("not x == 1", Not(Compare("x", "==", 1))),
        ("not not x == 1", Not(Not(Compare("x", "==", 1)))),
        ("not answered(x)", Not(Answered("x"))),
        ("a == 1 and b == 2", And((Compare("a", "==", 1), Compare("b", "==", 2)))),
        ("a == 1 or b == 2", Or((Compare("a", "==", 1), Compare("b", "==", 2)))),
        (
            "a == 1 and b == 2 and c == 3",
            And((Compare("a", "==", 1), Compare("b", "==", 2), Compare("c", "==", 3))),
        ),
        ("(x == 1)", Compare("x", "==", 1)),
        ("((x == 1))", Compare("x", "==", 1)),
    ],
)
def test_parse(text, expected):
    assert parse(text) == expected


def test_numbers_keep_their_type():
    assert type(parse("x == 2").value) is int
    assert type(parse("x == 2.0").value) is float


@pytest.mark.parametrize(
    "text, expected",
    [
        # 'and' binds tighter than 'or'
        (
            "a == 1 or b == 1 and c == 1",
            Or((Compare("a", "==", 1), And((Compare("b", "==", 1), Compare("c", "==", 1))))),
        ),
        (
            "a == 1 and b == 1 or c == 1",
            Or((And((Compare("a", "==", 1), Compare("b", "==", 1))), Compare("c", "==", 1))),
        ),
        # 'not' binds tighter than 'and'
        (
            "not a == 1 and b == 1",
            And((Not(Compare("a", "==", 1)), Compare("b", "==", 1))),
        ),
        (
            "not a == 1 or b == 1",
            Or((Not(Compare("a", "==", 1)), Compare("b", "==", 1))),
        ),
        # parentheses override precedence
        (
            "(a == 1 or b == 1) and c == 1",
            And((Or((Compare("a", "==", 1), Compare("b", "==", 1))), Compare("c", "==", 1))),
        ),
        (
            "not (a == 1 and b == 1)",
            Not(And((Compare("a", "==", 1), Compare("b", "==", 1)))),
        ),
        (
            "phq9_9 > 0 and not answered(phq9_10)",
            And((Compare("phq9_9", ">", 0), Not(Answered("phq9_10")))),
        ),
        (
            "supports has 9 or group in [1, 2]",
            Or((Has("supports", 9), In("group", (1, 2)))),
        ),
    ],
)
def test_precedence(text, expected):
    assert parse(text) == expected


def test_tests_lists_every_elementary_test_in_order():
    condition = parse("a == 1 or not (b in [1, 2] and c has 3) or answered(d)")
    assert list(elementary_tests(condition)) == [
        Compare("a", "==", 1),
        In("b", (1, 2)),
        Has("c", 3),
        Answered("d"),
    ]


# --------------------------------------------------------------------------------------------
# Evaluation


@pytest.mark.parametrize(
    "op, answer, expected",
    [
        ("==", 2, True),
        ("==", 3, False),
        ("!=", 2, False),
        ("!=", 3, True),
        ("<", 1, True),
        ("<", 2, False),
        ("<=", 2, True),
        ("<=", 3, False),
        (">", 3, True),
        (">", 2, False),
        (">=", 2, True),
        (">=", 1, False),
        ("==", 2.0, True),
        (">", 2.5, True),
    ],
)
def test_compare_evaluates(op, answer, expected):
    assert parse(f"x {op} 2").evaluate({"x": answer}) is expected


def test_in_evaluates():
    condition = parse("x in [1, 3]")
    assert condition.evaluate({"x": 1}) is True
    assert condition.evaluate({"x": 3}) is True
    assert condition.evaluate({"x": 2}) is False


def test_has_evaluates_on_multiple_choice_answers():
    condition = parse("supports has 9")
    assert condition.evaluate({"supports": (1, 9)}) is True
    assert condition.evaluate({"supports": (1, 2)}) is False
    assert condition.evaluate({"supports": ()}) is False
    # a single code is not a multiple-choice answer
    assert condition.evaluate({"supports": 9}) is False


@pytest.mark.parametrize(
    "answer, expected",
    [
        (0, True),  # zero is an answer, not a blank
        (3, True),
        (2.5, True),
        ("some words", True),
        ((1,), True),
        (None, False),
        (NOT_ASKED, False),
        ("", False),
        ((), False),
    ],
)
def test_answered(answer, expected):
    assert parse("answered(x)").evaluate({"x": answer}) is expected


def test_answered_is_false_for_an_absent_id():
    assert parse("answered(x)").evaluate({}) is False


TESTS = ["x == 1", "x != 1", "x < 1", "x <= 1", "x > 1", "x >= 1", "x in [1, 2]", "x has 1"]


@pytest.mark.parametrize("blank", [None, "absent"])
@pytest.mark.parametrize("text", TESTS)
def test_a_test_of_an_unanswered_item_is_unknown(text, blank):
    answers = {} if blank == "absent" else {"x": blank}
    assert parse(text).evaluate(answers) is None
    assert parse(f"not {text}").evaluate(answers) is None


@pytest.mark.parametrize("text", TESTS)
def test_a_test_of_a_follow_up_not_asked_is_false(text):
    assert parse(text).evaluate({"x": NOT_ASKED}) is False
    assert parse(f"not {text}").evaluate({"x": NOT_ASKED}) is True


def test_not_equal_and_not_equal_are_both_unknown_for_a_blank():
    # Documented: "x != 1 and not x == 1 are both unknown for a blank x".
    assert parse("x != 1").evaluate({"x": None}) is None
    assert parse("not x == 1").evaluate({"x": None}) is None
    assert parse("not x == 1").evaluate({"x": NOT_ASKED}) is True


@pytest.mark.parametrize("blank", [None, NOT_ASKED, "absent"])
def test_answered_is_never_unknown(blank):
    answers = {} if blank == "absent" else {"x": blank}
    assert parse("answered(x)").evaluate(answers) is False
    assert parse("not answered(x)").evaluate(answers) is True


# a == 1 is True, False or unknown for these answers of a.
TRUTH = {True: 1, False: 0, None: None}


@pytest.mark.parametrize("left", [True, False, None])
@pytest.mark.parametrize("right", [True, False, None])
def test_and_or_follow_kleene_truth_tables(left, right):
    answers = {"a": TRUTH[left], "b": TRUTH[right]}
    both = parse("a == 1 and b == 1").evaluate(answers)
    either = parse("a == 1 or b == 1").evaluate(answers)
    # and: False if any is False, else unknown if any is unknown, else True; or the other way.
    assert both is (False if False in (left, right) else None if None in (left, right) else True)
    assert either is (True if True in (left, right) else None if None in (left, right) else False)
    for form, expected in (("and", both), ("or", either)):
        batch = parse(f"a == 1 {form} b == 1").evaluate_batch({k: [v] for k, v in answers.items()})
        assert batch == [expected]


@pytest.mark.parametrize("value, expected", [(True, False), (False, True), (None, None)])
def test_not_keeps_unknown_unknown(value, expected):
    assert parse("not a == 1").evaluate({"a": TRUTH[value]}) is expected


def test_a_score_that_is_not_scorable_is_unknown():
    assert parse("total >= 20").evaluate({"total": None}) is None
    assert parse("total >= 20 or phq9_9 > 0").evaluate({"total": None, "phq9_9": 1}) is True
    assert parse("total >= 20 and phq9_9 > 0").evaluate({"total": None, "phq9_9": 0}) is False


def test_text_answers_never_satisfy_a_comparison():
    assert parse("x == 1").evaluate({"x": "1"}) is False
    assert parse("x in [1]").evaluate({"x": "1"}) is False


def test_and_or_not_evaluate():
    answers = {"a": 1, "b": 0}
    assert parse("a == 1 and b == 0").evaluate(answers) is True
    assert parse("a == 1 and b == 1").evaluate(answers) is False
    assert parse("a == 0 or b == 0").evaluate(answers) is True
    assert parse("a == 0 or b == 1").evaluate(answers) is False
    assert parse("not a == 0").evaluate(answers) is True
    # precedence changes the outcome: a==0 or (b==0 and a==0) vs (a==0 or b==0) and a==0
    assert parse("a == 1 or b == 1 and a == 0").evaluate(answers) is True
    assert parse("(a == 1 or b == 1) and a == 0").evaluate(answers) is False


def test_phq9_follow_up_condition():
    condition = parse(
        "phq9_1 > 0 or phq9_2 > 0 or phq9_3 > 0 or phq9_4 > 0 or phq9_5 > 0 or phq9_6 > 0"
        " or phq9_7 > 0 or phq9_8 > 0 or phq9_9 > 0"
    )
    zeros = {f"phq9_{i}": 0 for i in range(1, 10)}
    assert condition.evaluate(zeros) is False
    assert condition.evaluate({**zeros, "phq9_9": 1}) is True
    # item 9 blank: whether the difficulty question applied is unknown
    assert condition.evaluate({**zeros, "phq9_9": None}) is None
    assert condition.evaluate({**zeros, "phq9_8": 2, "phq9_9": None}) is True


# --------------------------------------------------------------------------------------------
# Printing


@pytest.mark.parametrize(
    "text",
    [
        "x == 1",
        "x > -1",
        "x <= 2.5",
        "x in [1, 2, 3]",
        "x has 4",
        "answered(x)",
        "not x == 1",
        "not not x == 1",
        "not (a == 1 and b == 2)",
        "a == 1 or b == 1 and c == 1",
        "(a == 1 or b == 1) and c == 1",
        "not (a == 1 or b == 1) and c == 1",
        "a == 1 and (b == 1 and c == 1)",
        "phq9_9 > 0 and not answered(phq9_10)",
    ],
)
def test_printing_round_trips(text):
    condition = parse(text)
    assert parse(str(condition)) == condition


def test_printing_is_readable():
    assert str(parse("a==1 or b==1 and c==1")) == "a == 1 or (b == 1 and c == 1)"
    assert str(parse("x in [1,2]")) == "x in [1, 2]"
    assert str(parse("not(answered(x))")) == "not answered(x)"


@pytest.mark.parametrize(
    "text",
    [
        "x == 0.00001",  # str() would print 1e-05, which the grammar cannot read
        "x < 10000000000000000.0",  # str() would print 1e+16
        "x in [0.0001, 0.00002]",
        "x > -0.000003",
    ],
)
def test_printing_round_trips_small_and_large_decimals(text):
    condition = parse(text)
    printed = str(condition)
    assert "e" not in printed.split(" ", 1)[1]
    assert parse(printed) == condition


def test_printing_round_trips_a_huge_decimal():
    condition = parse("x == 100000000000000000000000.0")
    assert parse(str(condition)) == condition


def test_deep_parentheses_are_a_syntax_error_not_a_crash():
    text = "(" * 500 + "x == 1" + ")" * 500
    with pytest.raises(ConditionSyntaxError, match="nested parentheses"):
        parse(text)


def test_a_long_chain_of_nots_is_refused_or_usable():
    text = "not " * 2000 + "x == 1"
    try:
        condition = parse(text)
    except ConditionSyntaxError:
        return
    assert condition.evaluate({"x": 1}) is True  # an even number of nots
    assert list(elementary_tests(condition)) == [Compare("x", "==", 1)]
    assert parse(str(condition)) == condition


# --------------------------------------------------------------------------------------------
# Syntax errors say what and where


def _position(error: ConditionSyntaxError) -> int:
    match = re.search(r"at character (\d+) of ", str(error))
    assert match, f"no position in {error}"
    return int(match.group(1))


@pytest.mark.parametrize(
    "text, at, what",
    [
        # (condition, 1-based character where it goes wrong, words the message must contain)
        ("x = 1", 3, "unexpected character '='"),
        ("  x === 1", 7, "unexpected character '='"),
        ("x == ", 6, "expected a number but found the end"),
        ("x ==", 5, "expected a number but found the end"),
        ("x == y", 6, "expected a number but found 'y'"),
        ("x 1", 3, "expected a comparison (==, !=, <, <=, >, >=), 'in' or 'has' but found '1'"),
        ("x == 1 and", 11, "expected an item id but found the end"),
        ("x == 1 and == 2", 12, "expected an item id but found '=='"),
        ("and == 1", 1, "expected an item id but found the keyword 'and'"),
        ("x == 1 y == 2", 8, "expected 'and', 'or' or the end"),
        ("(x == 1", 8, "expected ) but found the end"),
        ("x == 1)", 7, "expected 'and', 'or' or the end"),
        ("x in [1, ]", 10, "expected a number but found ']'"),
        ("x in 1", 6, "expected [ but found '1'"),
        ("answered x", 10, "expected ( but found 'x'"),
        ("x has", 6, "expected a number but found the end"),
        ("", 1, "empty condition"),
        ("x == 1 & y == 2", 8, "unexpected character '&'"),
        ('x == "1"', 6, "unexpected character '\"'"),
    ],
)
def test_syntax_error_says_where(text, at, what):
    with pytest.raises(ConditionSyntaxError) as info:
        parse(text)
    message = str(info.value)
    assert what in message
    assert _position(info.value) == at
    assert message.endswith(f" of {text!r}")


def test_syntax_error_is_a_nefkit_error():
    # so that the command line shows it as "Error: ..." rather than a traceback
    assert issubclass(ConditionSyntaxError, NefkitError)


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('x')",
        "__import__('os').system('touch /tmp/nefkit-was-here') == 0",
        "x == __import__",
        "x == 1 or open('f')",
        "x.real == 1",
        "x == 1 if y else 2",
        "lambda: 1",
        "x == 1; import os",
        "[x for x in y]",
        "x == True",
    ],
)
def test_python_is_not_a_condition(text):
    with pytest.raises(ConditionSyntaxError):
        parse(text)


def test_parser_never_calls_eval_exec_or_compile(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the condition parser must not evaluate Python")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, refuse)
    condition = parse("not (a == 1 or b in [1, 2]) and c has 3 or answered(d) and e >= 2.5")
    assert condition.evaluate({"a": 0, "b": 3, "c": (3,), "d": None}) is True
    with pytest.raises(ConditionSyntaxError):
        parse("__import__('os').system('x')")


# --------------------------------------------------------------------------------------------
# Properties

refs = st.sampled_from(["a", "b", "c", "x1", "phq9_9", "neq01_cause"])
# Any number a definition would plausibly hold, including ones Python prints with an exponent
# (1e-05); floats of 1e16 and more have a test of their own above.
numbers = st.one_of(
    st.integers(-20, 20),
    st.integers(-500, 500).map(lambda n: n / 10),
    st.floats(min_value=-1e15, max_value=1e15, allow_nan=False, allow_infinity=False),
)
ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])

leaves = st.one_of(
    st.builds(Compare, refs, ops, numbers),
    st.builds(In, refs, st.lists(numbers, min_size=1, max_size=3).map(tuple)),
    st.builds(Has, refs, st.integers(-3, 12)),
    st.builds(Answered, refs),
)


def _extend(children):
    operands = st.lists(children, min_size=2, max_size=3).map(tuple)
    return st.one_of(st.builds(Not, children), st.builds(And, operands), st.builds(Or, operands))


conditions = st.recursive(leaves, _extend, max_leaves=12)

answer_values = st.one_of(
    st.none(),
    st.just(NOT_ASKED),
    st.integers(-3, 12),
    st.integers(-30, 30).map(lambda n: n / 10),
    st.lists(st.integers(0, 12), max_size=3, unique=True).map(lambda v: tuple(sorted(v))),
    st.sampled_from(["", "free text"]),
)
answer_dicts = st.dictionaries(refs, answer_values)


def _oracle(condition, answers) -> bool | None:
    """The documented meaning of a condition, written independently of nefkit's evaluator:
    Kleene's three values, None for unknown."""
    comparisons = {
        "==": operator.eq,
        "!=": operator.ne,
        "<": operator.lt,
        "<=": operator.le,
        ">": operator.gt,
        ">=": operator.ge,
    }
    if isinstance(condition, (Compare, In, Has, Answered)):
        answer = answers.get(condition.ref)
        number = type(answer) in (int, float)
        if answer is None and not isinstance(condition, Answered):
            return None
        if isinstance(condition, Compare):
            return number and comparisons[condition.op](answer, condition.value)
        if isinstance(condition, In):
            return number and any(answer == v for v in condition.values)
        if isinstance(condition, Has):
            return type(answer) is tuple and condition.value in answer
        return number or (type(answer) in (str, tuple) and len(answer) > 0)
    values = [_oracle(o, answers) for o in getattr(condition, "operands", ())]
    if isinstance(condition, Not):
        value = _oracle(condition.operand, answers)
        return None if value is None else not value
    if isinstance(condition, And):
        return False if False in values else None if None in values else True
    return True if True in values else None if None in values else False


@settings(max_examples=300, deadline=None)
@given(conditions, answer_dicts)
def test_printed_conditions_parse_back_to_the_same_tree_and_meaning(condition, answers):
    text = str(condition)
    reparsed = parse(text)
    assert reparsed == condition, text
    assert str(reparsed) == text
    expected = _oracle(condition, answers)
    assert condition.evaluate(answers) is expected
    assert reparsed.evaluate(answers) is expected


@settings(max_examples=200, deadline=None)
@given(conditions, answer_dicts)
def test_evaluate_batch_agrees_with_evaluate(condition, answers):
    # Three rows: the random answers, everything blank, everything not asked.
    rows = [answers, {}, {ref: NOT_ASKED for ref in ("a", "b", "c", "x1", "phq9_9", "neq01_cause")}]
    columns = {
        ref: [row.get(ref) for row in rows]
        for ref in ("a", "b", "c", "x1", "phq9_9", "neq01_cause")
    }
    assert condition.evaluate_batch(columns) == [condition.evaluate(row) for row in rows]


# Each ref as the columnar engine holds it: its kind, its SQL type and the Python values it
# takes (besides None and NOT_ASKED).
SQL_REFS = {
    "a": ("number", "DOUBLE", st.integers(-3, 12)),
    "b": ("number", "DOUBLE", st.integers(-30, 30).map(lambda n: n / 10)),
    "c": ("codes", "INTEGER[]", answer_values.filter(lambda v: type(v) is tuple)),
    "x1": ("text", "VARCHAR", st.sampled_from(["free text", "1"])),
    "phq9_9": ("boolean", "BOOLEAN", st.booleans()),
    "neq01_cause": ("label", "VARCHAR", st.sampled_from(["Mild", "Severe"])),
}


@st.composite
def sql_rows(draw):
    rows = []
    for _ in range(draw(st.integers(1, 4))):
        rows.append(
            {
                ref: draw(st.one_of(st.none(), st.just(NOT_ASKED), values))
                for ref, (_, _, values) in SQL_REFS.items()
            }
        )
    return rows


@settings(max_examples=300, deadline=None)
@given(conditions, sql_rows())
def test_sql_conditions_agree_with_python_three_valued(condition, rows):
    """The SQL a condition compiles to (as the columnar engine and nefkit sql run it) gives
    Python's True, False or unknown (NULL) for every answer, blank and not asked included."""
    duckdb = pytest.importorskip("duckdb")
    from nefkit.scoring import sql_plan as sql
    from nefkit.sql import DIALECTS

    con = duckdb.connect()
    columns = ", ".join(f"{ref} {kind}, na_{ref} BOOLEAN" for ref, (_, kind, _) in SQL_REFS.items())
    con.execute(f"CREATE TABLE t (k INTEGER, {columns})")
    for k, row in enumerate(rows):
        cells = []
        for ref in SQL_REFS:
            value = row[ref]
            cells += [None if value is NOT_ASKED else value, value is NOT_ASKED]
            if type(value) is tuple:
                cells[-2] = list(value)
        con.execute(f"INSERT INTO t VALUES (?{', ?' * len(cells)})", [k, *cells])
    refs = {ref: sql.SqlRef(ref, kind, f"na_{ref}") for ref, (kind, _, _) in SQL_REFS.items()}
    query = sql.condition_sql(condition, refs, DIALECTS["duckdb"])
    got = [v for (v,) in con.execute(f"SELECT {query} FROM t ORDER BY k").fetchall()]
    assert got == [condition.evaluate(row) for row in rows], query


@settings(max_examples=200, deadline=None)
@given(leaves.filter(lambda t: not isinstance(t, Answered)))
def test_comparisons_with_a_blank_are_unknown_and_with_not_asked_false(test):
    assert test.evaluate({test.ref: None}) is None
    assert Not(test).evaluate({test.ref: None}) is None
    assert test.evaluate({test.ref: NOT_ASKED}) is False
    assert Not(test).evaluate({test.ref: NOT_ASKED}) is True


_token_soup = st.lists(
    st.sampled_from(
        [
            "x",
            "y2",
            "and",
            "or",
            "not",
            "in",
            "has",
            "answered",
            "(",
            ")",
            "[",
            "]",
            ",",
            "==",
            "!=",
            "<",
            ">=",
            "1",
            "-2",
            "3.5",
            " ",
            "=",
            "'",
            "!",
            ".",
        ]
    ),
    max_size=12,
).map("".join)


@settings(max_examples=500, deadline=None)
@given(_token_soup)
def test_any_text_parses_or_raises_a_located_syntax_error(text):
    try:
        condition = parse(text)
    except ConditionSyntaxError as error:
        assert 1 <= _position(error) <= len(text) + 1
    else:
        assert parse(str(condition)) == condition
