"""The condition language of ``when = "..."``: grammar, evaluation, printing and errors."""

from __future__ import annotations

import builtins
import operator
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nefkit.conditions import (
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
from nefkit.conditions import tests as elementary_tests
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


@pytest.mark.parametrize("blank", [None, NOT_ASKED, "absent"])
@pytest.mark.parametrize(
    "text", ["x == 1", "x != 1", "x < 1", "x <= 1", "x > 1", "x >= 1", "x in [1, 2]", "x has 1"]
)
def test_unanswered_and_not_asked_make_every_test_false(text, blank):
    answers = {} if blank == "absent" else {"x": blank}
    assert parse(text).evaluate(answers) is False


def test_not_equal_does_not_hold_for_a_blank_but_not_equal_does():
    # Documented: "x != 1 does not hold for a blank x"; "not x == 1" does.
    assert parse("x != 1").evaluate({"x": None}) is False
    assert parse("not x == 1").evaluate({"x": None}) is True
    assert parse("not x == 1").evaluate({"x": NOT_ASKED}) is True


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
    assert condition.evaluate({**zeros, "phq9_9": None}) is False


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


def _oracle(condition, answers) -> bool:
    """The documented meaning of a condition, written independently of nefkit's evaluator."""
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
        if isinstance(condition, Compare):
            return number and comparisons[condition.op](answer, condition.value)
        if isinstance(condition, In):
            return number and any(answer == v for v in condition.values)
        if isinstance(condition, Has):
            return type(answer) is tuple and condition.value in answer
        return number or (type(answer) in (str, tuple) and len(answer) > 0)
    if isinstance(condition, Not):
        return not _oracle(condition.operand, answers)
    if isinstance(condition, And):
        return all(_oracle(o, answers) for o in condition.operands)
    return any(_oracle(o, answers) for o in condition.operands)


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


@settings(max_examples=200, deadline=None)
@given(leaves.filter(lambda t: not isinstance(t, Answered)), st.sampled_from([None, NOT_ASKED]))
def test_comparisons_with_a_blank_are_false(test, blank):
    assert test.evaluate({test.ref: blank}) is False
    assert Not(test).evaluate({test.ref: blank}) is True


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
