"""The TOML writer for definitions: what it writes reads back as the same data, every value of
the same type, for the bundled definitions and for generated nested data; laid out as the
bundled definitions are; text escaped so that nothing in it can break out of its string."""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from importlib.resources import files

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nefkit.definitions.toml import dumps_definition, dumps_inline, dumps_value

DEFINITIONS = files("nefkit_instruments") / "definitions"
BUNDLED = sorted(p.name for p in DEFINITIONS.iterdir() if p.name.endswith(".toml"))


def same(a, b) -> bool:
    """Equal and of the same types all the way down (1 == 1.0 == True in Python; not here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return set(a) == set(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def round_trip(data):
    text = dumps_definition(data)
    back = tomllib.loads(text)
    assert same(back, data), text
    return text


def test_same_tells_types_apart():
    assert not same({"a": 1}, {"a": 1.0}) and not same([True], [1]) and same({"a": [1]}, {"a": [1]})


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_definition_reads_back_the_same(name):
    data = tomllib.loads((DEFINITIONS / name).read_text(encoding="utf-8"))
    text = round_trip(data)
    assert dumps_definition(tomllib.loads(text)) == text  # and writing it again changes nothing


def test_layout_of_a_definition_is_the_bundled_one():
    data = tomllib.loads((DEFINITIONS / "phq-9.toml").read_text(encoding="utf-8"))
    text = dumps_definition(data)
    headers = [line for line in text.splitlines() if line.startswith("[")]
    assert headers[:2] == ["[scales.frequency]", "[scales.difficulty]"]
    order = [h for i, h in enumerate(headers) if h not in headers[:i]]
    assert order == [
        "[scales.frequency]",
        "[scales.difficulty]",
        "[[items]]",
        "[[scores]]",
        "[scores.params]",  # the bands: a list of tables, too much for an inline table
        "[[flags]]",
        "[[changes]]",
        "[[examples]]",
        "[examples.answers]",  # too long for one line
    ]
    assert text.startswith('id = "phq-9"\nversion = "1.0.0"\ntitle = ')
    assert 'params = { score = "total", at_least = 10 }' in text
    assert 'bands = [\n  { min = 0, max = 4, label = "Minimal" },\n' in text
    assert 'choices = [\n  { value = 0, label = "Not at all" },\n' in text
    assert 'expected = { total = 0, severity = "Minimal", case = false }' in text
    # the top-level keys come first whatever order the data has them in
    shuffled = dict(reversed(list(data.items())))
    assert dumps_definition(shuffled) == text


def test_translations_are_tables_per_language():
    data = {
        "id": "x",
        "languages": ["en", "de"],
        "translations": {
            "de": {
                "title": "Titel",
                "items": {"a": "Frage"},
                "scales": {"often": ["Nie", "Oft"]},
                "yes_no": ["Nein", "Ja"],
            }
        },
    }
    text = round_trip(data)
    assert "[translations.de]" in text
    assert 'items = { a = "Frage" }' in text


TRICKY = [
    'He said "no"',
    "C:\\path\\to\\file",
    "\\u0041 is not an escape here",
    "line one\nline two\r\nline three",
    "tab\there",
    "bell\x07 null\x00 escape\x1b delete\x7f",
    "=1+2",
    "'single' and '''triple''' quotes",
    '"""',
    "emoji 😀, accents é ü ß, CJK 漢字, RTL שלום, combining e\u0301",
    "\u2028 line separator \u0085 next line \ufeff bom",
    "",
    " ",
    "# not a comment",
    "key = 'value'",
    "[not.a.table]",
]


@pytest.mark.parametrize("text", TRICKY)
def test_text_survives_and_stays_on_its_line(text):
    data = {"id": "x", "notes": [text], "items": [{"id": "a", "text": text}]}
    out = round_trip(data)
    value_lines = [line for line in out.splitlines() if line.startswith("text = ")]
    assert len(value_lines) == 1  # a newline in the text never breaks the line


def test_strings_are_basic_strings_with_escapes():
    assert dumps_value('a"b\\c\nd\te\x00\x7f') == '"a\\"b\\\\c\\nd\\te\\u0000\\u007F"'
    assert dumps_value("é😀") == '"é😀"'
    assert dumps_value("\ufffe\uffff\ufffd") == '"\\uFFFE\\uFFFF\ufffd"'


@pytest.mark.parametrize(
    "key, written",
    [
        ("plain_key-1", "plain_key-1"),
        ("with space", '"with space"'),
        ("a.b", '"a.b"'),
        ("", '""'),
        ("ä", '"ä"'),
        ('q"uote', '"q\\"uote"'),
    ],
)
def test_keys_are_quoted_when_they_must_be(key, written):
    assert dumps_value({key: 1}) == f"{{ {written} = 1 }}"
    data = {"t": {key: {"x": 1}}, "s": {key: 1}, "a": [{key: {"deep": [{"y": 2}]}}]}
    text = round_trip(data)
    assert f"[t.{written}]" in text


def test_numbers_keep_their_type():
    data = {
        "ints": [0, -1, 2**63 - 1, -(2**63)],
        "floats": [1.0, -0.0, 0.1, 1e300, 5e-324, 1.7976931348623157e308, 40.0, -2.5e-7],
        "bools": [True, False],
        "inf": float("inf"),
        "minus_inf": float("-inf"),
    }
    text = round_trip(data)
    assert "1.0" in text and "true" in text
    assert math.isnan(tomllib.loads(dumps_definition({"x": math.nan}))["x"])


def test_dates_and_times():
    data = {
        "date": dt.date(2026, 3, 1),
        "local": dt.datetime(2026, 3, 1, 9, 30, 15, 250000),
        "offset": dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
        "utc": dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc),
        "time": dt.time(23, 59, 59),
    }
    round_trip(data)


def test_empty_and_nested_shapes():
    round_trip(
        {
            "empty_table": {},
            "empty_list": [],
            "list_of_empty": [{}],
            "mixed": [1, "a", [2.0], {"b": []}],
            "deep": {"a": {"b": {"c": {"d": [{"e": {"f": 1}}]}}}},
            "items": [{}, {"id": "a", "params": {"bands": [{"min": 0}], "x": {"y": {}}}}],
            "namespace": {"only": {"sub": {"tables": {"x": 1}}}},
        }
    )


@pytest.mark.parametrize(
    "data, error",
    [
        ({"x": None}, TypeError),
        ({"x": [1, None]}, TypeError),
        ({"x": 2**63}, ValueError),
        ({"x": -(2**63) - 1}, ValueError),
        ({"x": "lone \ud800 surrogate"}, ValueError),
        ({"x": dt.time(1, 2, tzinfo=dt.timezone.utc)}, ValueError),
        ({"x": dt.datetime(2026, 1, 1, tzinfo=dt.timezone(dt.timedelta(seconds=30)))}, ValueError),
        ({1: "key not a string"}, TypeError),
        ({"x": {1: "key not a string"}}, TypeError),
        ({"x": object()}, TypeError),
        ({"x": b"bytes"}, TypeError),
    ],
)
def test_what_toml_cannot_hold_is_refused(data, error):
    with pytest.raises(error):
        dumps_definition(data)


def test_a_document_is_a_table():
    with pytest.raises(TypeError):
        dumps_definition([1, 2])


def test_inline_tables_for_spreadsheet_cells():
    params = {"score": "total", "bands": [{"min": 0, "max": 4, "label": "Minimal"}, {"min": 5}]}
    assert dumps_inline({}) == "{}"
    assert dumps_inline({"score": "total", "at_least": 10}) == '{ score = "total", at_least = 10 }'
    spread = dumps_inline(params, spread=True)
    assert spread == (
        '{ score = "total", bands = [\n'
        '  { min = 0, max = 4, label = "Minimal" },\n'
        "  { min = 5 },\n"
        "] }"
    )
    for text in (spread, dumps_inline(params)):
        assert tomllib.loads("params = " + text) == {"params": params}


# Generated data ------------------------------------------------------------------------------

keys = st.text(max_size=8)
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
scalars = st.one_of(
    texts,
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.just(dt.timezone.utc)),
    st.times(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(keys, inner, max_size=4),
        st.lists(st.dictionaries(keys, inner, max_size=4), min_size=1, max_size=3),
    ),
    max_leaves=25,
)
documents = st.dictionaries(keys, values, max_size=6)


@settings(max_examples=400, deadline=None)
@given(documents)
def test_generated_nested_data_reads_back_the_same(data):
    round_trip(data)


entries = st.fixed_dictionaries(
    {"id": st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True), "text": texts},
    optional={"params": st.dictionaries(keys, values, max_size=4), "optional": st.booleans()},
)
definitions = st.fixed_dictionaries(
    {"id": texts, "version": texts},
    optional={
        "notes": st.lists(texts, max_size=3),
        "scales": st.dictionaries(
            keys,
            st.fixed_dictionaries(
                {
                    "choices": st.lists(
                        st.fixed_dictionaries({"value": st.integers(-9, 9), "label": texts}),
                        min_size=1,
                    )
                }
            ),
            max_size=3,
        ),
        "items": st.lists(entries, max_size=4),
        "scores": st.lists(entries, max_size=3),
        "translations": st.dictionaries(
            keys, st.dictionaries(keys, values, max_size=3), max_size=2
        ),
    },
)


@settings(max_examples=300, deadline=None)
@given(definitions)
def test_generated_definition_shaped_data_reads_back_the_same(data):
    round_trip(data)
