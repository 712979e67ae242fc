"""The instrument definition format, its checks, and ``nefkit validate``."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import nefkit
from nefkit.cli import cli
from nefkit.errors import DefinitionError

INSTRUMENTS = Path(__file__).resolve().parent.parent / "instruments"
BUNDLED = sorted(INSTRUMENTS.glob("*.toml"))

HEADER = """\
id = "{id}"
version = "1.0"
title = "A test instrument"
citation = "Nobody (2026). Written for nefkit's tests."
licence = "Public domain."
source = "nefkit's test suite."
"""

# One definition with every kind of mistake nefkit promises to find, each in its own place.
BROKEN = HEADER.format(id="broken") + textwrap.dedent(
    """
    [scales.agree]
    choices = [
      { value = 0, label = "Disagree" },
      { value = 1.5, label = "Somewhat" },
      { value = 3, label = "Agree" },
    ]

    [scales.freq]
    choices = [
      { value = 0, label = "Never" },
      { value = 1, label = "Sometimes" },
      { value = 2, label = "Often" },
    ]

    [[items]]
    id = "early"
    text = "Asked before the answer its condition needs"
    type = "yes_no"
    when = "late == 1"

    [[items]]
    id = "q1"
    text = "How often?"
    scale = "freq"

    [[items]]
    id = "q1"
    text = "How often, again?"
    scale = "freq"

    [[items]]
    id = "q2"
    text = "A question with a misspelt key"
    scale = "freq"
    optinal = true

    [[items]]
    id = "late"
    text = "Yes or no?"
    type = "yes_no"

    [[items]]
    id = "q3"
    text = "Do you agree?"
    scale = "agree"

    [[items]]
    id = "ghost_follow_up"
    text = "Asked after an item that does not exist"
    type = "text"
    when = "phantom == 1"

    [[items]]
    id = "impossible_follow_up"
    text = "Asked after an answer no one can give"
    type = "text"
    when = "late == 5"

    [[items]]
    id = "bad_syntax"
    text = "Asked after a condition that does not parse"
    type = "text"
    when = "late = 1"

    [[scores]]
    id = "total"
    label = "Total"
    rule = "sum"
    items = ["q1", "late"]

    [[scores]]
    id = "ghost_total"
    label = "Total including an item that does not exist"
    rule = "sum"
    items = ["q1", "nosuch_item"]

    [[scores]]
    id = "by_magic"
    label = "Scored by a rule that does not exist"
    rule = "magic_sum"
    items = ["q1"]

    [[scores]]
    id = "overlapping"
    label = "Bands that overlap"
    rule = "bands"
    params = { score = "total", bands = [
      { min = 0, max = 2, label = "Low" },
      { min = 2, max = 3, label = "High" },
    ] }

    [[scores]]
    id = "gappy"
    label = "Bands with a gap"
    rule = "bands"
    params = { score = "total", bands = [
      { min = 0, max = 1, label = "Low" },
      { min = 3, max = 3, label = "High" },
    ] }

    [[scores]]
    id = "short"
    label = "Bands that stop short of the highest total (3)"
    rule = "bands"
    params = { score = "total", bands = [
      { min = 0, max = 2, label = "Low" },
    ] }
    """
)

# (where, words the reason must contain) for every mistake in BROKEN.
EXPECTED = {
    "unknown key": (
        'item "q2"',
        ["unknown key 'optinal'", "did you mean 'optional'?"],
    ),
    "duplicate item id": ('item "q1"', ["the id is used by 2 items"]),
    "score naming an unknown item": (
        'score "ghost_total"',
        ["unknown item or earlier score 'nosuch_item'"],
    ),
    "score naming an unknown rule": ('score "by_magic"', ["unknown scoring rule 'magic_sum'"]),
    "overlapping bands": (
        'score "overlapping"',
        ["bands 'Low' (0–2) and 'High' (2–3) overlap"],
    ),
    "bands with a gap": ('score "gappy"', ["bands leave a gap between 1 ('Low') and 3 ('High')"]),
    "bands short of the range": (
        'score "short"',
        ["no band covers 3, the highest possible total"],
    ),
    "condition on an unknown item": (
        'item "ghost_follow_up" › when',
        ["unknown item or score 'phantom'"],
    ),
    "condition with an impossible value": (
        'item "impossible_follow_up" › when',
        ["'late == 5'", "5, which is not an answer to late", "0 = No, 1 = Yes"],
    ),
    "condition on a later item": (
        'item "early" › when',
        ["refers to item 'late', which comes later"],
    ),
    "non-integer scale value": (
        'scale "agree" › choice #2 › value',
        ["integer", "1.5"],
    ),
    "condition syntax error": (
        'item "bad_syntax" › when',
        ["unexpected character '='", "at character 6 of 'late = 1'"],
    ),
}

MINIMAL = HEADER + textwrap.dedent(
    """
    [[items]]
    id = "q1"
    text = "{text}"
    type = "yes_no"
    """
)


def errors_in(path):
    """The errors of a definition (its lint warnings are tested in test_authoring.py)."""
    return [p for p in nefkit.validate(path) if p.level == "error"]


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def invoke(*args: str):
    """Run the CLI; an uncaught exception (a traceback for the user) fails the test."""
    result = CliRunner().invoke(cli, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"nefkit {' '.join(args)} crashed:\n{result.output}") from (
            result.exception
        )
    assert "Traceback" not in result.output
    return result


# --------------------------------------------------------------------------------------------
# The bundled instruments


def test_the_five_bundled_instruments_are_there():
    assert [p.stem for p in BUNDLED] == ["gad-7", "neq-20", "neq-32", "phq-9", "therapy-reflection"]


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_bundled_instrument_has_no_problems(path):
    assert errors_in(path) == []


def test_validate_accepts_every_bundled_instrument():
    result = invoke("validate", *map(str, BUNDLED))
    assert result.exit_code == 0, result.output
    for path in BUNDLED:
        assert f"{path}: valid ({path.stem} " in result.output
    assert "error" not in result.output.lower()


# --------------------------------------------------------------------------------------------
# Every problem in one run


@pytest.fixture
def broken(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return write(tmp_path, "broken.toml", BROKEN)


@pytest.mark.parametrize("mistake", EXPECTED)
def test_validate_finds_every_problem_at_once(broken, mistake):
    where, words = EXPECTED[mistake]
    problems = errors_in(broken)
    matching = [p for p in problems if p.where == where and all(w in p.message for w in words)]
    assert len(matching) == 1, f"{mistake}: no single problem at {where} saying {words}:\n" + (
        "\n".join(map(str, problems))
    )
    [problem] = matching
    assert problem.level == "error"
    assert problem.file == str(broken)


def test_each_mistake_is_reported_once_and_nothing_else(broken):
    problems = errors_in(broken)
    assert len(problems) == len(EXPECTED), "\n".join(map(str, problems))
    assert len({(p.where, p.message) for p in problems}) == len(problems)


def test_validate_command_lists_every_problem_and_fails(broken):
    result = invoke("validate", "broken.toml")
    assert result.exit_code == 1
    assert result.stdout == ""  # problems go to stderr
    lines = result.stderr.splitlines()
    for mistake, (where, words) in EXPECTED.items():
        prefix = f"error: broken.toml: {where}: "
        found = [
            line for line in lines if line.startswith(prefix) and all(w in line for w in words)
        ]
        assert found, f"{mistake}: no line starting {prefix!r} with {words} in:\n{result.stderr}"
    count = sum(line.startswith("error: broken.toml: ") for line in lines)
    assert f"broken.toml: {count} errors" in lines
    assert lines[-1] == "Error: 1 of 1 definitions have errors"


def test_a_bad_scale_value_is_reported_once(broken):
    messages = [str(p) for p in errors_in(broken)]
    assert not [m for m in messages if "unknown scale 'agree'" in m], messages


def test_a_score_with_an_unknown_rule_is_reported_once(tmp_path):
    text = MINIMAL.format(id="x", text="Yes?") + textwrap.dedent(
        """
        [[scores]]
        id = "total"
        label = "Total"
        rule = "summ"
        items = ["q1"]

        [[scores]]
        id = "case"
        label = "Case"
        rule = "threshold"
        params = { score = "total", at_least = 1 }
        """
    )
    problems = errors_in(write(tmp_path, "x.toml", text))
    assert [(p.where, p.message) for p in problems] == [
        ('score "total"', "unknown scoring rule 'summ'; did you mean 'sum'?")
    ]


def test_empty_instrument(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "empty.toml", HEADER.format(id="empty"))
    problems = errors_in(tmp_path / "empty.toml")
    assert [(p.where, p.message) for p in problems] == [
        ("items", "the instrument has no items; add at least one [[items]]")
    ]
    result = invoke("validate", "empty.toml")
    assert result.exit_code == 1
    assert "error: empty.toml: items: the instrument has no items" in result.stderr


def test_validate_reports_each_file_and_counts_the_failures(broken, tmp_path):
    write(tmp_path, "empty.toml", HEADER.format(id="empty"))
    write(tmp_path, "good.toml", MINIMAL.format(id="good", text="Yes?"))
    result = invoke("validate", "broken.toml", "good.toml", "empty.toml")
    assert result.exit_code == 1
    # Data on stdout, problems on stderr: the valid file's line stands alone.
    assert result.stdout == "good.toml: valid (good 1.0, 1 questions, 0 scores)\n"
    assert "error: empty.toml: items:" in result.stderr
    assert "error: broken.toml: " in result.stderr
    assert result.stderr.splitlines()[-1] == "Error: 2 of 3 definitions have errors"


def test_validate_accepts_a_valid_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "good.toml", MINIMAL.format(id="good", text="Yes?"))
    result = invoke("validate", "good.toml")
    assert result.exit_code == 0, result.output
    assert result.stdout == "good.toml: valid (good 1.0, 1 questions, 0 scores)\n"
    assert result.stderr == ""


def test_validate_names_both_things_an_argument_could_have_been(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "good.toml", MINIMAL.format(id="good", text="Yes?"))
    result = invoke("validate", "phq9", "good.toml")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: phq9: no such file, and unknown instrument 'phq9'. Did you mean 'phq-9'?"
        " Known: gad-7, neq-20, neq-32, phq-9, therapy-reflection.",
        "phq9: 1 error",
        "Error: 1 of 2 definitions have errors",
    ]
    assert result.stdout == "good.toml: valid (good 1.0, 1 questions, 0 scores)\n"


def test_validate_checks_an_installed_instrument_by_its_id():
    result = invoke("validate", "phq-9", "neq-20")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "phq-9: valid (phq-9 1.0.0, 10 questions, 3 scores)",
        "neq-20: valid (neq-20 1.0.0, 61 questions, 7 scores)",
    ]
    result = invoke("validate", "--check-examples", "gad-7")
    assert result.exit_code == 0, result.output
    assert result.stdout == "gad-7: valid (gad-7 1.0.0, 7 questions, 3 scores, 5 examples agree)\n"


def test_validate_checks_the_id_of_a_definition_in_instruments(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mine = tmp_path / "mine"
    mine.mkdir()
    score = '\n[[scores]]\nid = "total"\nlabel = "Total"\nrule = "sum"\nitems = ["q1"]\n'
    write(mine, "two.toml", TWO_ITEMS.format(id="two", text="Yes?", second="q2") + score)
    result = invoke("validate", "--check-examples", "two", "--instruments", "mine")
    assert result.exit_code == 0, result.output
    # The same lint warnings as for the file, which they name; then the summary on stdout.
    file = Path("mine") / "two.toml"
    assert result.stderr.splitlines() == [
        f'warning: {file}: item "q2": no score uses it and no flag tests it; if it is only asked,'
        " mark it scored = false",
        f"warning: {file}: examples: there are no [[examples]] to check",
    ]
    assert result.stdout == "two: valid (two 1.0, 2 questions, 1 scores, 0 examples agree)\n"


def test_a_file_named_like_an_instrument_is_validated_as_the_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "phq-9", HEADER.format(id="empty"))
    result = invoke("validate", "phq-9")
    assert result.exit_code == 1
    assert "error: phq-9: items: the instrument has no items" in result.stderr


@pytest.mark.parametrize(
    "text, line",
    [
        ('id = "x"\nversion = \n', 2),
        ('id = "x"\nversion = "1"\n\n[[items]\nid = "q"\n', 4),
        ('id = "x"\ntitle = "unterminated\n', 2),
        ('id = "x"\nid = "y"\n', 2),
    ],
)
def test_invalid_toml_is_reported_with_its_line(tmp_path, monkeypatch, text, line):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "syntax.toml", text)
    [problem] = errors_in(tmp_path / "syntax.toml")
    assert "is not valid TOML" in problem.message
    assert re.search(rf"\bline {line}\b", problem.message), problem.message
    result = invoke("validate", "syntax.toml")
    assert result.exit_code == 1
    assert "error: syntax.toml: is not valid TOML: " in result.stderr
    assert f"line {line}" in result.stderr


def test_a_file_that_is_not_utf8_is_reported(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(MINIMAL.format(id="latin", text="Gänsefüßchen").encode("latin-1"))
    [problem] = errors_in(path)
    assert problem.message.startswith("is not UTF-8 text")


def _deeply_nested(tmp_path, condition: str) -> None:
    text = MINIMAL.format(id="deep", text="Yes?") + textwrap.dedent(
        f"""
        [[items]]
        id = "q2"
        text = "Follow-up"
        type = "yes_no"
        when = "{condition}"
        """
    )
    write(tmp_path, "deep.toml", text)


def test_deeply_nested_parentheses_are_an_error_not_a_crash(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _deeply_nested(tmp_path, "(" * 400 + "q1 == 1" + ")" * 400)
    result = invoke("validate", "deep.toml")
    assert result.exit_code == 1
    assert 'error: deep.toml: item "q2" › when: more than ' in result.stderr
    assert "nested parentheses at character " in result.stderr


def test_a_long_chain_of_nots_does_not_crash_validate(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _deeply_nested(tmp_path, "not " * 2000 + "q1 == 1")
    result = CliRunner().invoke(cli, ["validate", "deep.toml"])
    assert isinstance(result.exception, (SystemExit, type(None))), repr(result.exception)


# --------------------------------------------------------------------------------------------
# A structural mistake hides nothing else

# A definition whose only mistakes are ones the checks of the whole definition find
# (WHOLE_PROBLEMS). The tests below make a structural mistake in one of SOUND_PARTS and demand
# that each of those is still reported.
SOUND_PARTS = {
    "scale": '{ value = 1, label = "Sometimes" }',
    "q1": 'id = "q1"\ntext = "How often?"\nscale = "often"',
    "total": 'id = "total"\nlabel = "Total"\nrule = "sum"\nitems = ["q1", "q2"]',
}
WHOLE = HEADER.format(id="whole") + textwrap.dedent(
    """
    [scales.often]
    choices = [{{ value = 0, label = "Never" }}, {scale}, {{ value = 2, label = "Often" }}]

    [[items]]
    {q1}

    [[items]]
    id = "q2"
    text = "How often, really?"
    scale = "often"

    [[items]]
    id = "q2"
    text = "Asked twice"
    scale = "often"
    when = "q1 == 7"

    [[scores]]
    {total}

    [[scores]]
    id = "band"
    label = "Band"
    rule = "bands"
    params = {{ score = "total", bands = [
      {{ min = 0, max = 1, label = "Low" }},
      {{ min = 3, max = 4, label = "High" }},
    ] }}

    [[scores]]
    id = "case"
    label = "Case"
    rule = "treshold"
    params = {{ score = "total", at_least = 2 }}

    [[flags]]
    id = "odd"
    label = "Odd"
    when = "nosuch == 1"
    """
)
WHOLE_PROBLEMS = [
    'item "q2": the id is used by 2 items',
    "item \"q2\" › when: 'q1 == 7' uses 7, which is not an answer to q1",
    "score \"band\": bands leave a gap between 1 ('Low') and 3 ('High')",
    "score \"case\": unknown scoring rule 'treshold'",
    "flag \"odd\" › when: unknown item or score 'nosuch'",
]


def _whole(tmp_path, monkeypatch, part: str = "q1", old: str = "", new: str = ""):
    """``nefkit validate`` on WHOLE with ``old`` replaced by ``new`` in one of its SOUND_PARTS."""
    monkeypatch.chdir(tmp_path)
    parts = dict(SOUND_PARTS)
    if old:
        assert parts[part].count(old) == 1
        parts[part] = parts[part].replace(old, new)
    write(tmp_path, "whole.toml", WHOLE.format(**parts))
    return invoke("validate", "whole.toml")


def _errors(result) -> list[str]:
    prefix = "error: whole.toml: "
    return [line[len(prefix) :] for line in result.stderr.splitlines() if line.startswith(prefix)]


def test_the_whole_definition_checks_find_their_mistakes(tmp_path, monkeypatch):
    result = _whole(tmp_path, monkeypatch)
    assert result.exit_code == 1
    assert len(_errors(result)) == len(WHOLE_PROBLEMS), result.output
    for expected in WHOLE_PROBLEMS:
        assert [e for e in _errors(result) if e.startswith(expected)], expected


@pytest.mark.parametrize(
    "part, old, new, structural",
    [
        pytest.param(
            "q1",
            'scale = "often"',
            'scale = "often"\ncolour = "red"',
            ["item \"q1\": unknown key 'colour'; allowed here: id, text, type,"],
            id="unknown key in an item",
        ),
        pytest.param(
            "q1",
            'text = "How often?"',
            'txt = "How often?"',
            [
                'item "q1" › text: is required but missing',
                "item \"q1\": unknown key 'txt' (did you mean 'text'?)",
            ],
            id="misspelt required key",
        ),
        pytest.param(
            "q1",
            '"How often?"',
            "5",
            ['item "q1" › text: input should be a valid string (found 5)'],
            id="wrong type in an item",
        ),
        pytest.param(
            "scale",
            '"Sometimes" }',
            '"Sometimes", colour = "red" }',
            ["scale \"often\" › choice #2: unknown key 'colour'; allowed here: value, label"],
            id="unknown key in a scale's answer",
        ),
        pytest.param(
            "total",
            'label = "Total"',
            "label = 1",
            ['score "total" › label: input should be a valid string (found 1)'],
            id="wrong type in a score",
        ),
    ],
)
def test_a_structural_mistake_hides_no_other_problem(
    tmp_path, monkeypatch, part, old, new, structural
):
    result = _whole(tmp_path, monkeypatch, part, old, new)
    assert result.exit_code == 1
    errors = _errors(result)
    for expected in [*structural, *WHOLE_PROBLEMS]:
        assert [e for e in errors if e.startswith(expected)], (
            f"{expected!r} not in:\n{result.output}"
        )
    assert len(errors) == len(structural) + len(WHOLE_PROBLEMS), result.output


def test_only_the_checks_needing_a_broken_field_are_skipped(tmp_path, monkeypatch):
    # Without q1's type, its answers are unknown: so are the range of the total and whether
    # 7 answers q1. Everything else is still checked, and nothing is said about q1's scale.
    result = _whole(
        tmp_path, monkeypatch, "q1", 'scale = "often"', 'scale = "often"\ntype = "scale"'
    )
    assert _errors(result) == [
        "item \"q1\" › type: input should be 'choice', 'yes_no', 'multiple', 'number' or 'text'"
        " (found 'scale')",
        'item "q2": the id is used by 2 items',
        "score \"case\": unknown scoring rule 'treshold'; did you mean 'threshold'?",
        "flag \"odd\" › when: unknown item or score 'nosuch'",
    ], result.output


@pytest.mark.parametrize("items", ["3", '{ id = "q1", text = "Yes?", type = "yes_no" }'])
def test_items_that_are_not_a_list_are_one_error(tmp_path, monkeypatch, items):
    monkeypatch.chdir(tmp_path)
    text = HEADER.format(id="x") + textwrap.dedent(
        f"""
        items = {items}

        [[scores]]
        id = "total"
        label = "Total"
        rule = "sum"
        items = ["q1"]
        """
    )
    write(tmp_path, "x.toml", text)
    result = invoke("validate", "x.toml")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.output
    assert errors[0].startswith("error: x.toml: items: input should be a valid list")


# --------------------------------------------------------------------------------------------
# More precise messages


def test_unknown_top_level_key_suggests_the_right_one(tmp_path):
    text = 'titel = "oops"\n' + MINIMAL.format(id="x", text="Yes?")
    [problem] = errors_in(write(tmp_path, "x.toml", text))
    assert problem.where == "top level"
    assert problem.message.startswith("unknown key 'titel' (did you mean 'title'?); allowed here: ")


def test_missing_required_field_is_named(tmp_path):
    text = MINIMAL.format(id="x", text="Yes?").replace('licence = "Public domain."\n', "")
    [problem] = errors_in(write(tmp_path, "x.toml", text))
    assert (problem.where, problem.message) == ("licence", "is required but missing")


TWO_ITEMS = MINIMAL + textwrap.dedent(
    """
    [[items]]
    id = "{second}"
    text = "Second"
    type = "yes_no"
    """
)


def test_bad_item_id_is_explained(tmp_path):
    text = TWO_ITEMS.format(id="x", text="Yes?", second="Q 2")
    [problem] = errors_in(write(tmp_path, "x.toml", text))
    assert problem.where == 'item "Q 2" › id'
    assert "lowercase letters, digits and _" in problem.message
    assert "(found 'Q 2')" in problem.message


def test_an_item_id_starting_with_a_digit_is_explained_correctly(tmp_path):
    text = TWO_ITEMS.format(id="x", text="Yes?", second="2q")
    [problem] = errors_in(write(tmp_path, "x.toml", text))
    assert problem.where == 'item "2q" › id'
    assert "starting with a letter" in problem.message
    assert "letter or digit" not in problem.message
    assert problem.message.endswith("(found '2q')")


def test_a_bad_instrument_id_is_explained(tmp_path):
    text = MINIMAL.format(id="My Scale", text="Yes?")
    [problem] = errors_in(write(tmp_path, "x.toml", text))
    assert problem.where == "id"
    assert "-" in problem.message and "starting with a letter or digit" in problem.message
    assert problem.message.endswith("(found 'My Scale')")


def test_an_invalid_only_item_is_not_reported_as_no_items(tmp_path):
    text = MINIMAL.format(id="x", text="Yes?").replace('type = "yes_no"', 'type = "yes/no"')
    problems = errors_in(write(tmp_path, "x.toml", text))
    assert [p.where for p in problems] == ['item "q1" › type'], [str(p) for p in problems]


def test_impossible_comparison_on_a_scale(tmp_path):
    text = MINIMAL.format(id="x", text="Yes?") + textwrap.dedent(
        """
        [[items]]
        id = "q2"
        text = "Follow-up"
        type = "text"
        when = "q1 > 1"
        """
    )
    [problem] = errors_in(write(tmp_path, "x.toml", text))
    assert problem.where == 'item "q2" › when'
    assert problem.message == "'q1 > 1' can never hold: q1 is one of 0 = No, 1 = Yes"


def test_a_minimal_definition_has_no_problems(tmp_path):
    path = write(tmp_path, "ok.toml", MINIMAL.format(id="ok", text="Yes?"))
    assert errors_in(path) == []


# --------------------------------------------------------------------------------------------
# The content hash


ORIGINAL = HEADER.format(id="hashed") + textwrap.dedent(
    """
    [scales.freq]
    choices = [
      { value = 0, label = "Never" },
      { value = 1, label = "Often" },
    ]

    [scales.yes]
    choices = [{ value = 1, label = "Yes" }]

    [[items]]
    id = "q1"
    text = "How often?"
    scale = "freq"

    [[items]]
    id = "q2"
    text = "Really?"
    scale = "yes"
    when = "q1 == 1"

    [[scores]]
    id = "total"
    label = "Total"
    rule = "sum"
    items = ["q1"]
    """
)

# The same definition: keys and tables in another order, other whitespace, comments, and
# inline tables instead of sections.
REFORMATTED = textwrap.dedent(
    """
    # A comment that changes nothing
    title   = "A test instrument"
    id="hashed"
    source = "nefkit's test suite."       # trailing comment
    citation = "Nobody (2026). Written for nefkit's tests."
    version = "1.0"
    licence = 'Public domain.'

    scales = { yes = { choices = [{ label = "Yes", value = 1 }] }, freq = { choices = [
        { label = "Never", value = 0 }, { label = "Often", value = 1 },
    ] } }

    [[items]]
    scale = "freq"
    text = "How often?"
    id = "q1"

    [[items]]
    when = "q1 == 1"
    id = "q2"
    scale = "yes"
    text = "Really?"

    [[scores]]
    items = [ "q1" ]
    rule = "sum"
    label = "Total"
    id = "total"
    """
)


def test_content_hash_ignores_layout_comments_and_key_order(tmp_path):
    original = nefkit.load_instrument(write(tmp_path, "a.toml", ORIGINAL))
    reformatted = nefkit.load_instrument(write(tmp_path, "b.toml", REFORMATTED))
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", original.content_hash)
    assert reformatted.content_hash == original.content_hash


def test_content_hash_is_the_same_on_every_load(tmp_path):
    path = write(tmp_path, "a.toml", ORIGINAL)
    assert nefkit.load_instrument(path).content_hash == nefkit.load_instrument(path).content_hash


@pytest.mark.parametrize(
    "old, new",
    [
        ('text = "How often?"', 'text = "How often, really?"'),
        ('text = "How often?"', 'text = "How often? "'),
        ('label = "Often"', 'label = "Always"'),
        ('when = "q1 == 1"', 'when = "q1 != 0"'),
        ('version = "1.0"', 'version = "1.1"'),
    ],
)
def test_content_hash_changes_with_the_content(tmp_path, old, new):
    assert ORIGINAL.count(old) == 1
    original = nefkit.load_instrument(write(tmp_path, "a.toml", ORIGINAL))
    changed = nefkit.load_instrument(write(tmp_path, "b.toml", ORIGINAL.replace(old, new)))
    assert changed.content_hash != original.content_hash


# --------------------------------------------------------------------------------------------
# The Python API


def test_load_instrument_returns_the_instrument(tmp_path):
    instrument = nefkit.load_instrument(write(tmp_path, "a.toml", ORIGINAL))
    assert isinstance(instrument, nefkit.Instrument)
    assert instrument.id == "hashed"
    assert [item.id for item in instrument.items] == ["q1", "q2"]


def test_load_instrument_raises_definition_error_with_every_problem(broken):
    with pytest.raises(nefkit.DefinitionError) as info:
        nefkit.load_instrument(broken)
    error = info.value
    assert isinstance(error, DefinitionError)
    assert isinstance(error, nefkit.NefkitError)
    assert len(error.problems) >= len(EXPECTED)
    assert all(isinstance(p, nefkit.Problem) and p.level == "error" for p in error.problems)
    wheres = {p.where for p in error.problems}
    assert {where for where, _ in EXPECTED.values()} <= wheres
    # the message lists them all, one a line
    assert str(error).splitlines() == [str(p) for p in error.problems]


def test_load_instrument_accepts_a_string_path(tmp_path):
    path = write(tmp_path, "a.toml", ORIGINAL)
    assert nefkit.load_instrument(str(path)).id == "hashed"


def test_a_score_or_flag_whose_output_column_clashes_is_an_error(tmp_path):
    """A score called notes, or total next to total_status, would give an output with two
    columns of one name, one hiding the other."""
    scores = "".join(
        f'\n[[scores]]\nid = "{ident}"\nlabel = "{ident}"\nrule = "sum"\nitems = ["q1"]\n'
        for ident in ("notes", "total", "total_status", "row_status", "yes")
    )
    flags = '\n[[flags]]\nid = "status"\nlevel = "info"\nlabel = "L"\nwhen = "q1 == 1"\naction = "Ask."\n'
    flags += (
        '\n[[flags]]\nid = "x"\nlevel = "info"\nlabel = "L"\nwhen = "q1 == 1"\naction = "Ask."\n'
    )
    # flag "x" writes flag_x; a score called flag_x would take its name
    scores += '\n[[scores]]\nid = "flag_x"\nlabel = "F"\nrule = "sum"\nitems = ["q1"]\n'
    path = write(tmp_path, "clash.toml", MINIMAL.format(id="clash", text="Yes?") + scores + flags)
    found = {(p.where, p.message) for p in errors_in(path)}
    assert found == {
        (
            'score "notes"',
            "its output column 'notes' is also a column nefkit always writes; choose another id",
        ),
        (
            'score "total_status"',
            "its output column 'total_status' is also a column of score \"total\"; choose another id",
        ),
        (
            'score "row_status"',
            "its output column 'row_status' is also a column nefkit always writes; choose another id",
        ),
        (
            'flag "x"',
            "its output column 'flag_x' is also a column of score \"flag_x\"; choose another id",
        ),
    }
