"""Definitions as spreadsheets: every bundled instrument exported and imported again is the same
definition (also after LibreOffice has opened and saved the workbook); hostile and unusual text
comes back unchanged and never becomes a formula; a workbook with many mistakes reports each
with its sheet, row and column; and the command line does it all end to end."""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
import tomllib
import zipfile
from pathlib import Path

import pytest
from helpers import registry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nefkit_excel import definition
from nefkit_excel.reader import XlsxReader
from nefkit_excel.renderer import XlsxRenderer
from openpyxl import Workbook, load_workbook

from nefkit.definitions.instrument import Instrument
from nefkit.definitions.loading import load_definition, load_definition_data
from nefkit.definitions.toml import dumps_definition
from nefkit.documents import Definition
from nefkit.errors import DefinitionError
from nefkit.renderers import RenderOptions

SHEETS = [
    "Read me",
    "settings",
    "choices",
    "items",
    "scores",
    "flags",
    "changes",
    "norms",
    "examples",
    "translations",
]
BUNDLED = ["gad-7", "neq-20", "neq-32", "phq-9", "therapy-reflection"]

# Text a spreadsheet could take for a formula or an error value, or that a careless writer
# could mangle: quotes, backslashes that look like escapes, line breaks, tabs, spaces around,
# characters from beyond the Basic Multilingual Plane.
HOSTILE = [
    "=1+2",
    "+1+2",
    "-1+2",
    "@SUM(1+2)",
    '=HYPERLINK("http://example.com","click")',
    "=cmd|' /C calc'!A0",
    "#N/A",
    "\t=1+2 after a tab",
    "She said \"stop\" and 'wait'",
    "C:\\new\\table and \\u0041 and \\n (backslashes, not escapes)",
    "line one\nline two\n\nline four",
    "  spaces around  ",
    "unicode: é ü ß 漢字 שלום 😀 e\u0301 \u2028",
    "{ looks = 'like TOML' }",
    "1.10",
    "007",
]


# In a TOML cell: \uFFFF, which XML cannot carry, is written as its TOML escape.
LOW = '=low "quoted" \\ \n two lines \uffff'


def hostile_definition() -> dict:
    """A definition using every field, holding hostile text wherever text goes."""
    return {
        "id": "hostile",
        "version": "1.10",
        "title": '=HYPERLINK("http://example.com","title")',
        "citation": 'Cite "this" \\ that',
        "licence": "@licence",
        "source": "line\nbreak",
        "languages": ["en", "de"],
        "instructions": "-Answer =everything\nplease",
        "notes": ["=note", "", "two\nlines"],
        "scales": {
            "often": {
                "description": "=How often?",
                "choices": [
                    {"value": 0, "label": "=never"},
                    {"value": 1, "label": 'some "times"'},
                    {"value": 2, "label": "often, very"},
                ],
            },
            "big": {
                "choices": [{"value": -(2**60), "label": "tiny"}, {"value": 2**60, "label": "huge"}]
            },
        },
        "items": [
            *(
                {"id": f"q{n}", "text": text, "scale": "often", "note": text}
                for n, text in enumerate(HOSTILE, 1)
            ),
            {"id": "yn", "text": "Yes or no?", "type": "yes_no", "optional": True},
            {
                "id": "amount",
                "text": "How much?",
                "type": "number",
                "min": 0.0,
                "max": 10.000000000000002,  # 17 digits: a number cell holds 16
                "integer": False,
                "when": "yn == 1",
                "optional": True,
            },
            {"id": "count", "text": "How many?", "type": "number", "min": -3, "max": 2**60},
            {"id": "why", "text": "Why?", "type": "text", "optional": True, "scored": False},
            {"id": "many", "text": "Which?", "type": "multiple", "scale": "often"},
        ],
        "scores": [
            {
                "id": "total",
                "label": "=Total",
                "rule": "sum",
                "items": [f"q{n}" for n in range(1, len(HOSTILE) + 1)],
                "description": '=SUM(everything)\n"quoted"',
            },
            {
                "id": "band",
                "label": "Band",
                "rule": "bands",
                "params": {
                    "score": "total",
                    "bands": [
                        {"min": 0, "max": 10, "label": LOW},
                        {"min": 11, "max": 32, "label": "high 😀"},
                    ],
                },
            },
            {
                "id": "case",
                "label": "Case",
                "rule": "threshold",
                "params": {"score": "total", "at_least": 10},
            },
        ],
        "flags": [
            {"id": "high", "label": "=High", "when": "q1 == 2", "level": "risk", "action": "+act"},
            {"id": "some", "label": "Some", "when": "many has 1"},
        ],
        "changes": [
            {
                "id": "total_change",
                "label": "Change",
                "score": "total",
                "rule": "reliable_change",
                "params": {"better": "lower", "threshold": 6.5},
                "description": "-fewer is better",
            }
        ],
        "norms": [
            {
                "target": "total",
                "statistic": "mean",
                "value": 40.0,  # a whole decimal: must come back a decimal, not 40
                "population": "=people",
                "source": "@source",
                "verified": False,
            },
            {
                "target": "q1",
                "statistic": "percent_experienced",
                "value": 12.34,
                "n": 2**60,
                "population": "p",
                "plain_population": "people like you",
                "source": "s",
                "verified": True,
                "note": "note",
            },
            {
                "target": "q2",
                "statistic": "sd",
                "value": 3,
                "population": "p",
                "source": "s",
                "verified": True,
            },
        ],
        "examples": [
            {
                "label": "=all never",
                "fill": "=never",
                "answers": {
                    "why": '=because "reasons"\nand more',
                    "yn": "Yes",
                    "amount": 2.5,
                    "count": 3,
                },
                "expected": {"total": 0, "band": LOW, "case": False},
                "flags": {"high": False},
            },
            {
                "label": "sometimes",
                "fill": 1,
                "expected": {"total": 16, "band": "high 😀", "case": True},
                "flags": {"high": False, "some": True},
            },
        ],
        "translations": {
            "de": {
                "title": "=Titel",
                "instructions": "",
                "items": {
                    **{f"q{n}": text for n, text in enumerate(HOSTILE, 1)},
                    "yn": "Ja oder nein?",
                    "amount": "Wie viel?",
                    "count": "Wie viele?",
                    "why": "Warum?",
                    "many": "Welche?",
                },
                "scales": {"often": ["=nie", "manchmal", "oft"], "big": ["winzig", "riesig"]},
                "yes_no": ["Nein", "=Ja"],
            }
        },
    }


def checked(data: dict, file: str = "test") -> Instrument:
    instrument, problems = load_definition_data(data, file, registry().rule_map)
    errors = [str(p) for p in problems if p.level == "error"]
    assert instrument is not None, errors
    return instrument


def export(instrument: Instrument, path: Path) -> Path:
    XlsxRenderer().write(Definition(instrument), path, RenderOptions())
    return path


def import_back(path: Path) -> tuple[dict, Instrument]:
    data = XlsxReader().read_definition(path)
    return data, checked(data, str(path))


def string_cells(path: Path):
    book = load_workbook(path)
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    yield ws.title, cell


def no_formulas_in_xml(path: Path) -> None:
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/"):
                assert not re.search(r"<f[ >]", archive.read(name).decode()), name


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("exported")
    return {
        ident: export(registry().instrument(ident), directory / f"{ident}.xlsx")
        for ident in BUNDLED
    }


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> tuple[Instrument, Path]:
    instrument = checked(hostile_definition())
    path = tmp_path_factory.mktemp("hostile") / "hostile.xlsx"
    return instrument, export(instrument, path)


def test_every_bundled_instrument_is_exported():
    assert sorted(registry().instruments) == BUNDLED


@pytest.mark.parametrize("ident", BUNDLED)
def test_export_then_import_is_the_same_definition(exported, ident):
    original = registry().instrument(ident)
    data, again = import_back(exported[ident])
    assert again.content_hash == original.content_hash
    assert Instrument.model_validate(data).content_hash == original.content_hash
    # The TOML written for it reads back as the same data.
    assert tomllib.loads(dumps_definition(data)) == data
    # And nefkit finds the same warnings in it as in the bundled file.
    source = Path(__file__).parent.parent / "instruments" / f"{ident}.toml"
    _, bundled_problems = load_definition(source, registry().rule_map)
    _, problems = load_definition_data(data, "x", registry().rule_map)
    assert [(p.where, p.message) for p in problems] == [
        (p.where, p.message) for p in bundled_problems
    ]


def test_the_workbook_has_its_sheets_in_order_read_me_first(exported):
    book = load_workbook(exported["phq-9"])
    assert book.sheetnames == SHEETS
    headers = {ws.title: [c.value for c in ws[1]] for ws in book.worksheets[1:]}
    assert headers["items"] == [
        "id",
        "text",
        "type",
        "scale",
        "when",
        "optional",
        "min",
        "max",
        "integer",
        "scored",
        "note",
    ]
    assert headers["scores"] == ["id", "label", "rule", "items", "params", "description"]
    assert headers["choices"] == ["scale", "value", "label", "description"]
    assert headers["settings"] == ["key", "value"]
    items = book["items"]
    assert [c.value for c in items[11]][:6] == [
        "phq9_10",
        registry().instrument("phq-9").items[9].text,
        "choice",
        "difficulty",
        "phq9_1 > 0 or phq9_2 > 0 or phq9_3 > 0 or phq9_4 > 0 or phq9_5 > 0 or phq9_6 > 0"
        " or phq9_7 > 0 or phq9_8 > 0 or phq9_9 > 0",
        "yes",
    ]
    assert items.freeze_panes == "A2"
    scores = {row[0].value: row for row in book["scores"].iter_rows(min_row=2)}
    assert scores["total"][3].value == ", ".join(f"phq9_{i}" for i in range(1, 10))
    assert scores["case"][4].value == '{ score = "total", at_least = 10 }'
    assert scores["severity"][4].value.startswith('{ score = "total", bands = [\n  { min = 0,')
    assert [c.value for c in book["choices"][2]] == ["frequency", 0, "Not at all", None]
    settings = {row[0].value: row[1].value for row in book["settings"].iter_rows(min_row=2)}
    assert settings["languages"] == "en"
    read_me = [c.value for row in book["Read me"].iter_rows() for c in row if c.value]
    assert "nefkit import-definition this-file.xlsx -o phq-9.toml" in read_me
    assert registry().instrument("phq-9").content_hash in read_me


def test_the_read_me_documents_every_sheet_and_column(exported):
    rows = [
        [c.value for c in row] for row in load_workbook(exported["gad-7"])["Read me"].iter_rows()
    ]
    documented = {(r[0], None) for r in rows if r[0] in SHEETS} | {
        r[1] for r in rows if len(r) > 1 and r[1]
    }
    for sheet in definition.SHEETS:
        assert (sheet.name, None) in documented
        if sheet.name != "settings":
            assert {c.name for c in sheet.columns} <= documented
    assert {f"{key} (key)" for key in definition.SETTINGS} <= documented


def test_hostile_text_comes_back_unchanged(hostile):
    instrument, path = hostile
    data, again = import_back(path)
    assert again.content_hash == instrument.content_hash
    # Exactly the data given, and the defaults that the sheet spells out: type choice, level
    # warning, and integer for a number item.
    expected = hostile_definition()
    for item in expected["items"]:
        item.setdefault("type", "choice")
        if item["type"] == "number":
            item.setdefault("integer", True)
    expected["flags"][1]["level"] = "warning"
    assert data == expected
    assert tomllib.loads(dumps_definition(data)) == data
    # Numbers keep their types: a whole decimal stays a decimal, big integers stay exact.
    assert type(data["norms"][0]["value"]) is float and data["norms"][0]["value"] == 40.0
    assert data["items"][len(HOSTILE) + 1]["min"] == 0.0
    assert type(data["items"][len(HOSTILE) + 1]["min"]) is float
    assert data["norms"][1]["n"] == 2**60 and data["scales"]["big"]["choices"][1]["value"] == 2**60
    assert data["notes"] == ["=note", "", "two\nlines"]
    assert data["translations"]["de"]["instructions"] == ""


def test_hostile_text_is_never_a_formula(hostile):
    _, path = hostile
    cells = list(string_cells(path))
    assert cells and all(cell.data_type == "s" for _, cell in cells)
    values = {cell.value for _, cell in cells}
    assert set(HOSTILE) <= values
    no_formulas_in_xml(path)
    # Text that a spreadsheet would take for a formula when the cell is edited is marked as
    # text (Excel's quote prefix), and every text column is formatted as text.
    items = load_workbook(path)["items"]
    for row in items.iter_rows(min_row=2):
        text = row[1]
        if text.value[:1] in ("=", "+", "-", "@"):
            assert text.quotePrefix
        assert text.number_format == "@"
    assert items.column_dimensions["B"].number_format == "@"


def test_numbers_are_numbers_and_whole_decimals_text(hostile):
    _, path = hostile
    book = load_workbook(path)
    norms = list(book["norms"].iter_rows(min_row=2, values_only=True))
    assert norms[0][2] == "40.0" and norms[1][2] == 12.34 and norms[2][2] == 3
    assert norms[1][6] == str(2**60)  # beyond Excel's 15 digits: text, exactly
    items = {row[0]: row for row in book["items"].iter_rows(min_row=2, values_only=True)}
    assert items["amount"][6:8] == ("0.0", "10.000000000000002")
    choices = list(book["choices"].iter_rows(min_row=2, values_only=True))
    assert [row[1] for row in choices[:3]] == [0, 1, 2]


def test_translations_have_a_sheet(hostile):
    _, path = hostile
    rows = list(load_workbook(path)["translations"].iter_rows(min_row=2, values_only=True))
    assert rows[0] == ("de", "title", None, "=Titel")
    assert rows[1] == ("de", "instructions", None, None)
    assert ("de", "scale", "often", "=nie") in rows
    assert rows[-2:] == [("de", "yes_no", "no", "Nein"), ("de", "yes_no", "yes", "=Ja")]


@pytest.mark.parametrize(
    "change, where, message",
    [
        (
            lambda d: d["items"][0].update(text="carriage\rreturn"),
            'item "q1" › text',
            "carriage return",
        ),
        (lambda d: d["scores"][0].update(label="bell\x07"), 'score "total" › label', "U+0007"),
        (lambda d: d["items"][1].update(note="no\uffff"), 'item "q2" › note', "U+FFFF"),
        (lambda d: d["items"][0].update(note=" "), 'item "q1" › note', "only spaces"),
        (lambda d: d["examples"][0].update(fill=""), "example #1 › fill", "empty text"),
        (lambda d: d["examples"][1].update(fill=2**60), "example #2 › fill", "too large"),
        (lambda d: d.update(languages=["en", "de, at"]), "languages", "comma-separated"),
        (lambda d: d["items"][0].update(text="x" * 40_000), 'item "q1" › text', "32,767"),
        (
            lambda d: d["translations"]["de"]["scales"].update(often=[]),
            "translations › de › scales › often",
            "no labels",
        ),
        (lambda d: d["translations"].update(fr={}), "translations › fr", "no texts"),
    ],
)
def test_text_a_cell_cannot_give_back_is_refused(tmp_path, change, where, message):
    data = hostile_definition()
    change(data)
    instrument = Instrument.model_validate(data)
    with pytest.raises(DefinitionError) as caught:
        export(instrument, tmp_path / "x.xlsx")
    assert [p.where for p in caught.value.problems] == [where]
    assert message in caught.value.problems[0].message
    assert not (tmp_path / "x.xlsx").exists()


# Generated definitions ---------------------------------------------------------------------

# Any text a cell can give back: every character but control characters (tab and line feed
# are in), surrogates and the non-characters XML cannot carry; never only spaces.
texts = st.text(
    st.characters(exclude_categories=("Cs", "Cc", "Cn")) | st.sampled_from("\n\t=+-@\"'\\{},#"),
    min_size=1,
    max_size=12,
).filter(str.strip)
maybe_text = st.one_of(st.just(""), texts)
ids = st.from_regex(r"[a-z][a-z0-9_]{0,5}", fullmatch=True)
names = st.text("abcXYZ019 _-,.", min_size=1, max_size=6).map(str.strip).filter(bool)
words = names.filter(lambda w: "," not in w)
integers = st.integers(-(2**63), 2**63 - 1)
numbers = st.one_of(
    integers,
    st.floats(allow_nan=False),
    st.sampled_from([0.0, -0.0, 40.0, 1e16, 2.5, 0.1 + 0.2, 1.7976931348623157e308]),
)
toml_values = st.recursive(
    st.one_of(texts, st.just(""), integers, st.floats(allow_nan=False), st.booleans()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ids, inner, max_size=3),
    max_leaves=8,
)
tables = st.dictionaries(ids, toml_values, max_size=3)


@st.composite
def generated_definitions(draw) -> dict:
    scale_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    languages = draw(st.lists(words, min_size=1, max_size=3))
    optional = {
        "instructions": maybe_text,
        "notes": st.lists(maybe_text, max_size=3),
        "languages": st.just(languages),
    }
    data = draw(
        st.fixed_dictionaries(
            {key: texts for key in ("version", "title", "citation", "licence", "source")},
            optional=optional,
        )
    )
    data["id"] = draw(st.from_regex(r"[a-z0-9][a-z0-9._-]{0,8}", fullmatch=True))
    data["scales"] = {
        name: draw(
            st.fixed_dictionaries(
                {
                    "choices": st.lists(
                        st.fixed_dictionaries({"value": integers, "label": texts}),
                        min_size=1,
                        max_size=3,
                    )
                },
                optional={"description": maybe_text},
            )
        )
        for name in scale_names
    }
    data["items"] = draw(
        st.lists(
            st.fixed_dictionaries(
                {"id": ids, "text": texts},
                optional={
                    "type": st.sampled_from(definition.ITEM_TYPES),
                    "scale": st.sampled_from(scale_names),
                    "when": texts,
                    "optional": st.booleans(),
                    "min": numbers,
                    "max": numbers,
                    "integer": st.booleans(),
                    "scored": st.booleans(),
                    "note": maybe_text,
                },
            ),
            min_size=1,
            max_size=4,
        )
    )
    data["scores"] = draw(
        st.lists(
            st.fixed_dictionaries(
                {"id": ids, "label": texts, "rule": ids},
                optional={
                    "items": st.lists(ids, max_size=3),
                    "params": tables,
                    "description": maybe_text,
                },
            ),
            max_size=3,
        )
    )
    data["flags"] = draw(
        st.lists(
            st.fixed_dictionaries(
                {"id": ids, "label": texts, "when": texts},
                optional={"level": st.sampled_from(definition.LEVELS), "action": maybe_text},
            ),
            max_size=2,
        )
    )
    data["changes"] = draw(
        st.lists(
            st.fixed_dictionaries(
                {"id": ids, "label": texts, "score": ids, "rule": ids},
                optional={"params": tables, "description": maybe_text},
            ),
            max_size=2,
        )
    )
    data["norms"] = draw(
        st.lists(
            st.fixed_dictionaries(
                {
                    "target": ids,
                    "statistic": st.sampled_from(definition.STATISTICS),
                    "value": numbers,
                    "population": texts,
                    "source": texts,
                    "verified": st.booleans(),
                },
                optional={"plain_population": maybe_text, "n": integers, "note": maybe_text},
            ),
            max_size=2,
        )
    )
    data["examples"] = draw(
        st.lists(
            st.fixed_dictionaries(
                {"label": texts},
                optional={
                    "answers": tables,
                    "fill": st.integers(-(2**53), 2**53) | texts,
                    "expected": tables,
                    "flags": st.dictionaries(ids, st.booleans() | st.just("unknown"), max_size=3),
                },
            ),
            max_size=2,
        )
    )
    data["translations"] = draw(
        st.dictionaries(
            words,
            st.fixed_dictionaries(
                {"title": texts},
                optional={
                    "instructions": maybe_text,
                    "items": st.dictionaries(ids, texts, max_size=3),
                    "scales": st.dictionaries(
                        st.sampled_from(scale_names), st.lists(texts, min_size=1, max_size=3)
                    ),
                    "yes_no": st.lists(texts, min_size=2, max_size=2),
                },
            ),
            max_size=2,
        )
    )
    return data


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(generated_definitions())
def test_generated_definitions_round_trip(tmp_path, data):
    """Any definition (checked for shape only: the spreadsheet must not care whether it makes
    sense) comes back from its workbook with the same content hash."""
    instrument = Instrument.model_validate(data)
    path = export(instrument, tmp_path / "generated.xlsx")
    again = XlsxReader().read_definition(path)
    assert Instrument.model_validate(again).content_hash == instrument.content_hash
    assert tomllib.loads(dumps_definition(again)) == again


# A hand-made workbook with many mistakes ------------------------------------------------------


def workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    book = Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        ws = book.create_sheet(name)
        for row in rows:
            ws.append(row)
    book.save(path)
    return path


GOOD = {
    "settings": [
        ["key", "value"],
        ["id", "mood"],
        ["version", 1],  # typed as a number: the text "1"
        ["title", "Mood"],
        ["citation", "Us"],
        ["licence", "MIT"],
        ["source", "Us"],
        ["note", "first"],
    ],
    "choices": [
        ["scale", "value", "label", "description"],
        ["often", 0, "Never", "How often?"],
        ["often", 1.0, "Sometimes"],  # Excel's 1.0: a whole number, so the code 1
        [],
        ["often", 2, "Often"],
    ],
    "items": [
        ["id", "text", "type", "scale", "Optional", "when"],
        ["low", "I felt low", "choice", "often", "no"],
        ["worse", "Anything worse?", "yes_no", None, "YES"],
        ["what", "What?", "text", None, True, "worse == 1"],
    ],
    "Scores": [
        ["id", "label", "rule", "items", "params"],
        ["total", "Total", "sum", "low, worse,"],
        ["case", "Case", "threshold", None, '{ score = "total", at_least = 2 }'],
    ],
}


def test_a_tidy_hand_made_workbook_is_read(tmp_path):
    path = workbook(tmp_path / "good.xlsx", GOOD)
    data, instrument = import_back(path)
    assert dict(data) == {
        "id": "mood",
        "version": "1",
        "title": "Mood",
        "citation": "Us",
        "licence": "MIT",
        "source": "Us",
        "notes": ["first"],
        "scales": {
            "often": {
                "description": "How often?",
                "choices": [
                    {"value": 0, "label": "Never"},
                    {"value": 1, "label": "Sometimes"},
                    {"value": 2, "label": "Often"},
                ],
            }
        },
        "items": [
            {
                "id": "low",
                "text": "I felt low",
                "type": "choice",
                "scale": "often",
                "optional": False,
            },
            {"id": "worse", "text": "Anything worse?", "type": "yes_no", "optional": True},
            {"id": "what", "text": "What?", "type": "text", "when": "worse == 1", "optional": True},
        ],
        "scores": [
            {"id": "total", "label": "Total", "rule": "sum", "items": ["low", "worse"]},
            {
                "id": "case",
                "label": "Case",
                "rule": "threshold",
                "params": {"score": "total", "at_least": 2},
            },
        ],
    }
    assert type(data["scales"]["often"]["choices"][1]["value"]) is int
    assert instrument.id == "mood"


def test_every_mistake_is_named_with_sheet_row_and_column(tmp_path):
    sheets = copy.deepcopy(GOOD)
    sheets["settings"] += [["license", "MIT"], ["title", "Again"], [None, "orphan value"]]
    sheets["choices"][2][1] = 1.5  # not a whole number
    sheets["choices"][4][1] = "two"
    sheets["choices"].append(["often", 3, "=1+2"])  # openpyxl makes this a formula
    sheets["items"][0][3] = "sclae"
    sheets["items"][1][4] = "maybe"
    sheets["items"][2] += [None, "extra"]  # a value in a column without a name
    sheets["items"][3][1] = 2.5  # a number where text belongs
    sheets["Scores"][1][3] = None
    sheets["Scores"] += [
        ["a", "A", "threshold", None, '{ score = "total", at_least = }'],
        ["b", "B", "threshold", None, "{ score = “total”, at_least = 1 }"],
        ["c", "C", "threshold", None, "5"],
        ["d", "D", "threshold", None, '{ score = "total" }\nat_least = 1'],
    ]
    sheets["flagz"] = [["id"]]
    sheets["norms"] = [["target", "statistic", "value", "population", "source"]]
    path = workbook(tmp_path / "bad.xlsx", sheets)
    with pytest.raises(DefinitionError) as caught:
        XlsxReader().read_definition(path)
    problems = {p.where: p.message for p in caught.value.problems}
    assert all(p.file == str(path) for p in caught.value.problems)
    expected = {
        'sheet "flagz"': 'unknown sheet (did you mean "flags"?)',
        'sheet "items", row 1, column "sclae"': 'unknown column (did you mean "scale"?)',
        'sheet "norms", row 1': "has no verified column",
        'sheet "items", row 3, column G': "holds a value but its column has no name",
        'sheet "choices", row 6, column "label"': "holds a formula (=1+2)",
        'sheet "settings", row 9, column "key"': "unknown setting 'license' (did you mean \"licence\"?)",
        'sheet "settings", row 10, column "key"': "'title' is given twice (also in row 4)",
        'sheet "settings", row 11, column "key"': "is blank; name the setting",
        'sheet "choices", row 3, column "value"': "is 1.5; a whole number is needed here",
        'sheet "choices", row 5, column "value"': "is 'two'; a whole number is needed here",
        'sheet "items", row 2, column "optional"': "is 'maybe'; write yes or no",
        'sheet "items", row 4, column "text"': "is the number 2.5; text is needed here",
        'sheet "Scores", row 4, column "params"': "is not a TOML inline table (Invalid value at"
        " character 31)",
        'sheet "Scores", row 5, column "params"': "is not a TOML inline table",
        'sheet "Scores", row 6, column "params"': "is a single value, not an inline table",
        'sheet "Scores", row 7, column "params"': "holds more than one TOML value",
    }
    for at, message in expected.items():
        assert at in problems, f"{at} not reported; reported: {list(problems)}"
        assert problems[at].startswith(message), problems[at]
    assert set(problems) == set(expected)
    assert "curly quotes (“ ”)" in problems['sheet "Scores", row 5, column "params"']
    assert (
        'write it like { score = "total", at_least = 10 }'
        in problems['sheet "Scores", row 6, column "params"']
    )


def test_a_missing_sheet_and_a_headless_sheet(tmp_path):
    path = workbook(tmp_path / "x.xlsx", {"settings": [[None], ["id", "x"]], "flags": []})
    with pytest.raises(DefinitionError) as caught:
        XlsxReader().read_definition(path)
    problems = {p.where: p.message for p in caught.value.problems}
    assert problems.keys() == {'sheet "items"', 'sheet "settings", row 1'}
    assert problems['sheet "items"'].startswith("is missing; add a sheet named items")
    assert problems['sheet "settings", row 1'].startswith("the first row must name the columns")


def test_a_file_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_text("not a workbook")
    with pytest.raises(Exception, match="cannot be opened as an Excel workbook"):
        XlsxReader().read_definition(path)


def test_translations_sheet_mistakes(tmp_path):
    sheets = copy.deepcopy(GOOD)
    sheets["settings"].append(["languages", "en, de"])
    sheets["translations"] = [
        ["lang", "kind", "key", "text"],
        ["de", "title", None, "Stimmung"],
        ["de", "title", None, "Nochmal"],
        ["de", "titel", None, "x"],
        ["de", "item", None, "x"],
        ["de", "yes_no", "yes", "Ja"],
        ["de", "yes_no", "perhaps", "Vielleicht"],
        ["de", "instructions", "low", "x"],
    ]
    path = workbook(tmp_path / "x.xlsx", sheets)
    with pytest.raises(DefinitionError) as caught:
        XlsxReader().read_definition(path)
    problems = {p.where: p.message for p in caught.value.problems}
    assert problems == {
        'sheet "translations", row 3, column "kind"': "the de title is given twice (also in row 2)",
        'sheet "translations", row 4, column "kind"': "unknown kind 'titel' (did you mean"
        ' "title"?); use title, instructions, item, scale, yes_no',
        'sheet "translations", row 5, column "key"': "give the item id",
        'sheet "translations", row 7, column "key"': "is 'perhaps'; a yes_no row's key is no or"
        " yes",
        'sheet "translations", row 8, column "key"': "a instructions takes no key; leave it blank",
        'sheet "translations", row 6, column "key"': "the de word for yes is given but not the"
        " one for no: give both",
    }


def test_nefkits_own_problems_are_located_in_the_workbook(tmp_path):
    sheets = copy.deepcopy(GOOD)
    sheets["items"][2][3] = "often"  # a yes_no item takes no scale
    sheets["items"].append(["low", "Twice", "choice", "oftn"])
    sheets["Scores"][2][4] = '{ score = "total", at_least = 2, extra = 1 }'
    sheets["choices"][4][2] = "Never"  # two answers share a label
    sheets["settings"].append(["note", None])
    path = workbook(tmp_path / "x.xlsx", sheets)
    data = XlsxReader().read_definition(path)
    assert data["notes"] == ["first", ""]  # a note row is a note, even an empty one
    instrument, problems = load_definition_data(data, str(path), registry().rule_map)
    assert instrument is None
    located = [(p.where, p.message) for p in definition.locate(problems, data)]
    assert [problem for problem in located if "no score uses it" not in problem[1]] == [
        ('sheet "items", rows 2, 5 (item "low")', "the id is used by 2 items"),
        ('sheet "choices", rows 2, 3, 5 (scale "often")', "two answers share the label 'Never'"),
        ('sheet "items", row 3 (item "worse")', "a yes_no item takes no scale"),
        # Two items share the id: the problem of either is found in both rows.
        ('sheet "items", rows 2, 5 (item "low")', "unknown scale 'oftn'; did you mean 'often'?"),
        (
            'sheet "Scores", row 3, column "params" (score "case" › params › extra)',
            "unknown parameter 'extra' (rule 'threshold' takes score, at_least)",
        ),
    ]
    # Problems of data not read from a workbook are left as they are.
    assert definition.locate(problems, dict(data)) == problems


def test_locate_finds_every_kind_of_place():
    data = definition.SpreadsheetDefinition(
        {"items": [{"id": "a"}], "examples": [{"label": "case one"}], "norms": [{}]}
    )
    data.rows.update(
        {
            ("items", 0): 2,
            ("examples", 0): 4,
            ("norms", 0): 3,
            ("settings", "title"): 5,
            ("settings", "languages"): 6,
            ("note", 1): 8,
            ("choice", "s", 1): 3,
            ("scales", "s"): [2, 3],
            ("translations", "de"): [2, 3],
        }
    )
    places = {
        'item "a" › when': 'sheet "items", row 2, column "when"',
        "item #1 › id": 'sheet "items", row 2, column "id"',
        'example "case one"': 'sheet "examples", row 4',
        "example #1 › answers": 'sheet "examples", row 4, column "answers"',
        "norm #1": 'sheet "norms", row 3',
        "title": 'sheet "settings", row 5, column "value"',
        "languages": 'sheet "settings", row 6, column "value"',
        "language #2": 'sheet "settings", row 6, column "value"',
        "note #2": 'sheet "settings", row 8, column "value"',
        'scale "s" › choice #2 › label': 'sheet "choices", row 3, column "label"',
        'scale "s"': 'sheet "choices", rows 2, 3',
        "translations › de": 'sheet "translations", row 2',
        "version": 'sheet "settings"',
    }
    for text, place in places.items():
        problem = definition.Problem(file="f", where=text, message="m")
        assert definition.locate([problem], data)[0].where == f"{place} ({text})"
    unknown = definition.Problem(file="f", where='item "zz"', message="m")
    assert definition.locate([unknown], data) == [unknown]


# LibreOffice: a spreadsheet program opens and saves the workbook --------------------------------


def soffice() -> str:
    for name in ("libreoffice", "soffice"):
        if shutil.which(name):
            return shutil.which(name)
    if os.environ.get("NEFKIT_REQUIRE_EXTERNAL"):
        pytest.fail("libreoffice is not installed, and NEFKIT_REQUIRE_EXTERNAL is set")
    pytest.skip("libreoffice is not installed (set NEFKIT_REQUIRE_EXTERNAL=1 to require it)")


def test_saved_by_libreoffice_it_is_still_the_same_definition(exported, hostile, tmp_path):
    instrument, hostile_path = hostile
    books = [*exported.values(), hostile_path]
    profile = tmp_path / "lo-profile"
    done = subprocess.run(
        [
            soffice(),
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            "xlsx:Calc MS Excel 2007 XML",
            "--outdir",
            str(tmp_path / "saved"),
            *map(str, books),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    originals = {ident: registry().instrument(ident) for ident in BUNDLED}
    originals["hostile"] = instrument
    for ident, original in originals.items():
        saved = tmp_path / "saved" / f"{ident}.xlsx"
        assert saved.exists(), f"LibreOffice did not save {ident}"
        _, again = import_back(saved)
        assert again.content_hash == original.content_hash, ident
        formulas = [c.coordinate for _, c in string_cells(saved) if c.data_type == "f"]
        assert not formulas and not list(
            c
            for ws in load_workbook(saved).worksheets
            for r in ws.iter_rows()
            for c in r
            if c.data_type == "f"
        )


# The command line ------------------------------------------------------------------------------


def test_command_line_round_trip(nefkit_cli, tmp_path):
    book, toml = tmp_path / "phq.xlsx", tmp_path / "phq.toml"
    result = nefkit_cli("export-definition", "phq-9", "-o", book)
    assert result.exit_code == 0, result.output
    assert load_workbook(book).sheetnames == SHEETS
    result = nefkit_cli("import-definition", book, "-o", toml)
    assert result.exit_code == 0, result.output
    assert f"Wrote {toml} (phq-9 1.0.0)" in result.output
    data = tomllib.loads(toml.read_text(encoding="utf-8"))
    assert (
        Instrument.model_validate(data).content_hash == registry().instrument("phq-9").content_hash
    )
    result = nefkit_cli("validate", "--check-examples", toml)
    assert result.exit_code == 0, result.output
    assert "5 examples agree" in result.output
    # An existing file is not overwritten unless asked.
    result = nefkit_cli("import-definition", book, "-o", toml)
    assert result.exit_code == 1 and "exists" in result.output
    assert nefkit_cli("import-definition", book, "-o", toml, "--force").exit_code == 0


def test_command_line_names_the_row_of_a_problem_nefkits_checks_find(nefkit_cli, tmp_path):
    """An unknown scale or rule shows only once the whole definition is checked; the command
    still says on which sheet and row to look."""
    book, toml = tmp_path / "phq.xlsx", tmp_path / "phq.toml"
    assert nefkit_cli("export-definition", "phq-9", "-o", book).exit_code == 0
    wb = load_workbook(book)
    for sheet, row, column, value in (
        ("items", 3, "scale", "frequncy"),
        ("scores", 2, "rule", "summ"),
    ):
        header = [cell.value for cell in wb[sheet][1]]
        wb[sheet].cell(row, header.index(column) + 1).value = value
    wb.save(book)
    result = nefkit_cli("import-definition", book, "-o", toml)
    assert result.exit_code == 1 and not toml.exists()
    assert (
        f'error: {book}: sheet "items", row 3 (item "phq9_2"): unknown scale \'frequncy\';'
        " did you mean 'frequency'?" in result.output
    )
    assert (
        f'error: {book}: sheet "scores", row 2 (score "total"): unknown scoring rule'
        in result.output
    )


@pytest.mark.parametrize("ident", BUNDLED)
def test_command_line_toml_of_every_instrument_validates(nefkit_cli, exported, tmp_path, ident):
    toml = tmp_path / f"{ident}.toml"
    result = nefkit_cli("import-definition", exported[ident], "-o", toml)
    assert result.exit_code == 0, result.output
    result = nefkit_cli("validate", "--check-examples", toml)
    assert result.exit_code == 0, result.output


def test_command_line_hostile_definition(nefkit_cli, hostile, tmp_path):
    instrument, path = hostile
    toml = tmp_path / "hostile.toml"
    result = nefkit_cli("import-definition", path, "-o", toml)
    assert result.exit_code == 0, result.output
    data = tomllib.loads(toml.read_text(encoding="utf-8"))
    assert Instrument.model_validate(data).content_hash == instrument.content_hash
    result = nefkit_cli("validate", "--check-examples", toml)
    assert result.exit_code == 0, result.output


def test_command_line_names_sheet_row_and_column(nefkit_cli, tmp_path):
    sheets = copy.deepcopy(GOOD)
    sheets["items"][1][4] = "maybe"
    sheets["Scores"][2][4] = "{ score = total }"
    sheets["choices"][2][2] = '="Some" & "times"'  # openpyxl saves no value: never a blank
    path = workbook(tmp_path / "bad.xlsx", sheets)
    result = nefkit_cli("import-definition", path, "-o", tmp_path / "out.toml")
    assert result.exit_code == 1
    assert f'{path}: sheet "items", row 2, column "optional": is \'maybe\'' in result.output
    assert (
        f'{path}: sheet "choices", row 3, column "label": holds a formula (="Some" & "times");'
        " type the value itself" in result.output
    )
    assert f'{path}: sheet "Scores", row 3, column "params": is not a TOML inline table' in (
        result.output
    )
    assert not (tmp_path / "out.toml").exists()
