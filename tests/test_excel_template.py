"""The Excel data-entry template: its header is what `nefkit score` expects, its drop-downs offer
exactly the valid answers, and a template filled in (labels, codes, a date, a session) scores
without edits to the values worked out here by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from helpers import registry
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from test_excel import libreoffice_convert

import nefkit
from nefkit.documents import Template
from nefkit.renderers import RenderOptions

BUNDLED = ["gad-7", "neq-20", "neq-32", "phq-9", "therapy-reflection"]
FIXED = ["respondent_id", "administered_at", "session"]
# What a data validation without these attributes does (the file format's defaults, which
# XlsxWriter leaves out): stop at a wrong value; a range is "between".
DEFAULT_STYLE = "stop"
DEFAULT_OPERATOR = "between"


def write_template(instrument, path: Path) -> Path:
    """As `nefkit template` does: the renderer for the file name writes it."""
    plan = nefkit.get_plan(instrument, registry())
    registry().renderer_for(path).write(Template(plan), path, RenderOptions())
    return path


def validations(ws) -> dict[str, object]:
    """Each column's data validation, by the column's header."""
    header = [cell.value for cell in ws[1]]
    found = {}
    for check in ws.data_validations.dataValidation:
        for cells in check.sqref.ranges:
            assert (cells.min_row, cells.max_row) == (2, 1_048_576)
            assert cells.min_col == cells.max_col
            found[header[cells.min_col - 1]] = check
    return found


def fill(template: Path, rows: list[list], out: Path, text_columns=()) -> Path:
    """Type rows into the Entry sheet as a person would. A column formatted as text keeps what
    is typed as text, even "=..." (openpyxl would otherwise store that as a formula)."""
    book = load_workbook(template)
    ws = book["Entry"]
    header = [cell.value for cell in ws[1]]
    for row in rows:
        ws.append(row)
        for name in text_columns:
            cell = ws.cell(ws.max_row, header.index(name) + 1)
            if isinstance(cell.value, str):
                cell.data_type = "s"
    book.save(out)
    return out


def score(instrument, path: Path) -> list:
    results = nefkit.score(instrument, path, registry())
    rows = list(results.rows)
    assert results.problems == [], [str(p) for p in results.problems]
    return rows, results


@pytest.fixture(scope="module", params=BUNDLED)
def bundled(request, tmp_path_factory):
    instrument = registry().instrument(request.param)
    path = write_template(instrument, tmp_path_factory.mktemp("t") / f"{request.param}.xlsx")
    return instrument, path


def test_header_is_what_nefkit_score_expects(bundled):
    instrument, path = bundled
    book = load_workbook(path)
    assert book.sheetnames[0] == "Entry"  # the XLSX reader reads the first sheet
    assert book.sheetnames == ["Entry", "Codebook", "About"]
    ws = book["Entry"]
    assert [c.value for c in ws[1]] == [*FIXED, *(item.id for item in instrument.items)]
    assert ws.max_row == 1 and ws.freeze_panes == "B2"
    assert all(cell.font.bold for cell in ws[1])


def test_each_column_checks_what_is_typed(bundled):
    instrument, path = bundled
    ws = load_workbook(path)["Entry"]
    checks = validations(ws)
    assert list(checks) == [*FIXED, *(item.id for item in instrument.items)]
    for name, check in checks.items():
        assert check.showInputMessage and check.prompt and check.promptTitle == name[:32]
        assert check.allow_blank
    for item in instrument.items:
        check = checks[item.id]
        assert check.prompt.startswith(item.text[:200])
        if item.type in ("choice", "yes_no"):
            labels = [label for _, label in instrument.choices(item)]
            assert check.type == "list"
            assert check.formula1 == '"' + ",".join(labels) + '"'
            assert check.showErrorMessage and (check.errorStyle or DEFAULT_STYLE) == "stop"
            assert check.showDropDown in (None, False)  # True would hide the arrow
        else:
            assert check.type is None, item.id  # free text and several answers: any value
        if item.type == "yes_no":
            assert check.formula1 == '"No,Yes"'
    assert (checks["session"].type, checks["session"].operator) == ("whole", "greaterThanOrEqual")
    assert checks["session"].formula1 == "0"
    assert checks["administered_at"].type == "date"
    formats = {
        name: ws.column_dimensions[get_column_letter(i)].number_format
        for i, name in enumerate(checks, 1)
    }
    assert formats["respondent_id"] == "@"  # 007 stays 007
    assert formats["administered_at"] == "yyyy-mm-dd"
    for item in instrument.items:
        assert (formats[item.id] == "@") == (item.type == "text"), item.id


def test_codebook_and_about(bundled):
    instrument, path = bundled
    book = load_workbook(path)
    about = {key: value for key, value, *_ in book["About"].iter_rows(values_only=True) if value}
    assert about["instrument"] == instrument.id
    assert about["version"] == instrument.version
    assert about["content hash"] == instrument.content_hash
    assert about["licence"] == instrument.licence
    assert about["then"] == f"nefkit score {instrument.id} this-file.xlsx -o scores.xlsx"
    codebook = [row[0] for row in book["Codebook"].iter_rows(values_only=True)]
    assert all(item.id in codebook for item in instrument.items)


def test_an_empty_template_is_read_without_complaint(bundled):
    instrument, path = bundled
    rows, results = score(instrument, path)
    assert rows == [] and results.row_count == 0


# ---------------------------------------------------------------------------------------------
# Filled in and scored


def template_for(instrument_id: str, tmp_path: Path) -> tuple[object, Path]:
    instrument = registry().instrument(instrument_id)
    return instrument, write_template(instrument, tmp_path / f"{instrument_id}.xlsx")


def test_phq9_filled_with_labels_and_codes(tmp_path):
    instrument, template = template_for("phq-9", tmp_path)
    rows = [
        # Labels, as the drop-down enters them; item 9 above 0 raises the risk flag.
        ["C001", dt.date(2026, 3, 1), 1, *["Several days"] * 9, "Somewhat difficult"],
        # Codes, as typed from a paper form.
        ["C001", dt.date(2026, 3, 29), 2, 3, 3, 3, 3, 3, 3, 3, 3, 0, 2],
        # Any letter case; nothing to report, so the follow-up stays blank.
        ["007", dt.date(2026, 3, 2), 0, "not at all", *[0] * 8, None],
    ]
    filled = fill(template, rows, tmp_path / "filled.xlsx")
    scored, results = score("phq-9", filled)
    assert [r.respondent_id for r in scored] == ["C001", "C001", "007"]
    assert [r.session for r in scored] == [1, 2, 0]
    assert scored[0].administered_at == dt.datetime(2026, 3, 1)
    assert [r.scores["total"].value for r in scored] == [9, 24, 0]
    assert [r.scores["severity"].value for r in scored] == ["Mild", "Severe", "Minimal"]
    assert [r.scores["case"].value for r in scored] == [False, True, False]
    assert [r.flags["self_harm_thoughts"] for r in scored] == [True, False, False]
    assert [(c.comparison, c.before, c.after, c.classification) for c in results.changes] == [
        ("baseline to latest", 9, 24, "reliably deteriorated"),
        ("session to session", 9, 24, "reliably deteriorated"),
    ]


def test_gad7_filled(tmp_path):
    instrument, template = template_for("gad-7", tmp_path)
    rows = [["G1", dt.date(2026, 4, 1), 1, *["More than half the days"] * 6, 1]]
    scored, _ = score("gad-7", fill(template, rows, tmp_path / "filled.xlsx"))
    assert scored[0].scores["total"].value == 13  # 6 x 2 + 1
    assert scored[0].scores["severity"].value == "Moderate"
    assert scored[0].scores["case"].value is True


def neq_row(instrument, respondent: str, effects: dict, other=None) -> list:
    """An NEQ row by label: every effect "No" with blank follow-ups, except ``effects``:
    item -> (impact label, cause label)."""
    row = [respondent, dt.date(2026, 5, 1), 4]
    for item in instrument.items:
        if item.type == "yes_no":
            row.append("Yes" if item.id in effects else "No")
        elif item.id.endswith("_impact"):
            row.append(effects.get(item.id.removesuffix("_impact"), (None, None))[0])
        elif item.id.endswith("_cause"):
            row.append(effects.get(item.id.removesuffix("_cause"), (None, None))[1])
        else:
            row.append(other)
    return row


def test_neq20_filled(tmp_path):
    instrument, template = template_for("neq-20", tmp_path)
    rows = [
        neq_row(
            instrument,
            "N1",
            {
                "neq01": ("Very", "The treatment I received"),
                "neq10": ("Extremely", "Other circumstances"),
            },
            other="=felt rushed, +worse",
        ),
        neq_row(instrument, "N2", {}),
    ]
    filled = fill(template, rows, tmp_path / "filled.xlsx", text_columns=["other"])
    scored, _ = score("neq-20", filled)
    one = {k: v.value for k, v in scored[0].scores.items()}
    assert one == {
        "effects": 2,
        "effects_treatment": 1,
        "effects_other": 1,
        "impact_total": 7,
        "impact_mean": 3.5,
        "impact_treatment": 3,
        "impact_other": 4,
    }
    assert scored[0].flags == {"suicidal_thoughts": True, "effects_from_treatment": True}
    assert scored[0].answers["other"] == "=felt rushed, +worse"
    assert scored[1].scores["effects"].value == 0
    assert scored[1].scores["impact_mean"].value is None  # no effect: no mean impact


def test_neq32_filled(tmp_path):
    instrument, template = template_for("neq-32", tmp_path)
    rows = [neq_row(instrument, "N1", {"neq15": ("Moderately", "Other circumstances")})]
    scored, _ = score("neq-32", fill(template, rows, tmp_path / "filled.xlsx"))
    assert scored[0].scores["effects"].value == 1
    assert scored[0].scores["effects_other"].value == 1
    assert scored[0].scores["impact_total"].value == 2
    assert scored[0].flags["suicidal_thoughts"] is True


def test_therapy_reflection_filled(tmp_path):
    instrument, template = template_for("therapy-reflection", tmp_path)
    answers = {
        "resilience": "Clearly enhanced it",
        "connection": -1,
        "unacknowledged": "Yes",
        "unacknowledged_what": "-nobody asked",
        "risks_discussed": "No",
        "banking": "No",
        "group_tried": "Yes",
        "group_why": "=curious",
        "supports": "Family; 9",
        "supports_other": "my dog",
    }
    row = ["T1", dt.date(2026, 6, 1), 3, *(answers.get(item.id) for item in instrument.items)]
    texts = [item.id for item in instrument.items if item.type == "text"]
    scored, _ = score("therapy-reflection", fill(template, [row], tmp_path / "f.xlsx", texts))
    got = scored[0].answers
    assert got["resilience"] == 2 and got["connection"] == -1
    assert got["unacknowledged"] == 1 and got["unacknowledged_what"] == "-nobody asked"
    assert got["group_why"] == "=curious" and got["supports"] == (1, 9)
    assert got["supports_other"] == "my dog"


# ---------------------------------------------------------------------------------------------
# Long answer lists, numbers, and text in the definition


CUSTOM = """
id = "custom-entry"
version = "0.1.0"
title = "A definition with long answers and numbers"
citation = "Test"
licence = "Test"
source = "Test"

[scales.agreement]
choices = [
  { value = 1, label = "I strongly disagree with this statement as it is written here" },
  { value = 2, label = "I disagree with this statement as it is written here, mostly" },
  { value = 3, label = "I neither agree nor disagree with this statement as written" },
  { value = 4, label = "I agree with this statement as it is written here, mostly so" },
  { value = 5, label = "I strongly agree with this statement as it is written here" },
]

[scales.people]
choices = [
  { value = 1, label = "Family, friends" },
  { value = 2, label = "Nobody" },
]

[[items]]
id = "statement"
text = "=SUM(1,2) is how I feel about my therapy"
scale = "agreement"

[[items]]
id = "support"
text = "Who supports you?"
scale = "people"

[[items]]
id = "age"
text = "Your age in years"
type = "number"
min = 18
max = 120

[[items]]
id = "hours"
text = "Hours of sleep last night"
type = "number"
integer = false
min = 0

[[scores]]
id = "agreement"
label = "Agreement"
rule = "sum"
items = ["statement"]
"""


@pytest.fixture
def custom(tmp_path):
    definition = tmp_path / "custom.toml"
    definition.write_text(CUSTOM, encoding="utf-8")
    instrument = nefkit.load_instrument(definition, registry())
    return instrument, write_template(instrument, tmp_path / "custom.xlsx")


def test_long_lists_and_lists_with_commas_come_from_a_hidden_sheet(custom):
    instrument, path = custom
    book = load_workbook(path)
    assert book.sheetnames == ["Entry", "Codebook", "About", "Lists"]
    assert book["Lists"].sheet_state == "hidden"
    checks = validations(book["Entry"])
    labels = [label for _, label in instrument.choices(instrument.item_map["statement"])]
    assert len('"' + ",".join(labels) + '"') > 255  # too long for Excel's inline list
    assert checks["statement"].type == "list"
    assert checks["statement"].formula1 == "'Lists'!$A$2:$A$6"
    assert checks["support"].formula1 == "'Lists'!$B$2:$B$3"  # a comma would split the label
    lists = list(book["Lists"].iter_rows(values_only=True))
    assert [row[0] for row in lists] == ["statement", *labels]
    assert [row[1] for row in lists[:3]] == ["support", "Family, friends", "Nobody"]


def test_number_items_are_checked_against_their_range(custom):
    _, path = custom
    checks = validations(load_workbook(path)["Entry"])
    age, hours = checks["age"], checks["hours"]
    operators = [check.operator or DEFAULT_OPERATOR for check in (age, hours)]
    assert (age.type, operators[0], age.formula1, age.formula2) == ("whole", "between", "18", "120")
    assert (hours.type, operators[1], hours.formula1) == ("decimal", "between", "0")
    assert age.error == "A whole number from 18 to 120."
    assert hours.error == "A number from 0."


def test_question_text_stays_text(custom):
    _, path = custom
    book = load_workbook(path)
    cells = [c for row in book["Codebook"].iter_rows() for c in row if c.value]
    question = next(c for c in cells if c.value == "=SUM(1,2) is how I feel about my therapy")
    assert question.data_type == "s" and question.quotePrefix
    assert validations(book["Entry"])["statement"].prompt.startswith("=SUM(1,2) is how")


def test_custom_template_filled_with_a_long_label(custom, tmp_path):
    instrument, path = custom
    rows = [
        [
            "P1",
            None,
            None,
            "I agree with this statement as it is written here, mostly so",
            "Family, friends",
            40,
            7.5,
        ]
    ]
    scored, _ = score(instrument, fill(path, rows, tmp_path / "filled.xlsx"))
    assert scored[0].scores["agreement"].value == 4
    assert scored[0].answers["support"] == 1
    assert (scored[0].answers["age"], scored[0].answers["hours"]) == (40, 7.5)


def test_libreoffice_reads_the_checks(custom, tmp_path):
    """LibreOffice opens the template and keeps every check: its own copy has the same."""
    instrument, path = custom
    neq = write_template(registry().instrument("neq-20"), tmp_path / "neq-20.xlsx")
    outdir = tmp_path / "libreoffice"
    libreoffice_convert([path, neq], outdir, "xlsx")
    for original in (path, neq):
        ours = validations(load_workbook(original)["Entry"])
        copy = load_workbook(outdir / original.name)
        assert copy.sheetnames == load_workbook(original).sheetnames
        theirs = {}
        header = [cell.value for cell in copy["Entry"][1]]
        for check in copy["Entry"].data_validations.dataValidation:
            for cells in check.sqref.ranges:
                theirs[header[cells.min_col - 1]] = check
        assert list(theirs) == list(ours)
        for name, check in ours.items():
            kept = theirs[name]
            assert kept.type == check.type, name
            assert kept.formula1.replace("'", "") == (check.formula1 or "0").replace("'", ""), name
            assert kept.promptTitle == check.promptTitle and kept.prompt == check.prompt
